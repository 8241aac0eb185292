"""The PACT v3 conformance tests, run in order by scripts/pact-test against one TLS-only server with the
demo coalition (see harness.py for the helpers and the runner).

    python3 Tests/pact/test_pact.py --announced https://127.0.0.1:PORT --server BIN --pid-file F \
        --work DIR --certs DIR --openapi YAML --pg-local scripts/pg-local [name ...]

tc01 … tc39 are the cases of the official list (wbcsd/pact-conformance-service,
docs/v3-test-cases-expected-results.md), #18 and #19 (OpenID Connect, optional there) included; the
tests named coalition_* are this server's own. Every test builds on footprints the run itself
creates (fixtures(): product, company and classification ids carry a random run tag) so that the
expected results are exact; the demo's footprints may appear in broad listings, where each one
returned must still match the filter.
"""

import base64
import json
import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    CLEARSPRING, CLOUDEVENTS, GREENMART, MEADOWGOLD, bearer, check, check_equal, check_error, check_schema,
    cfg, client, cloud_event, create_footprint, data_of, footprint_doc, forget_tokens, https, ids, list_all,
    main, new_client, next_link, note, pact, parse_time, plain_http, post_event, psql, publish, query, receiver,
    require, server, session, short, test, token_response, validate, validity,
)

import harness  # noqa: E402

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ORGS = {CLEARSPRING: "clearspring", GREENMART: "greenmart", MEADOWGOLD: "meadowgold"}


# ---- what the run made, and what the spec says a listing returns ------------------------------------------------

class Mine:
    """Every footprint this run made: its latest PACT document, its organization, published or not."""

    def __init__(self):
        self.docs = {}       # PACT id -> document (as the server last answered it)
        self.org = {}        # PACT id -> organization slug
        self.published = set()
        self.names = {}      # fixture name -> PACT id
        self.coalition_ids = {}  # PACT id -> the Coalition record's id (for /v1)

    def add(self, name, email, doc, preceding=None, publish_it=True):
        rec = create_footprint(email, doc, preceding)
        pid = rec["footprint"]["id"]
        self.docs[pid], self.org[pid], self.names[name] = rec["footprint"], ORGS[email], pid
        self.coalition_ids[pid] = rec["id"]
        if publish_it:
            self.publish(name, email)
        return pid

    def publish(self, name, email):
        pid = self.names[name]
        out = publish(email, {"id": self.coalition_ids[pid]})
        self.docs[pid] = out["footprint"]
        self.published.add(pid)
        for old in out["footprint"].get("precedingPfIds") or []:
            if old in self.docs:
                self.docs[old] = dict(self.docs[old], status="Deprecated")
        return out

    def id(self, name):
        return self.names[name]

    def doc(self, name):
        return self.docs[self.names[name]]

    def visible(self, c):
        """The published footprints of this run the client may see."""
        return [self.docs[p] for p in self.published if c.organization is None or self.org[p] == c.organization]

    def hidden(self, c):
        """This run's footprints the client must not see: drafts, and other organizations' ones."""
        return [self.docs[p] for p in self.docs if p not in self.published
                or (c.organization is not None and self.org[p] != c.organization)]


mine = Mine()
_fixtures = {}


def P(name):
    return f"urn:pact:test:{cfg.run}:product:{name}"


def C(name):
    return f"urn:pact:test:{cfg.run}:company:{name}"


def CLS(name):
    # With '#' as eCl@ss codes have, which a query string must percent-encode.
    return f"urn:eclass:0173-1#01-{cfg.run.upper()}{name.upper()}#005"


def fixtures():
    """The run's footprints, made on first use (through /v1, by three members' editors):
      f1 clearspring  DE  validity 2023-01-15T10:15:30Z .. 2025-12-31T00:00:00Z    class a
      f2 clearspring  FR  validity 2024-06-01 .. 2027-05-31                         class b
      f3 greenmart    DE  no validity: 2022-12-31T23:59:59Z + 3 years (the spec's)  class a
      f4 greenmart    JP  validity 2030-01-01 .. 2031-01-01 (reference 2029), two product ids, class c
      vo, vn clearspring: vn supersedes vo (precedingPfIds), so vo is Deprecated
      draft clearspring: never published
      page0..page4 meadowgold SE, company "paging": for pagination"""
    if _fixtures:
        require(_fixtures.get("made"), "the run's footprints were made (an earlier test failed making them)",
                _fixtures.get("error", ""))
        return mine
    _fixtures["error"] = "unfinished"
    try:
        make_fixtures()
    except Exception as e:
        _fixtures["error"] = harness.results.failures[-1] if harness.results.failures else repr(e)
        raise
    _fixtures["made"] = True
    check_equal(mine.doc("vo")["status"], "Deprecated", "fixtures: vo is Deprecated once vn (its successor) is published")
    return mine


def make_fixtures():
    cs = C("clearspring")
    # Within the server's rule for validity (start >= pcf.referencePeriodEnd, end <= it + 3 years).
    mine.add("f1", CLEARSPRING, footprint_doc("Fixture one", [P("1")], [cs], [CLS("a")], "DE",
                                              ("2023-01-15T10:15:30Z", "2025-12-31T00:00:00Z")))
    mine.add("f2", CLEARSPRING, footprint_doc("Fixture two", [P("2")], [cs], [CLS("b")], "FR",
                                              ("2024-06-01T00:00:00Z", "2027-05-31T00:00:00Z"),
                                              reference=("2023-06-01T00:00:00Z", "2024-05-31T00:00:00Z")))
    mine.add("f3", GREENMART, footprint_doc("Fixture three", [P("3")], [C("greenmart")], [CLS("a")], "DE"))
    mine.add("f4", GREENMART, footprint_doc("Fixture four", [P("4"), P("4b")], [C("greenmart"), C("greenmart-2")],
                                            [CLS("c")], "JP", ("2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"),
                                            reference=("2029-01-01T00:00:00Z", "2029-12-31T00:00:00Z")))
    mine.add("vo", CLEARSPRING, footprint_doc("Versioned", [P("v")], [cs], [CLS("b")], "DE"))
    mine.add("vn", CLEARSPRING, footprint_doc("Versioned", [P("v")], [cs], [CLS("b")], "DE"), preceding=[mine.id("vo")])
    mine.add("draft", CLEARSPRING, footprint_doc("Draft", [P("draft")], [cs], [CLS("a")], "DE"), publish_it=False)
    for i in range(5):
        mine.add(f"page{i}", MEADOWGOLD, footprint_doc(f"Paging {i}", [P(f"page{i}")], [C("paging")], [CLS("p")], "SE"))


SINGLE = {"validOn", "validAfter", "validBefore"}
# The spec's own example writes ?productId=x&productid=y&…&validon=…: names without regard to case.
CANONICAL = {n.lower(): n for n in ("productId", "companyId", "geography", "classification", "status", "validOn",
                                    "validAfter", "validBefore")}


