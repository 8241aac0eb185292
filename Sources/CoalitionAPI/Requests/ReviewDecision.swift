import CoalitionModels
import Foundation
import Hummingbird

/// A ballot as reviews of standards and submissions take it: `{decision, comment}`, where a
/// reject needs a comment.
struct ReviewDecision {
    var verdict: ReviewVerdict
    var comment: String?

    static func read(_ request: Request, limit: Int) async throws -> ReviewDecision {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["decision", "comment"])
        let verdict = body.enumeration("decision", ReviewVerdict.self, required: true)
        let comment = body.string("comment") { $0.count <= 2000 ? nil : "must be at most 2000 characters" }
        if verdict == .reject, (comment ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            body.fail("comment", "is required when rejecting")
        }
        return ReviewDecision(verdict: try body.finish(verdict), comment: comment)
    }
}
