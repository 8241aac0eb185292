import Hummingbird

/// `GET /openapi.yaml`: the API description, kept true by a test that compares its paths and
/// methods with the route table.
struct OpenAPIRoutes {
    var endpoints: [Endpoint] {
        [
            .anyone(.get, "/openapi.yaml") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/yaml"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
            }
        ]
    }
}
