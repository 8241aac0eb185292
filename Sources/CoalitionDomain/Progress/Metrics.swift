import CoalitionModels
import Foundation

/// A unit and its place in a family: value × factor is the value in the family's base unit.
public struct MeasurementUnit: Sendable, Equatable {
    public var code: String
    public var family: String
    public var factor: Decimal
}

/// The units the coalition reports in. Conversion is exact: factors are powers of ten.
public enum Units {
    public static let all: [MeasurementUnit] = [
        MeasurementUnit(code: "t", family: "mass", factor: 1),
        MeasurementUnit(code: "kg", family: "mass", factor: Decimal(string: "0.001")!),
        MeasurementUnit(code: "tCO2e", family: "co2e", factor: 1),
        MeasurementUnit(code: "kgCO2e", family: "co2e", factor: Decimal(string: "0.001")!),
        MeasurementUnit(code: "unit", family: "count", factor: 1),
        MeasurementUnit(code: "percent", family: "share", factor: 1),
        MeasurementUnit(code: "kWh", family: "energy", factor: 1),
        MeasurementUnit(code: "Wh", family: "energy", factor: Decimal(string: "0.001")!),
        MeasurementUnit(code: "MWh", family: "energy", factor: 1000),
    ]

    public static func unit(_ code: String) -> MeasurementUnit? { all.first { $0.code == code } }

    /// `value` in `from` expressed in `to`; nil when the units are of different families.
    public static func convert(_ value: Decimal, from: String, to: String) -> Decimal? {
        guard let a = unit(from), let b = unit(to), a.family == b.family else { return nil }
        // The same factor (most rows: the metric's own unit) needs no arithmetic; Decimal's
        // division was a seventh of a bulk upload's server time.
        if a.factor == b.factor { return value }
        return value * a.factor / b.factor
    }

    public static func family(of code: String) -> [String] {
        guard let u = unit(code) else { return [] }
        return all.filter { $0.family == u.family }.map(\.code)
    }
}
