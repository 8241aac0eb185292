/// A line-by-line difference between two versions of a standard's text, in order: the lines
/// both keep, the ones the newer removes and the ones it adds (Myers' algorithm, as the
/// standard library's `difference(from:)` computes it).
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

    public init(from old: String, to new: String) {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let difference = b.difference(from: a)
        var removedOffsets = Set<Int>()
        var insertedOffsets = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removedOffsets.insert(offset)
            case .insert(let offset, _, _): insertedOffsets.insert(offset)
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
