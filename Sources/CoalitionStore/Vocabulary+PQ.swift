import CoalitionModels
import PQ

// The coalition's vocabulary as PostgreSQL stores it: text columns whose CHECK constraints
// list the same spellings, and `date` columns for calendar dates.
extension Role: PQTextEnum {}
extension OrganizationKind: PQTextEnum {}
extension OrganizationStatus: PQTextEnum {}
extension UserStatus: PQTextEnum {}
extension TokenScope: PQTextEnum {}
extension TokenKind: PQTextEnum {}
extension Aggregation: PQTextEnum {}
extension ProjectCategory: PQTextEnum {}
extension ProjectStatus: PQTextEnum {}
extension MilestoneStatus: PQTextEnum {}
extension SubmissionStatus: PQTextEnum {}
extension StandardCategory: PQTextEnum {}
extension StandardStatus: PQTextEnum {}
extension StandardVersionStatus: PQTextEnum {}
extension ReviewVerdict: PQTextEnum {}

extension CalendarDate: PQArrayElement {
    public static var pqType: PQType { .date }
    public var pqBind: PQBind { PQBind(type: .date, bytes: Array(description.utf8)) }
    public static var acceptedTypes: Set<PQType> { [.date] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> CalendarDate? {
        CalendarDate(iso: String(decoding: pqText, as: UTF8.self))
    }
    public static var arrayType: PQType { .dateArray }
    public var pqArrayText: String { description }
}
extension FootprintState: PQTextEnum {}
