import Foundation
import Hummingbird

/// A ballot as reviews of standards and submissions take it: `{decision, comment}`, where a
/// reject needs a comment.
struct ReviewDecision {
    var approve: Bool
    var comment: String?

    static func read(_ request: Request, context: AppRequestContext) async throws -> ReviewDecision {
        var body = try await JSONBody.read(request, context: context, allowed: ["decision", "comment"])
        let decision = body.string("decision", required: true) { ["approve", "reject"].contains($0) ? nil : "must be approve or reject" }
        let comment = body.string("comment") { $0.count <= 2000 ? nil : "must be at most 2000 characters" }
        if decision == "reject", (comment ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            body.fail("comment", "is required when rejecting")
        }
        try body.finish()
        return ReviewDecision(approve: decision == "approve", comment: comment)
    }
}
