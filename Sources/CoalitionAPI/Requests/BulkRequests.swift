import CoalitionDomain
import CoalitionModels
import Hummingbird

extension BulkOptions {
    /// `?dry_run=` and `?atomic=` of `POST /v1/submissions/bulk`.
    init(_ request: Request) throws {
        var query = QueryReader(request)
        self.init(dryRun: query.flag("dry_run"), atomic: query.flag("atomic"))
        try query.finish()
    }
}
