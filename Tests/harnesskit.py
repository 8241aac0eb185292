"""What the Python end-to-end harnesses share (Tests/console, Tests/pact): the tally of checks,
the exception that ends a test after a failed requirement, a recorded HTTP response, and the
registry of tests in the order they are defined."""

import json
from dataclasses import dataclass, field


@dataclass
class Results:
    passed: int = 0
    failures: list = field(default_factory=list)
    current_test: str = ""
    per_test: list = field(default_factory=list)  # (name, passed, failed, seconds)


class Abort(Exception):
    """Ends the current test after a failed `require` (already recorded)."""


@dataclass
class Response:
    status: int
    reason: str
    headers: list
    body: bytes

    def header(self, name):
        """The first value of header `name` (case-insensitive), or None."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class Registry(list):
    """The tests of a suite, in the order they are defined; `test` is the decorator."""

    def test(self, fn):
        self.append(fn)
        return fn


def summary(results, prefix):
    """Prints the failed checks (first line of each) and the tally; the exit status."""
    if results.failures:
        print(f"{prefix}: {len(results.failures)} failed checks (details above):")
        for line in results.failures:
            first = line.splitlines()[0]
            print("  " + (first if len(first) <= 240 else first[:239] + "…"))
        print(f"{prefix}: {results.passed} checks passed, {len(results.failures)} failed")
        return 1
    print(f"{prefix}: {results.passed} checks passed")
    return 0
