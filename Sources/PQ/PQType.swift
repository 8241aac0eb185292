/// PostgreSQL type OIDs that the bind and decode layer knows by number.
public struct PQType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let unspecified = PQType(rawValue: 0)
    public static let bool = PQType(rawValue: 16)
    public static let bytea = PQType(rawValue: 17)
    public static let char = PQType(rawValue: 18)
    public static let name = PQType(rawValue: 19)
    public static let int8 = PQType(rawValue: 20)
    public static let int2 = PQType(rawValue: 21)
    public static let int4 = PQType(rawValue: 23)
    public static let text = PQType(rawValue: 25)
    public static let oid = PQType(rawValue: 26)
    public static let json = PQType(rawValue: 114)
    public static let float4 = PQType(rawValue: 700)
    public static let float8 = PQType(rawValue: 701)
    public static let unknown = PQType(rawValue: 705)
    public static let bpchar = PQType(rawValue: 1042)
    public static let varchar = PQType(rawValue: 1043)
    public static let date = PQType(rawValue: 1082)
    public static let timestamp = PQType(rawValue: 1114)
    public static let timestamptz = PQType(rawValue: 1184)
    public static let numeric = PQType(rawValue: 1700)
    public static let uuid = PQType(rawValue: 2950)
    public static let jsonb = PQType(rawValue: 3802)
    public static let boolArray = PQType(rawValue: 1000)
    public static let int2Array = PQType(rawValue: 1005)
    public static let int4Array = PQType(rawValue: 1007)
    public static let textArray = PQType(rawValue: 1009)
    public static let varcharArray = PQType(rawValue: 1015)
    public static let int8Array = PQType(rawValue: 1016)
    public static let float8Array = PQType(rawValue: 1022)
    public static let dateArray = PQType(rawValue: 1182)
    public static let numericArray = PQType(rawValue: 1231)
    public static let uuidArray = PQType(rawValue: 2951)

    public var description: String {
        switch self {
        case .bool: "boolean"
        case .bytea: "bytea"
        case .char: "\"char\""
        case .name: "name"
        case .int8: "bigint"
        case .int2: "smallint"
        case .int4: "integer"
        case .text: "text"
        case .oid: "oid"
        case .json: "json"
        case .float4: "real"
        case .float8: "double precision"
        case .unknown: "unknown"
        case .bpchar: "character"
        case .varchar: "character varying"
        case .date: "date"
        case .timestamp: "timestamp"
        case .timestamptz: "timestamptz"
        case .numeric: "numeric"
        case .uuid: "uuid"
        case .jsonb: "jsonb"
        case .textArray: "text[]"
        case .varcharArray: "character varying[]"
        case .int2Array: "smallint[]"
        case .int4Array: "integer[]"
        case .int8Array: "bigint[]"
        case .uuidArray: "uuid[]"
        case .boolArray: "boolean[]"
        case .float8Array: "double precision[]"
        case .numericArray: "numeric[]"
        case .dateArray: "date[]"
        default: "type oid \(rawValue)"
        }
    }
}
