/// The OpenAPI 3.1 description served at `GET /openapi.yaml`: `openapi.yaml` next to this
/// file, embedded in the binary at build time. `OpenAPITests` fails when a route and the
/// document disagree on a path, a method or who may call it.
enum OpenAPIDocument {
    static let yaml = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
