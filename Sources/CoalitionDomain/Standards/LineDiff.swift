/// A line-by-line difference between two versions of a standard's text, in order: the lines
/// both keep, the ones the newer removes and the ones it adds. The lines both texts begin and
/// end with are kept as they are; what lies between goes to Myers' algorithm (the standard
/// library's `difference(from:)`), whose memory grows with the product of the lines it
/// compares, so it compares at most `maxChangedLines` on each side (nil beyond: a text can be
/// 200,000 one-character lines).
public struct LineDiff: Sendable, Equatable {
    public enum Change: String, Sendable, Equatable {
        case kept, removed, added
    }

    public struct Line: Sendable, Equatable {
        public var change: Change
        public var text: String
        /// The line's number in the older text (kept and removed lines) and in the newer one
        /// (kept and added lines).
        public var oldNumber: Int?
        public var newNumber: Int?
    }

    public var lines: [Line]
    public var added: Int { lines.filter { $0.change == .added }.count }
    public var removed: Int { lines.filter { $0.change == .removed }.count }

    public static let maxChangedLines = 1000

    public init?(from old: String, to new: String) {
        // `isNewline` splits at "\r\n" (one Character) as at "\n": a browser sends CRLF.
        let a = old.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        let b = new.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let middleA = a[prefix..<(a.count - suffix)]
        let middleB = b[prefix..<(b.count - suffix)]
        guard middleA.count <= Self.maxChangedLines, middleB.count <= Self.maxChangedLines else { return nil }
        // Offsets below are into a and b; the middle's are shifted by the common prefix.
        let difference = Array(middleB).difference(from: Array(middleA))
        var removedOffsets = Set<Int>()
        var insertedOffsets = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removedOffsets.insert(prefix + offset)
            case .insert(let offset, _, _): insertedOffsets.insert(prefix + offset)
            }
        }
        var lines: [Line] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count, removedOffsets.contains(i) {
                lines.append(Line(change: .removed, text: a[i], oldNumber: i + 1, newNumber: nil))
                i += 1
            } else if j < b.count, insertedOffsets.contains(j) {
                lines.append(Line(change: .added, text: b[j], oldNumber: nil, newNumber: j + 1))
                j += 1
            } else {
                lines.append(Line(change: .kept, text: a[i], oldNumber: i + 1, newNumber: j + 1))
                i += 1
                j += 1
            }
        }
        self.lines = lines
    }
}
