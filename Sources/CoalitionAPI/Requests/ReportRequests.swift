import CoalitionModels
import Hummingbird

/// `?from=&to=&by=year|quarter` of the reports.
struct ReportPeriod {
    var from: CalendarDate?
    var to: CalendarDate?
    var grouping: ReportGrouping

    init(_ request: Request) throws {
        var query = QueryReader(request)
        from = query.date("from")
        to = query.date("to")
        if let from, let to, to < from { query.fail("to", "must not be before from") }
        grouping = query.enumeration("by", ReportGrouping.self) ?? .year
        try query.finish()
    }
}
