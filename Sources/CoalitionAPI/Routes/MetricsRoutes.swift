import Hummingbird
import Prometheus

/// `GET /metrics` in the Prometheus text format.
struct MetricsRoutes {
    let registry: PrometheusCollectorRegistry

    var endpoints: [Endpoint] {
        [
            .anyone(.get, "/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            }
        ]
    }
}
