/// An enumeration stored as its text spelling (a `text` column with a CHECK of the allowed
/// values). Conforming is all it takes to bind it, read it and use it in arrays; a spelling
/// the type does not know is a decoding error naming the column, never a silent default.
public protocol PQTextEnum: PQArrayElement, RawRepresentable where RawValue == String {}

extension PQTextEnum {
    public static var pqType: PQType { .text }
    public var pqBind: PQBind { PQBind(type: .text, bytes: Array(rawValue.utf8)) }
    public static var acceptedTypes: Set<PQType> { textLikeTypes }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Self? {
        Self(rawValue: String(decoding: pqText, as: UTF8.self))
    }
    public static var arrayType: PQType { .textArray }
    public static var acceptedArrayTypes: Set<PQType> { [.textArray, .varcharArray] }
    public var pqArrayText: String { rawValue }
}
