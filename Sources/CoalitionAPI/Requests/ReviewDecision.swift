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
        let comment = body.string("comment", check: commentReason)
        if lacksComment(verdict, comment) { body.fail("comment", "is required when rejecting") }
        return ReviewDecision(verdict: try body.finish(verdict), comment: comment)
    }

    /// The same ballot from a console form.
    static func read(_ form: ConsoleForm) throws -> ReviewDecision {
        var fields = ConsoleFields(form)
        let verdict = fields.enumeration("decision", ReviewVerdict.self, required: true)
        let comment = fields.string("comment", check: commentReason)
        if lacksComment(verdict, comment) { fields.fail("comment", "is required when rejecting") }
        try fields.finish()
        return ReviewDecision(verdict: verdict!, comment: comment)
    }

    static func commentReason(_ comment: String) -> String? {
        comment.count <= 2000 ? nil : "must be at most 2000 characters"
    }

    /// A reject needs a reason the submitter or the issuers can act on.
    static func lacksComment(_ verdict: ReviewVerdict?, _ comment: String?) -> Bool {
        verdict == .reject && (comment ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }
}
