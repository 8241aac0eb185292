import CoalitionModels
import Foundation

extension SubmissionStatus {
    /// States that hold the natural key and count as live.
    public static let live: Set<SubmissionStatus> = [.submitted, .approved, .verified]
    /// States that count towards progress.
    public static let counted: Set<SubmissionStatus> = [.approved, .verified]
}

/// The actions on an existing submission.
public enum SubmissionAction: String, Sendable, CaseIterable {
    case approve, reject, withdraw, verify

    public var target: SubmissionStatus {
        switch self {
        case .approve: .approved
        case .reject: .rejected
        case .withdraw: .withdrawn
        case .verify: .verified
        }
    }

    /// The actions legal in `status`.
    public static func allowed(in status: SubmissionStatus) -> [SubmissionAction] {
        switch status {
        case .submitted: [.approve, .reject, .withdraw]
        case .approved: [.verify]
        case .rejected, .withdrawn, .verified: []
        }
    }
}

/// The fields of one progress report, before validation (from JSON or a bulk row).
public struct SubmissionDraft: Sendable, Equatable {
    public var periodStart: String?
    public var periodEnd: String?
    public var value: String?
    public var unit: String?
    public var notes: String?
    public var evidenceURL: String?
    public var externalRef: String?

    public init(periodStart: String?, periodEnd: String?, value: String?, unit: String?, notes: String? = nil, evidenceURL: String? = nil, externalRef: String? = nil) {
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.value = value
        self.unit = unit
        self.notes = notes
        self.evidenceURL = evidenceURL
        self.externalRef = externalRef
    }
}

/// A validated submission, ready to store.
public struct ValidSubmission: Sendable, Equatable {
    public var periodStart: CalendarDate
    public var periodEnd: CalendarDate
    public var value: Decimal
    public var unit: String
    public var valueCanonical: Decimal
    public var notes: String?
    public var evidenceURL: String?
    public var externalRef: String?
}

/// The invalid fields of a submission.
public struct InvalidSubmission: Error, Sendable, Equatable {
    public var errors: [Problem.FieldError]
}

/// The value rules of a submission, the same for the single endpoint and bulk upload.
public enum SubmissionRules {
    public static let notesLimit = 2000
    public static let urlLimit = 2000
    public static let externalRefLimit = 200

    /// Validates `draft` for a milestone of a metric with `metricUnit` and `aggregation`.
    /// `today` is passed in so that the rule is testable with fixed dates.
    public static func validate(
        _ draft: SubmissionDraft, metricUnit: String, aggregation: Aggregation, today: CalendarDate
    ) -> Result<ValidSubmission, InvalidSubmission> {
        var errors: [Problem.FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(.init(field: field, message: message)) }
        let start = date(draft.periodStart, "period_start", &errors)
        let end = date(draft.periodEnd, "period_end", &errors)
        if let start, let end {
            if start > end { fail("period_end", "must not be before period_start") }
            if end > today { fail("period_end", "must not be in the future (today is \(today))") }
        }
        var value: Decimal?
        if let text = draft.value, !text.isEmpty {
            switch ExactDecimal.parse(text) {
            case .success(let v): value = v
            case .failure(let reason): fail("value", reason.description)
            }
        } else {
            fail("value", "is required")
        }
        var canonical: Decimal?
        if let unit = draft.unit, !unit.isEmpty {
            if Units.unit(unit) == nil {
                fail("unit", "is not a known unit; use one of \(Units.family(of: metricUnit).joined(separator: ", "))")
            } else if let v = value {
                if let c = Units.convert(v, from: unit, to: metricUnit) { canonical = c } else {
                    fail("unit", "\(unit.shown) is not a unit of this metric; use one of \(Units.family(of: metricUnit).joined(separator: ", "))")
                }
            }
        } else {
            fail("unit", "is required")
        }
        if let v = value, aggregation == .sum, v < 0 { fail("value", "must not be negative for a metric that adds up") }
        if let notes = draft.notes, notes.count > notesLimit { fail("notes", "must be at most \(notesLimit) characters") }
        if let url = draft.evidenceURL {
            if url.count > urlLimit { fail("evidence_url", "must be at most \(urlLimit) characters") }
            else if !(url.hasPrefix("https://") || url.hasPrefix("http://")) || URL(string: url)?.host == nil {
                fail("evidence_url", "must be an http or https URL")
            }
        }
        if let ref = draft.externalRef, ref.count > externalRefLimit { fail("external_ref", "must be at most \(externalRefLimit) characters") }
        guard errors.isEmpty, let start, let end, let value, let canonical, let unit = draft.unit else { return .failure(InvalidSubmission(errors: errors)) }
        return .success(ValidSubmission(
            periodStart: start, periodEnd: end, value: value, unit: unit, valueCanonical: canonical,
            notes: draft.notes, evidenceURL: draft.evidenceURL, externalRef: draft.externalRef))
    }

    static func date(_ text: String?, _ field: String, _ errors: inout [Problem.FieldError]) -> CalendarDate? {
        guard let text, !text.isEmpty else {
            errors.append(.init(field: field, message: "is required"))
            return nil
        }
        guard let d = CalendarDate(iso: text) else {
            errors.append(.init(field: field, message: "must be a date as YYYY-MM-DD"))
            return nil
        }
        return d
    }
}

/// Progress of one milestone against its target, with a linear forecast.
public enum MilestoneForecast {
    /// `achieved` counts approved and verified submissions in the metric's canonical unit.
    /// The forecast assumes progress grows linearly from `start` to `due`: on track when
    /// achieved ≥ target × (elapsed / total).
    public static func status(achieved: Decimal, target: Decimal, start: CalendarDate, due: CalendarDate, today: CalendarDate) -> ForecastStatus {
        if achieved >= target { return .achieved }
        if today > due { return .missed }
        let total = max(1, due.daysSinceEpoch - start.daysSinceEpoch)
        let elapsed = min(total, max(0, today.daysSinceEpoch - start.daysSinceEpoch))
        return achieved * Decimal(total) >= target * Decimal(elapsed) ? .onTrack : .behind
    }

    public static func percent(achieved: Decimal, target: Decimal) -> Decimal {
        guard target > 0 else { return 0 }
        var result = Decimal()
        var raw = achieved * 100 / target
        NSDecimalRound(&result, &raw, 2, .plain)
        return result
    }
}
