import CoalitionDomain
import CoalitionModels
import Foundation

/// A bar chart drawn on the server as SVG: one bar per period, each with its value written above
/// it and its period below, so that it reads without colour; the exact value (a decimal string)
/// is the label, and only the bar's height is rounded.
struct BarChart: Sendable {
    struct Bar: Sendable {
        var label: String
        var value: String
    }

    var title: String
    var unit: String
    var bars: [Bar]

    static let width = 640
    static let height = 240
    static let plotTop = 28
    static let plotBottom = 200

    /// The SVG element, escaped for HTML (it is placed into the page as it is).
    var svg: String {
        let values = bars.map { Double($0.value) ?? 0 }
        let top = max(values.max() ?? 0, 0)
        let slot = Double(Self.width - 60) / Double(max(bars.count, 1))
        let barWidth = max(min(slot * 0.6, 64), 4)
        let plotHeight = Double(Self.plotBottom - Self.plotTop)
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 \#(Self.width) \#(Self.height)" role="img" aria-label="\#(HTML.escape("\(title) (\(unit)) by period"))">"#
        out += "<title>\(HTML.escape("\(title) (\(unit))"))</title>"
        out += #"<line class="axis" x1="40" y1="\#(Self.plotBottom)" x2="\#(Self.width - 10)" y2="\#(Self.plotBottom)"/>"#
        for (i, bar) in bars.enumerated() {
            let value = max(values[i], 0)
            let h = top > 0 ? (value / top * plotHeight) : 0
            let x = 40 + slot * Double(i) + (slot - barWidth) / 2
            let y = Double(Self.plotBottom) - h
            let cx = x + barWidth / 2
            out += #"<g class="bar" data-period="\#(HTML.escape(bar.label))" data-value="\#(HTML.escape(bar.value))">"#
            out += #"<rect x="\#(Self.format(x))" y="\#(Self.format(y))" width="\#(Self.format(barWidth))" height="\#(Self.format(h))"/>"#
            out += #"<text class="value" x="\#(Self.format(cx))" y="\#(Self.format(y - 6))" text-anchor="middle">\#(HTML.escape(bar.value))</text>"#
            out += #"<text class="label" x="\#(Self.format(cx))" y="\#(Self.plotBottom + 18)" text-anchor="middle">\#(HTML.escape(bar.label))</text>"#
            out += "</g>"
        }
        out += "</svg>"
        return out
    }

    static func format(_ v: Double) -> String { String(format: "%.1f", locale: Locale(identifier: "en_US_POSIX"), v) }

    /// One chart per metric, its bars the periods of the summary in order.
    static func charts(_ totals: [MetricTotal], by grouping: ReportGrouping) -> [BarChart] {
        var order: [String] = []
        var byMetric: [String: BarChart] = [:]
        for t in totals.sorted(by: { ($0.metric, $0.period.description) < ($1.metric, $1.period.description) }) {
            if byMetric[t.metric] == nil {
                order.append(t.metric)
                byMetric[t.metric] = BarChart(title: t.metric.replacingOccurrences(of: "_", with: " "), unit: t.unit, bars: [])
            }
            byMetric[t.metric]?.bars.append(Bar(label: periodLabel(t.period, grouping), value: t.total))
        }
        return order.compactMap { byMetric[$0] }
    }

    static func periodLabel(_ start: CalendarDate, _ grouping: ReportGrouping) -> String {
        switch grouping {
        case .quarter: "\(start.year) Q\((start.month - 1) / 3 + 1)"
        case .year: "\(start.year)"
        }
    }
}

/// Escaping for text and attribute values in HTML.
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