def matches(pf, params):
    """The spec's filter semantics: the values of one parameter OR-ed, parameters AND-ed."""
    by = {}
    for k, v in params:
        if k != "limit":
            by.setdefault(CANONICAL.get(k.lower(), k), []).append(v)
    pcf = pf.get("pcf") or {}
    for k, values in by.items():
        if k == "productId":
            ok = any(v in (pf.get("productIds") or []) for v in values)
        elif k == "companyId":
            ok = any(v in (pf.get("companyIds") or []) for v in values)
        elif k == "classification":
            ok = any(v in (pf.get("productClassifications") or []) for v in values)
        elif k == "geography":
            geo = {pcf.get("geographyCountry"), pcf.get("geographyRegionOrSubregion"), pcf.get("geographyCountrySubdivision")}
            sub = pcf.get("geographyCountrySubdivision") or ""
            ok = any(v in geo or sub.startswith(v + "-") for v in values)
        elif k == "status":
            ok = str(pf.get("status")).lower() in [v.lower() for v in values]  # case-insensitive (spec)
        elif k in SINGLE:
            start, end = validity(pf)
            t = parse_time(values[0])
            ok = {"validOn": start <= t <= end, "validAfter": start > t, "validBefore": end < t}[k]
        else:
            raise ValueError(f"no semantics for filter {k}")
        if not ok:
            return False
    return True


def expect_listing(c, params, what, exact=False, must=None):
    """Lists (every page) with the filters and checks against the spec's semantics: every footprint
    returned matches them, each of this run's visible footprints that matches is there (and `must`,
    PACT ids, are among them), none of the run's that does not match or that the client may not see
    is; with exact, nothing else either. Returns the listed footprints."""
    found, _ = list_all(c, params, what=what)
    got = ids(found)
    check(len(got) == len(set(got)), f"{what}: no footprint twice", f"{len(got) - len(set(got))} duplicates")
    wrong = [pf.get("id") for pf in found if not matches(pf, params)]
    check(not wrong, f"{what}: every footprint returned matches the filters", f"{len(wrong)} do not: {wrong[:5]}")
    expected = {pf["id"] for pf in mine.visible(c) if matches(pf, params)}
    if must is not None:
        check(set(must) <= expected, f"{what}: (the test's own expectation) {sorted(must)} ⊆ {sorted(expected)}")
    missing = expected - set(got)
    check(not missing, f"{what}: this run's matching footprints are all there", f"missing {sorted(missing)}")
    unwanted = {pf["id"] for pf in mine.visible(c) if not matches(pf, params)} | {pf["id"] for pf in mine.hidden(c)}
    extra = unwanted & set(got)
    check(not extra, f"{what}: none of this run's other footprints (non-matching, drafts, not visible) is there",
          f"there: {sorted(extra)}")
    if exact:
        check_equal(sorted(set(got)), sorted(expected), f"{what}: exactly the matching footprints")
    return found


def expect_empty(c, params, what):
    """A filter nothing matches: 200, data [] (not null), no next link."""
    r = pact("GET", f"/3/footprints?{query(params)}", c)
    data = data_of(r, what)
    check_equal(data, [], f"{what}: data is []")
    check(next_link(r) is None, f"{what}: no next link", str(r.header_all("Link")))


def same(a, b):
    """Equal JSON values, date-times compared as instants (2023-01-15T10:15:30Z = …30.000Z)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, str) and isinstance(b, str) and a != b and DATE_TIME.match(a) and DATE_TIME.match(b):
        try:
            return parse_time(a) == parse_time(b)
        except ValueError:
            return False
    return a == b and type(a) is type(b)


def differences(a, b, path=""):
    """The paths where two JSON values differ (as `same` sees them), with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += differences(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if same(a, b) else [f"{path or '(root)'}: {short(a, 60)} vs {short(b, 60)}"]


def any_params(name):
    return "/3/footprints?" + query(name)


def raw_request(method, path, headers, body=b""):
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def check_plain_http_refused(request, forbidden, what):
    """The official cases #9, #10, #11, #17: the TLS-only port must refuse the plain-HTTP request or
    answer without the token or data."""
    how, received = plain_http(request)
    text = received.decode("latin-1")
    body = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
    status_line = text.split("\r\n", 1)[0] if text.startswith("HTTP/") else ""
    leaked = [f for f in forbidden if f in body]
    check(not leaked, f"{what}: over plain HTTP the connection is refused or the answer carries no {' / '.join(forbidden)}",
          f"{how}: {short(text, 300)}")
    parts = status_line.split(" ")
    check(not (len(parts) > 1 and parts[1].startswith("2")), f"{what}: no 2xx answer over plain HTTP", status_line)
    note(f"{what}: plain HTTP -> {how}" + (f" ({status_line})" if status_line else f" ({len(received)} bytes)"))


# ---- the official list ----------------------------------------------------------------------------------------------

@test
def tc01_obtain_token_with_valid_credentials():
    c = client("all")
    r = token_response(c.client_id, c.client_secret)
    require(r.status == 200, "POST /auth/token with valid credentials: 200", str(r))
    check((r.header("Content-Type") or "").startswith("application/json"), "the token response is JSON",
          r.header("Content-Type"))
    doc = r.json_or_none() or {}
    check(isinstance(doc.get("access_token"), str) and len(doc["access_token"]) >= 16, "access_token is a string", short(doc))
    check_equal(doc.get("token_type"), "Bearer", "token_type")
    check(isinstance(doc.get("expires_in"), int) and doc["expires_in"] > 0, "expires_in is a positive integer", short(doc))
    check("no-store" in (r.header("Cache-Control") or ""), "Cache-Control: no-store (RFC 6749 5.1)", r.header("Cache-Control"))
    r2 = pact("GET", "/3/footprints", token=doc.get("access_token", ""))
    check_equal(r2.status, 200, "the token lists footprints")


@test
def tc02_obtain_token_with_invalid_credentials():
    c = client("all")
    for cid, secret, what in ((c.client_id, c.client_secret + "x", "wrong secret"),
                              ("no-such-client-" + cfg.run, c.client_secret, "unknown client"),
                              (c.client_id, "", "empty secret")):
        r = token_response(cid, secret)
        check(r.status in (400, 401), f"/auth/token, {what}: 400 or 401", str(r))
        doc = r.json_or_none()
        check(isinstance(doc, dict) and doc.get("error") == "invalid_client", f"/auth/token, {what}: error invalid_client",
              short(r.text))
        check(not (isinstance(doc, dict) and "access_token" in doc), f"/auth/token, {what}: no access_token")
        if r.status == 401:
            check(r.header("WWW-Authenticate"), f"/auth/token, {what}: a 401 names WWW-Authenticate (RFC 6749 5.2)")


@test
def tc03_get_footprint():
    fx = fixtures()
    c = client("all")
    r = pact("GET", f"/3/footprints/{fx.id('f1')}", c, host="api.example.com")
    data = data_of(r, "GET /3/footprints/{f1}")
    check((r.header("Content-Type") or "").startswith("application/json"), "GetFootprint answers JSON", r.header("Content-Type"))
    check_equal(data.get("id"), fx.id("f1"), "GetFootprint: the id asked for")
    expected = fx.doc("f1")
    differs = differences(data, expected)
    check(not differs, "GetFootprint: the document equals the one the publication answered (got vs published)",
          "; ".join(differs[:5]))
    sent = footprint_doc("Fixture one", [P("1")], [C("clearspring")], [CLS("a")], "DE",
                         ("2023-01-15T10:15:30Z", "2025-12-31T00:00:00Z"))
    for k, v in sent.items():
        check(same(data.get(k), v), f"GetFootprint keeps {k} as the member sent it (got vs sent)",
              "; ".join(differences(data.get(k), v, k)[:5]))
    check(data.get("specVersion", "").startswith("3."), "specVersion 3.x", data.get("specVersion"))
    check_equal(data.get("status"), "Active", "status")


@test
def tc04_list_footprints():
    fx = fixtures()
    c = client("all")
    r = pact("GET", "/3/footprints", c, host="api.example.com")
    check(r.status in (200, 202), "GET /3/footprints: 200 or 202", str(r))
    doc = r.json_or_none()
    check(isinstance(doc, dict) and isinstance(doc.get("data"), list), "GET /3/footprints: data is a list", short(r.text))
    found, responses = list_all(c)
    got = ids(found)
    check(len(got) == len(set(got)), "the whole listing names no footprint twice")
    missing = {pf["id"] for pf in fx.visible(c)} - set(got)
    check(not missing, "the whole listing has every published footprint of the run (three organizations)",
          f"missing {sorted(missing)}")
    check(fx.id("draft") not in got, "the whole listing has no draft")
    check(all(pf.get("status") in ("Active", "Deprecated") for pf in found), "every status is Active or Deprecated")
    check(fx.id("vo") in got, "the whole listing includes the deprecated footprint (spec: SHOULD include deprecated)")
    note(f"the whole listing: {len(got)} footprints in {len(responses)} page(s)")


@test
def tc05_pagination_link():
    fx = fixtures()
    c = client("all")
    params = [("companyId", C("paging")), ("limit", "2")]
    r = pact("GET", any_params(params), c)
    data = data_of(r, "ListFootprints limit=2")
    check(len(data) <= 2, "limit=2: at most 2 footprints", str(len(data)))
    link = next_link(r)
    require(link, "limit=2 of 5: a Link header with rel=\"next\"", str(r.headers))
    check(link.startswith(f"https://127.0.0.1:{server.port}/"),
          "the next link is absolute, https, with the request's host", link)
    r2 = pact("GET", link, c)
    data2 = data_of(r2, "the next link")
    check(0 < len(data2) <= 2, "the next page has 1 or 2 footprints", str(len(data2)))
    check(not set(ids(data)) & set(ids(data2)), "the next page repeats nothing of the first")
    found, _ = list_all(c, params)
    check_equal(sorted(ids(found)), sorted(fx.id(f"page{i}") for i in range(5)), "all pages: the 5 footprints")
    # And through the whole listing, one at a time for a few pages.
    r = pact("GET", "/3/footprints?limit=1", c)
    check(len(data_of(r, "limit=1")) <= 1, "limit=1: at most 1 footprint")
    check(next_link(r), "limit=1 of many: a next link")


@test
def tc06_list_footprints_with_invalid_token():
    r = pact("GET", "/3/footprints", token="invalid-access-token", host="api.example.com")
    check_error(r, 400, "BadRequest", "ListFootprints with an invalid token")
    check(not (r.json_or_none() or {}).get("data"), "no data with an invalid token")


@test
def tc07_get_footprint_with_invalid_token():
    fx = fixtures()
    r = pact("GET", f"/3/footprints/{fx.id('f1')}", token="invalid-access-token", host="api.example.com")
    check_error(r, 400, "BadRequest", "GetFootprint with an invalid token")
    check(not (r.json_or_none() or {}).get("data"), "no data with an invalid token")


@test
def tc08_get_footprint_with_non_existent_id():
    c = client("all")
    r = pact("GET", "/3/footprints/non-existent-id", c)
    check_error(r, 404, "NotFound", "GetFootprint non-existent-id")
    r = pact("GET", f"/3/footprints/{uuid.uuid4()}", c)
    check_error(r, 404, "NotFound", "GetFootprint of an unknown UUID")


@test
def tc09_authentication_through_http():
    c = client("all")
    body = b"grant_type=client_credentials"
    req = raw_request("POST", "/auth/token", {
        "Authorization": "Basic " + base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded"}, body)
    check_plain_http_refused(req, ["access_token"], "POST http://…/auth/token")


@test
def tc10_list_footprints_through_http():
    fixtures()
    c = client("all")
    req = raw_request("GET", "/3/footprints", {"Authorization": f"Bearer {bearer(c)}"})
    check_plain_http_refused(req, ['"data"', "productIds"], "GET http://…/3/footprints")


@test
def tc11_get_footprint_through_http():
    fx = fixtures()
    c = client("all")
    req = raw_request("GET", f"/3/footprints/{fx.id('f1')}", {"Authorization": f"Bearer {bearer(c)}"})
    check_plain_http_refused(req, ['"data"', "productIds"], "GET http://…/3/footprints/{id}")


@test
def tc12_receive_asynchronous_request():
    fx = fixtures()
    c = client("all")
    event = cloud_event("RequestCreatedEvent", {"productId": [P("1")], "comment": "Please send PCF data for this year."})
    check(not validate(event, "RequestCreatedEvent"), "(the test's own event is a valid RequestCreatedEvent)")
    r = post_event(c, event)
    check_equal(r.status, 200, f"POST /3/events RequestCreatedEvent: {short(r.text)}")
    answer = receiver.wait_answer(event["id"])
    require(answer, f"an answer to the request reaches the receiver within {harness.EVENT_WAIT} s",
            f"{len(receiver.events)} events received, none answering {event['id']}")
    doc = answer["json"]
    check_equal(doc.get("type"), "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3", "the answer's type")
    check_equal(ids((doc.get("data") or {}).get("pfs") or []), [fx.id("f1")], "the answer holds the requested footprint")


@test
def tc13_request_fulfilled_event():
    fx = fixtures()
    c = client("all")
    event = cloud_event("RequestFulfilledEvent", {"requestEventId": str(uuid.uuid4()), "pfs": [fx.doc("f1")]})
    check(not validate(event, "RequestFulfilledEvent"), "(the test's own event is a valid RequestFulfilledEvent)",
          "; ".join(validate(event, "RequestFulfilledEvent")[:3]))
    r = post_event(c, event)
    check_equal(r.status, 200, f"POST /3/events RequestFulfilledEvent: {short(r.text)}")


@test
def tc14_request_rejected_event():
    c = client("all")
    event = cloud_event("RequestRejectedEvent", {"requestEventId": str(uuid.uuid4()), "error": {
        "code": "NotFound", "message": "The requested footprint could not be found."}})
    check(not validate(event, "RequestRejectedEvent"), "(the test's own event is a valid RequestRejectedEvent)")
    r = post_event(c, event)
    check_equal(r.status, 200, f"POST /3/events RequestRejectedEvent: {short(r.text)}")


@test
def tc15_published_event():
    c = client("all")
    # The list's example names a GTIN in pfIds; the schema says pfIds are UUIDs (format uuid).
    event = cloud_event("PublishedEvent", {"pfIds": [str(uuid.uuid4())]})
    check(not validate(event, "PublishedEvent"), "(the test's own event is a valid PublishedEvent)")
    r = post_event(c, event)
    check_equal(r.status, 200, f"POST /3/events PublishedEvent: {short(r.text)}")


@test
def tc16_events_with_invalid_token():
    event = cloud_event("PublishedEvent", {"pfIds": [str(uuid.uuid4())]})
    r = post_event(None, event, token="invalid-access-token")
    check_error(r, 400, "BadRequest", "POST /3/events with an invalid token")


@test
def tc17_events_through_http():
    c = client("all")
    event = json.dumps(cloud_event("RequestCreatedEvent", {"productId": [P("1")], "comment": "over plain HTTP"})).encode()
    req = raw_request("POST", "/3/events", {"Authorization": f"Bearer {bearer(c)}", "Content-Type": CLOUDEVENTS}, event)
    before = len(receiver.events)
    check_plain_http_refused(req, ['"data"'], "POST http://…/3/events")
    # Had the server taken it, an answer would come; give it a moment.
    time.sleep(2)
    eid = json.loads(event)["id"]
    check(not receiver.answers_to(eid, only_ok=False), "an event sent over plain HTTP is not acted upon",
          f"{len(receiver.events) - before} events arrived")


def discovered_token_endpoint(host=None):
    r = https("GET", "/.well-known/openid-configuration", host=host)
    require(r.status == 200, "GET /.well-known/openid-configuration: 200", str(r))
    doc = r.json_or_none()
    require(isinstance(doc, dict) and isinstance(doc.get("token_endpoint"), str),
            "the OpenID configuration names a token_endpoint", short(r.text))
    return doc


@test
def tc18_openid_connect_authentication():
    c = client("all")
    endpoint = discovered_token_endpoint()["token_endpoint"]
    r = token_response(c.client_id, c.client_secret, target=endpoint)
    require(r.status == 200, f"POST {endpoint} (the discovered token endpoint): 200", str(r))
    doc = r.json_or_none() or {}
    check(isinstance(doc.get("access_token"), str) and doc["access_token"], "an access_token", short(doc))
    check_equal(doc.get("token_type"), "Bearer", "token_type")
    check(isinstance(doc.get("expires_in"), int) and doc["expires_in"] > 0, "expires_in", short(doc))
    check_equal(pact("GET", "/3/footprints", token=doc.get("access_token", "")).status, 200, "the token lists footprints")


@test
def tc19_openid_connect_with_incorrect_credentials():
    c = client("all")
    endpoint = discovered_token_endpoint()["token_endpoint"]
    r = token_response(c.client_id, "wrong-" + c.client_secret, target=endpoint)
    check(r.status in (400, 401), f"POST {endpoint} with a wrong secret: 400 or 401", str(r))
    doc = r.json_or_none()
    check(isinstance(doc, dict) and doc.get("error") == "invalid_client", "error invalid_client", short(r.text))


@test
def tc20_filter_product_id():
    fx = fixtures()
    expect_listing(client("all"), [("productId", P("1"))], "productId=f1's", exact=True, must=[fx.id("f1")])
    expect_listing(client("all"), [("productId", P("4b"))], "productId=f4's second", exact=True, must=[fx.id("f4")])


@test
def tc21_filter_company_id():
    fx = fixtures()
    expect_listing(client("all"), [("companyId", C("clearspring"))], "companyId=clearspring's", exact=True,
                   must=[fx.id(n) for n in ("f1", "f2", "vo", "vn")])


@test
def tc22_filter_geography():
    fx = fixtures()
    expect_listing(client("all"), [("geography", "DE")], "geography=DE", must=[fx.id(n) for n in ("f1", "f3", "vn", "vo")])
    expect_listing(client("all"), [("geography", "JP"), ("geography", "FR")], "geography=JP or FR",
                   must=[fx.id("f2"), fx.id("f4")])


@test
def tc23_filter_classification():
    fx = fixtures()
    expect_listing(client("all"), [("classification", CLS("a"))], "classification=a (with '#')", exact=True,
                   must=[fx.id("f1"), fx.id("f3")])


@test
def tc24_filter_valid_on():
    fx = fixtures()
    c = client("all")
    expect_listing(c, [("validOn", "2023-01-15T10:15:30Z")], "validOn=2023-01-15T10:15:30Z (f1's start, inclusive)",
                   must=[fx.id("f1"), fx.id("f3")])
    # f3's validity is the default, to 2025-12-31T23:59:59Z; f1's ends at 00:00 that day.
    found = expect_listing(c, [("validOn", "2025-12-31T12:00:00Z")], "validOn=2025-12-31T12:00:00Z",
                           must=[fx.id("f2"), fx.id("f3")])
    check(fx.id("f1") not in ids(found), "validOn after f1's end excludes f1")
    found = expect_listing(c, [("validOn", "2025-12-31T00:00:00Z")], "validOn=f1's end (inclusive: start <= validOn <= end)",
                           must=[fx.id("f1")])


@test
def tc25_filter_valid_after():
    fx = fixtures()
    c = client("all")
    expect_listing(c, [("validAfter", "2023-01-14T10:15:30Z")], "validAfter=2023-01-14T10:15:30Z",
                   must=[fx.id(n) for n in ("f1", "f2", "f4")])
    found = expect_listing(c, [("validAfter", "2023-01-15T10:15:30Z")], "validAfter=f1's start (strict)")
    check(fx.id("f1") not in ids(found), "validAfter equal to f1's start excludes f1")


@test
def tc26_filter_valid_before():
    fx = fixtures()
    c = client("all")
    expect_listing(c, [("validBefore", "2026-01-01T00:00:00Z")], "validBefore=2026-01-01T00:00:00Z",
                   must=[fx.id("f1"), fx.id("f3")])
    found = expect_listing(c, [("validBefore", "2025-12-31T12:00:00Z")], "validBefore=2025-12-31T12:00:00Z",
                           must=[fx.id("f1")])
    check(fx.id("f3") not in ids(found), "validBefore before the end of f3's default validity excludes f3")
    found = expect_listing(c, [("validBefore", "2025-12-31T00:00:00Z")], "validBefore=f1's end (strict: end < validBefore)")
    check(fx.id("f1") not in ids(found), "validBefore equal to f1's end excludes f1")


@test
def tc27_filter_status():
    fx = fixtures()
    c = client("all")
    found = expect_listing(c, [("status", "Active")], "status=Active", must=[fx.id(n) for n in ("f1", "f2", "f3", "f4", "vn")])
    check(fx.id("vo") not in ids(found), "status=Active leaves the deprecated one out")
    expect_listing(c, [("status", "Deprecated")], "status=Deprecated", must=[fx.id("vo")])
    # "The match must be case-insensitive" (the status parameter's description).
    expect_listing(c, [("productId", P("v")), ("status", "deprecated")], "status=deprecated (lower case)", exact=True,
                   must=[fx.id("vo")])


@test
def tc28_filter_status_and_product_id():
    fx = fixtures()
    c = client("all")
    expect_listing(c, [("status", "Active"), ("productId", P("1"))], "status=Active&productId=f1's", exact=True,
                   must=[fx.id("f1")])
    expect_listing(c, [("status", "Active"), ("productId", P("v"))], "status=Active&productId=versioned", exact=True,
                   must=[fx.id("vn")])


@test
def tc29_filter_or_logic():
    fx = fixtures()
    c = client("all")
    expect_listing(c, [("companyId", C("clearspring")), ("companyId", "urn:uuid:other-company"),
                       ("companyId", "urn:uuid:another-company")], "companyId=clearspring's|other|another", exact=True,
                   must=[fx.id(n) for n in ("f1", "f2", "vo", "vn")])
    expect_listing(c, [("productId", P("1")), ("productId", P("3")), ("productId", P("nothing"))],
                   "productId=f1's|f3's|nothing", exact=True, must=[fx.id("f1"), fx.id("f3")])
    # As the spec's filtering example spells it: productId=x&productid=y, geography twice, validon.
    expect_listing(c, [("productId", P("1")), ("productid", P("2")), ("productid", P("3")), ("geography", "DE"),
                       ("geography", "FR"), ("validon", "2025-04-01T00:00:00Z")],
                   "the spec's example: productId|productid|productid, geography DE|FR, validon", exact=True,
                   must=[fx.id("f1"), fx.id("f2"), fx.id("f3")])
    expect_listing(c, [("productId", P("1")), ("productid", P("2")), ("productid", P("3")), ("geography", "FR")],
                   "productId|productid|productid, geography FR", exact=True, must=[fx.id("f2")])


@test
def tc30_filter_product_id_negative():
    fixtures()
    expect_empty(client("all"), [("productId", "urn:bogus:product:nonexistent123")], "productId=bogus")


@test
def tc31_filter_company_id_negative():
    expect_empty(client("all"), [("companyId", "urn:bogus:company:nonexistent456")], "companyId=bogus")


@test
def tc32_filter_geography_negative():
    expect_empty(client("all"), [("geography", "XX")], "geography=XX")


@test
def tc33_filter_classification_negative():
    expect_empty(client("all"), [("classification", "urn:bogus:classification:nonexistent789")], "classification=bogus")


@test
def tc34_filter_valid_on_negative():
    expect_empty(client("all"), [("validOn", "1900-01-01T00:00:00Z")], "validOn=1900-01-01T00:00:00Z")


@test
def tc35_filter_valid_after_negative():
    expect_empty(client("all"), [("validAfter", "2099-12-31T23:59:59Z")], "validAfter=2099-12-31T23:59:59Z")


@test
def tc36_filter_valid_before_negative():
    expect_empty(client("all"), [("validBefore", "1900-01-01T00:00:00Z")], "validBefore=1900-01-01T00:00:00Z")


@test
def tc37_filter_status_negative():
    expect_empty(client("all"), [("status", "BogusStatusValue")], "status=BogusStatusValue")


@test
def tc38_filter_and_logic_negative():
    fixtures()
    expect_empty(client("all"), [("companyId", "urn:bogus:company:5FIi8zS3"), ("productId", "urn:bogus:product:nonexistent123")],
                 "companyId=bogus&productId=bogus")
    # Both exist, never together.
    expect_empty(client("all"), [("companyId", C("greenmart")), ("productId", P("1"))], "companyId=greenmart's&productId=f1's")


@test
def tc39_filter_or_logic_negative():
    expect_empty(client("all"), [("companyId", "urn:bogus:company:nonexistent1"), ("companyId", "urn:bogus:company:nonexistent2"),
                                 ("companyId", "urn:bogus:company:nonexistent3")], "companyId=three bogus")


# ---- Coalition's own --------------------------------------------------------------------------------------------------

@test
def coalition_tls_only():
    check_equal(server.scheme, "https", f"the server announces an https URL ({cfg.announced})")
    r = https("GET", "/.well-known/openid-configuration")
    check_equal(r.status, 200, "a request over TLS (the test CA, host 127.0.0.1) is served")


@test
def coalition_versioning():
    fixtures()
    c = client("all")
    old = mine.add("ver-a", CLEARSPRING, footprint_doc("Versioning A", [P("ver")], [C("ver")], [CLS("v")], "DE"))
    new = mine.add("ver-b", CLEARSPRING, footprint_doc("Versioning B", [P("ver")], [C("ver")], [CLS("v")], "DE"),
                   preceding=[old], publish_it=False)
    check_equal(data_of(pact("GET", f"/3/footprints/{old}", c), "GET A").get("status"), "Active",
                "A is Active while its successor is a draft")
    check_error(pact("GET", f"/3/footprints/{new}", c), 404, "NotFound", "the draft successor B by id")
    out = mine.publish("ver-b", CLEARSPRING)
    check_equal(out["footprint"].get("precedingPfIds"), [old], "B's precedingPfIds after publication")
    a = data_of(pact("GET", f"/3/footprints/{old}", c), "GET A after B's publication")
    check_equal(a.get("status"), "Deprecated", "A is Deprecated once B is published")
    b = data_of(pact("GET", f"/3/footprints/{new}", c), "GET B")
    check_equal(b.get("status"), "Active", "B is Active")
    check_equal(b.get("precedingPfIds"), [old], "B names A in precedingPfIds")
    found = expect_listing(c, [("productId", P("ver"))], "productId=versioned", exact=True, must=[old, new])
    check_equal({pf["id"]: pf["status"] for pf in found}, {old: "Deprecated", new: "Active"}, "the list's statuses")
    expect_listing(c, [("productId", P("ver")), ("status", "Deprecated")], "status=Deprecated", exact=True, must=[old])
    expect_listing(c, [("productId", P("ver")), ("status", "Active")], "status=Active", exact=True, must=[new])
    expect_listing(c, [("productId", P("ver")), ("status", "Active"), ("status", "Deprecated")],
                   "status=Active|Deprecated", exact=True, must=[old, new])


@test
def coalition_draft_invisible():
    fx = fixtures()
    draft = fx.id("draft")
    for name in ("all", "greenmart"):
        c = client(name)
        check_error(pact("GET", f"/3/footprints/{draft}", c), 404, "NotFound", f"the draft by id ({name} client)")
        expect_empty(c, [("productId", P("draft"))], f"productId=draft's ({name} client)")
    found, _ = list_all(client("all"))
    check(draft not in ids(found), "the whole listing has no draft")


@test
def coalition_organization_client():
    fx = fixtures()
    g = client("greenmart")
    found, _ = list_all(g)
    got = set(ids(found))
    check({fx.id("f3"), fx.id("f4")} <= got, "the greenmart client sees greenmart's footprints",
          f"missing {sorted({fx.id('f3'), fx.id('f4')} - got)}")
    others = {p for p in mine.docs if mine.org[p] != "greenmart"} & got
    check(not others, "the greenmart client sees no other organization's footprint",
          f"sees {sorted(others)} ({', '.join(sorted({mine.org[p] for p in others}))})")
    # GetFootprint: "If it determines that a data recipient is not allowed to access the requested
    # ProductFootprint, the host system MUST return a 403 Forbidden response" (an Error, AccessDenied).
    r = pact("GET", f"/3/footprints/{fx.id('f1')}", g)
    check_error(r, 403, "AccessDenied", "the greenmart client asking for clearspring's published footprint")
    check(not (r.json_or_none() or {}).get("data"), "no data for another organization's footprint")
    check_equal(data_of(pact("GET", f"/3/footprints/{fx.id('f3')}", g), "GET f3 (greenmart client)").get("id"),
                fx.id("f3"), "the greenmart client reads its organization's footprint")
    expect_listing(g, [("geography", "DE")], "geography=DE (greenmart client)", must=[fx.id("f3")])
    expect_empty(g, [("productId", P("1"))], "productId=f1's (greenmart client)")
    expect_listing(client("all"), [("productId", P("1")), ("productId", P("3")), ("productId", P("page0"))],
                   "the client without organization: three organizations' footprints", exact=True,
                   must=[fx.id("f1"), fx.id("f3"), fx.id("page0")])


@test
def coalition_pagination():
    fx = fixtures()
    c = client("all")
    expected = sorted(fx.id(f"page{i}") for i in range(5))
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        params = [("companyId", C("paging")), ("geography", "SE"), ("limit", "2")]
        r = pact("GET", any_params(params), c, host=host)
        seen, pages, first_next, first_next_ids = [], 0, None, None
        for _ in range(10):
            pages += 1
            data = data_of(r, f"page {pages} (Host {host})")
            check(len(data) <= 2, f"page {pages} (Host {host}): at most limit=2 footprints", str(len(data)))
            seen.extend(ids(data))
            link = next_link(r)
            if link is None:
                break
            check(link.startswith(f"https://{host}/3/footprints?"),
                  f"page {pages}: the next link is absolute, https, with the request's Host {host}", link)
            q = urllib_parse_qs(link)
            check(q.get("companyId") == [C("paging")] and q.get("geography") == ["SE"],
                  f"page {pages}: the next link keeps the filters", link)
            if first_next is None:
                first_next = link
            r = pact("GET", link, c, host=host)
            if first_next_ids is None:
                first_next_ids = ids(data_of(r, "the first next link"))
        check_equal(pages, 3, f"5 footprints at limit=2 take 3 pages (Host {host})")
        check_equal(sorted(seen), expected, f"the pages visit every matching footprint exactly once (Host {host})")
        check(next_link(r) is None, "no next link on the last page", str(r.header_all("Link")))
    require(first_next, "a next link to call again")
    time.sleep(3)
    r = pact("GET", first_next, c)
    check_equal(r.status, 200, "a next link still works after 3 s")
    if r.status == 200:
        check_equal(ids(r.json()["data"]), first_next_ids, "a next link called again answers the same page")
    # The link is the client's: another client's token does not read through it more than its own list.
    g = client("greenmart")
    r = pact("GET", first_next, g)
    check(r.status != 200 or not set(ids(r.json().get("data") or [])) - {p for p in mine.docs if mine.org[p] == "greenmart"},
          "another organization's client following the link sees none of meadowgold's footprints", str(r))


def urllib_parse_qs(url):
    import urllib.parse
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


@test
def coalition_bad_input():
    fixtures()
    c = client("all")
    for q in ("limit=0", "limit=abc", "limit=-1", "validOn=not-a-date", "validAfter=yesterday", "validBefore=2025-13-45T00:00:00Z"):
        check_error(pact("GET", f"/3/footprints?{q}", c), 400, "BadRequest", f"GET /3/footprints?{q}")
    # Tokens: unknown, missing, another system's (a Coalition session), expired.
    check_error(pact("GET", "/3/footprints", token="x" * 43), 400, "BadRequest", "an unknown token")
    r = pact("GET", "/3/footprints")
    check_error(r, (400, 401), ("BadRequest", "AccessDenied"), "no Authorization")
    check_error(pact("GET", "/3/footprints", token=session(CLEARSPRING)), 400, "BadRequest",
                "a Coalition session token as the PACT bearer")
    r = https("GET", "/v1/me", headers={"Authorization": f"Bearer {bearer(c)}"})
    check_equal(r.status, 401, "the PACT bearer token on the Coalition API (/v1/me)")
    expired = expired_token(c)
    if expired is not None:
        r = pact("GET", "/3/footprints", token=expired)
        doc = r.json_or_none() or {}
        check_equal((r.status, doc.get("code")), (401, "TokenExpired"), "an expired token: 401 TokenExpired")
    # Malformed events.
    for what, body in (("not JSON", "{"),
                       ("no id", {k: v for k, v in cloud_event("RequestCreatedEvent", {"productId": [P("1")]}).items() if k != "id"}),
                       ("no specversion", {k: v for k, v in cloud_event("RequestCreatedEvent", {"productId": [P("1")]}).items()
                                           if k != "specversion"}),
                       ("an unknown type", dict(cloud_event("RequestCreatedEvent", {"productId": [P("1")]}),
                                                type="org.wbcsd.pact.ProductFootprint.NoSuchEvent.3")),
                       ("productId not a list", cloud_event("RequestCreatedEvent", {"productId": P("1")})),
                       ("a fulfilled event without pfs", cloud_event("RequestFulfilledEvent", {"requestEventId": "x"})),
                       ("data not an object", cloud_event("RequestCreatedEvent", "productId")),
                       ("a JSON array", [cloud_event("RequestCreatedEvent", {"productId": [P("1")]})])):
        r = post_event(c, body)
        check_error(r, 400, "BadRequest", f"POST /3/events, {what}")


def sql_text(value):
    return "'" + value.replace("'", "''") + "'"


def expired_token(c):
    """An access token of c that has expired, made by moving its expiry into the past in the
    database (the server's token table, found by its columns), or None when there is no such
    table (then the check fails: the server's tokens must expire)."""
    table = psql("SELECT c.table_name FROM information_schema.columns c WHERE c.table_schema NOT IN "
                 "('pg_catalog', 'information_schema') AND c.table_name LIKE 'pact%token%' AND c.column_name = 'expires_at' "
                 "ORDER BY 1 LIMIT 1").strip()
    if not check(table, "a table of PACT access tokens with expires_at (to expire one)", "none found"):
        return None
    r = token_response(c.client_id, c.client_secret)
    require(r.status == 200, "a fresh token to expire", str(r))
    tok = r.json()["access_token"]
    # The row of exactly this token when the table keeps its SHA-256 (bytea or hex), else the newest.
    hit = psql(f"UPDATE {table} SET expires_at = now() - interval '1 minute' WHERE token_hash::text IN "
               f"('\\x' || encode(sha256(convert_to({sql_text(tok)}, 'UTF8')), 'hex'), "
               f"encode(sha256(convert_to({sql_text(tok)}, 'UTF8')), 'hex')) RETURNING 1").strip()
    if not hit:
        note(f"expired the newest row of {table} (no row holds the token's SHA-256)")
        psql(f"UPDATE {table} SET expires_at = now() - interval '1 minute' WHERE ctid = "
             f"(SELECT ctid FROM {table} ORDER BY expires_at DESC LIMIT 1)")
    return tok


@test
def coalition_token_endpoint():
    c = client("all")
    r = token_response(c.client_id, "wrong")
    check(r.status in (400, 401) and (r.json_or_none() or {}).get("error") == "invalid_client",
          "a wrong secret: 401 (or 400) invalid_client", str(r))
    r = token_response(None, None)
    check(r.status in (400, 401) and (r.json_or_none() or {}).get("error") in ("invalid_client", "invalid_request"),
          "no credentials: 401 (or 400) invalid_client", str(r))
    for form, what in (("", "no grant_type"), ("grant_type=password&username=a&password=b", "grant_type=password"),
                       ("grant_type=authorization_code&code=x", "grant_type=authorization_code")):
        r = token_response(c.client_id, c.client_secret, form=form)
        check(r.status == 400 and (r.json_or_none() or {}).get("error") in ("unsupported_grant_type", "invalid_request"),
              f"{what}: 400 unsupported_grant_type or invalid_request", str(r))
        check("access_token" not in (r.json_or_none() or {}), f"{what}: no access_token")


@test
def coalition_openid_configuration():
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        doc = discovered_token_endpoint(host)
        endpoint = doc["token_endpoint"]
        check(endpoint.endswith("/auth/token"), f"token_endpoint ends in /auth/token (Host {host})", endpoint)
        check(endpoint.startswith(f"https://{host}/"), f"token_endpoint is https on the request's host {host}", endpoint)
        if "issuer" in doc:
            check(doc["issuer"].startswith(f"https://{host}"), f"issuer on the request's host {host}", doc["issuer"])


def request_and_answer(c, data, what):
    """Sends a RequestCreatedEvent from client c and waits for its answer at the receiver; returns
    (sent event, answer entry) — requires both."""
    event = cloud_event("RequestCreatedEvent", data)
    r = post_event(c, event)
    require(r.status == 200, f"{what}: POST /3/events RequestCreatedEvent: 200", str(r))
    answer = receiver.wait_answer(event["id"])
    require(answer, f"{what}: an answer reaches the receiver within {harness.EVENT_WAIT} s",
            f"{len(receiver.events)} events received, {len(receiver.answers_to(event['id'], only_ok=False))} answering it")
    return event, answer


def check_answer(c, event, answer, kind, what):
    doc = answer["json"]
    require(isinstance(doc, dict), f"{what}: the answer is a JSON object", short(answer["body"].decode("utf-8", "replace")))
    check_equal(doc.get("type"), f"org.wbcsd.pact.ProductFootprint.{kind}.3", f"{what}: type")
    check_schema(doc, kind, f"{what}: the answer")
    check_equal(doc.get("specversion"), "1.0", f"{what}: specversion")
    check(doc.get("id") and doc.get("id") != event["id"], f"{what}: an id of its own", doc.get("id"))
    check_equal((doc.get("data") or {}).get("requestEventId"), event["id"], f"{what}: data.requestEventId")
    ctype = answer["headers"].get("Content-Type") or answer["headers"].get("content-type") or ""
    check(ctype.startswith("application/cloudevents+json"), f"{what}: POSTed as application/cloudevents+json", ctype)
    check_equal(answer["client"], c.callback_id, f"{what}: with a token got with the client's callback credentials")
    return doc.get("data") or {}


@test
def coalition_async_fulfilled():
    fx = fixtures()
    c = client("all")
    discoveries, token_requests = receiver.discovery, len(receiver.token_requests)
    event, answer = request_and_answer(c, {"productId": [P("1"), P("4b"), P("draft")]}, "productId f1|f4|draft")
    data = check_answer(c, event, answer, "RequestFulfilledEvent", "fulfilled")
    pfs = data.get("pfs") or []
    check_equal(sorted(ids(pfs)), sorted([fx.id("f1"), fx.id("f4")]), "pfs: exactly the matching published footprints")
    for pf in pfs:
        check_schema(pf, "ProductFootprint", f"pfs {pf.get('id')}")
    check(receiver.discovery > discoveries, "the server read the receiver's /.well-known/openid-configuration")
    # The same event again (same source and id: a duplicate in CloudEvents' terms): accepted, not answered twice.
    r = post_event(c, event)
    check_equal(r.status, 200, "the same RequestCreatedEvent again: 200")
    time.sleep(3)
    check_equal(len(receiver.answers_to(event["id"])), 1, "a repeated request (same id) is answered once")
    used = [t["path"] for t in receiver.token_requests[token_requests:]]
    check("/oauth/token" in used, "the server took its token from the discovered token_endpoint (/oauth/token)", str(used))
    # The event's filters are the listing's: productId f1|f2 AND geography FR -> f2 only.
    event, answer = request_and_answer(c, {"productId": [P("1"), P("2")], "geography": ["FR"]}, "productId f1|f2, geography FR")
    data = check_answer(c, event, answer, "RequestFulfilledEvent", "fulfilled (two filters)")
    check_equal(ids(data.get("pfs") or []), [fx.id("f2")], "pfs: the filters AND-ed")
    event, answer = request_and_answer(c, {"productId": [P("v")], "status": ["Deprecated"]}, "productId versioned, status Deprecated")
    data = check_answer(c, event, answer, "RequestFulfilledEvent", "fulfilled (status)")
    check_equal(ids(data.get("pfs") or []), [fx.id("vo")], "pfs: the deprecated version only")


@test
def coalition_async_rejected():
    fixtures()
    c = client("all")
    event, answer = request_and_answer(c, {"productId": [P("nothing")]}, "a product nothing matches")
    data = check_answer(c, event, answer, "RequestRejectedEvent", "rejected")
    code = (data.get("error") or {}).get("code")
    check(code in ("NotFound", "BadRequest", "AccessDenied"), "data.error.code (NotFound expected)", short(data))
    check_equal(code, "NotFound", "data.error.code")
    event, answer = request_and_answer(c, {"productId": [P("draft")]}, "only a draft matches")
    data = check_answer(c, event, answer, "RequestRejectedEvent", "rejected (a draft)")


@test
def coalition_async_organization():
    fx = fixtures()
    g = client("greenmart")
    event, answer = request_and_answer(g, {"productId": [P("1")]}, "greenmart asks for clearspring's")
    check_answer(g, event, answer, "RequestRejectedEvent", "greenmart, another organization's footprint")
    event, answer = request_and_answer(g, {"productId": [P("3"), P("1")]}, "greenmart asks for its own and clearspring's")
    data = check_answer(g, event, answer, "RequestFulfilledEvent", "greenmart, its own")
    check_equal(ids(data.get("pfs") or []), [fx.id("f3")], "pfs: only greenmart's")


def pg_dump():
    """The coalition database's data (pg_dump --data-only of the newest PostgreSQL here, as the
    superuser on the cluster's socket)."""
    import glob
    import subprocess
    dumps = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), key=lambda p: int(p.split("/")[4].split(".")[0]))
    require(dumps, "a pg_dump under /usr/lib/postgresql")
    url = os.environ.get("COALITION_SUPERUSER_DATABASE_URL", "")
    require("dbname=" in url, "COALITION_SUPERUSER_DATABASE_URL names a database", url)
    url = re.sub(r"dbname=\S+", "dbname=coalition", url)
    p = subprocess.run([dumps[-1], "--data-only", "--no-owner", url], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=120)
    require(p.returncode == 0, "pg_dump --data-only of the coalition database", short(p.stderr))
    return p.stdout


@test
def coalition_secrets_at_rest():
    c = new_client("secrets")
    rows = psql("SELECT t::text FROM pact_clients t")
    check(c.client_id in rows, "pact_clients has the new client (its client_id)", f"{len(rows.splitlines())} rows")
    check(c.client_secret not in rows, "the client secret is not in pact_clients as plain text")
    check(c.callback_secret not in rows, "the callback secret is not in pact_clients as plain text")
    b64 = base64.b64encode(c.callback_secret.encode()).decode()
    check(b64 not in rows, "nor the callback secret in base64")
    # Nor anywhere else in the database (a data-only dump as the superuser), nor a live access token.
    token = bearer(c)
    dump = pg_dump()
    for what, secret in (("the client secret", c.client_secret), ("the callback secret", c.callback_secret),
                         ("the callback secret in base64", b64), ("an access token", token)):
        check(secret not in dump, f"{what} is nowhere in the database as plain text (pg_dump --data-only)")
    # The secret still works: the token endpoint compares against what is stored.
    check_equal(token_response(c.client_id, c.client_secret).status, 200, "the new client gets a token")
    # Without COALITION_SECRETS_KEY a client with callback credentials cannot be made.
    import subprocess
    env = {k: v for k, v in os.environ.items() if k != "COALITION_SECRETS_KEY"}
    p = subprocess.run([cfg.server_bin, "pact-clients", "create", "--name", f"nokey {cfg.run}",
                        "--callback-client-id", "x", "--callback-client-secret", "nokey-secret-" + cfg.run],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    check(p.returncode != 0, "pact-clients create with callback credentials and no COALITION_SECRETS_KEY fails",
          f"exit {p.returncode}: {short(p.stdout)}")
    check(("nokey-secret-" + cfg.run) not in psql("SELECT t::text FROM pact_clients t"), "and stores nothing of it")


@test
def coalition_retry_across_restart():
    fx = fixtures()
    c = client("all")
    event = cloud_event("RequestCreatedEvent", {"productId": [P("2")]})
    # The receiver refuses every attempt until the server has been stopped, so that only a
    # delivery that survives the restart can arrive.
    receiver.failing.add(event["id"])
    r = post_event(c, event)
    require(r.status == 200, "POST /3/events RequestCreatedEvent: 200", str(r))
    # Wait for the first attempt (answered 503), then stop the server at once.
    deadline = time.monotonic() + harness.EVENT_WAIT
    while event["id"] not in receiver.failed and time.monotonic() < deadline:
        time.sleep(0.01)
    require(event["id"] in receiver.failed and receiver.failed[event["id"]].wait(max(0.0, deadline - time.monotonic())),
            f"the first delivery attempt reaches the receiver within {harness.EVENT_WAIT} s")
    stopped = server.stop(timeout=15)
    require(stopped, "the server ends within 15 s of SIGTERM")
    check_equal(len(receiver.answers_to(event["id"])), 0, "nothing delivered before the restart")
    receiver.failing.discard(event["id"])
    require(server.start(), "the server starts again on the same database",
            open(os.path.join(cfg.work, "server.log"), errors="replace").read()[-1500:])
    forget_tokens()
    note(f"server restarted on port {server.port}")
    answer = receiver.wait_answer(event["id"], timeout=40)
    require(answer, "after the restart the answer is delivered (within 40 s)",
            f"{len(receiver.answers_to(event['id'], only_ok=False))} attempts")
    data = check_answer(c, event, answer, "RequestFulfilledEvent", "delivered after the restart")
    check_equal(ids(data.get("pfs") or []), [fx.id("f2")], "pfs")
    time.sleep(5)
    delivered = receiver.answers_to(event["id"])
    check_equal(len(delivered), 1, "delivered exactly once (answered 200 once, no repeat within 5 s)")
    attempts = receiver.answers_to(event["id"], only_ok=False)
    check(len(attempts) >= 2, "at least two attempts: the failed one and the delivery", str(len(attempts)))
    # Every attempt re-sends the same event (same id), so that a recipient can drop a repeat.
    sent_ids = {(a["json"] or {}).get("id") for a in attempts}
    check_equal(len(sent_ids), 1, "every attempt carries the same event id")
    # The server after the restart serves as before.
    check_equal(pact("GET", f"/3/footprints/{fx.id('f2')}", c).status, 200, "the restarted server answers GetFootprint")


if __name__ == "__main__":
    sys.exit(main())
