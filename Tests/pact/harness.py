"""The PACT conformance tests: shared helpers and the runner (see test_pact.py for the tests).

A test is a function registered with @test; the runner calls every one in order against one server
(started TLS-only by scripts/pact-test; a restart test may replace it with another on the same
database). Checks are soft, as in Tests/console: `check(ok, what, detail)` counts one check and
records a failure without stopping the test; `require(...)` does the same but ends the test (raises
Abort) when the rest of it makes no sense without it. An exception in a test counts as one failed
check and the runner goes on with the next test.

Helpers for new tests:
  pact(method, path, client=.., token=.., ...)    a /3 or /auth request over TLS; every 2xx footprint
                                                  body and every error body is schema-validated
  list_all(client, params)                        follows Link rel="next" through every page
  token_response(client_id, secret, ...)          POST /auth/token with Basic credentials
  client(name) / new_client(...)                  PACT clients (`coalition-server pact-clients create`)
  api(method, path, email, body)                  the Coalition API with a session token
  create_footprint / publish                      members' footprints through /v1
  receiver                                        the HTTPS callback receiver (events, tokens)
  server                                          the running server: port, restart()
  psql(sql)                                       the cluster's superuser on the coalition database
  validate(instance, schema_name)                 JSON Schema of components/schemas of the PACT document
"""

import argparse
import base64
import datetime
import http.client
import http.server
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harnesskit import Abort, Registry, Response as BaseResponse, Results, summary  # noqa: E402

import jsonschema
import jsonschema.validators
import yaml

DEMO_PASSWORD = "coalition-demo-2026"
ADMIN = "admin@coalition.example"
CLEARSPRING = "editor@clearspring.example"
GREENMART = "editor@greenmart.example"
MEADOWGOLD = "editor@meadowgold.example"

HTTP_TIMEOUT = 15       # seconds: every request
EVENT_WAIT = 20         # seconds: an answer to an asynchronous request reaches the receiver
MAX_PAGES = 200         # pages followed in one listing
CLOUDEVENTS = "application/cloudevents+json; charset=UTF-8"
EVENT_TYPE = "org.wbcsd.pact.ProductFootprint.{}.3"


@dataclass
class Config:
    server_bin: str = ""
    pid_file: str = ""
    work: str = ""
    certs: str = ""
    openapi: str = ""
    pg_local: str = ""
    announced: str = ""
    deadline: float = 0.0
    run: str = ""  # a random tag in every product, company and classification id of this run


cfg = Config()


# ---- checks ----------------------------------------------------------------------------------------

results = Results()


def check(ok, what, detail=""):
    """One check: counted, and recorded as a failure when not ok."""
    if ok:
        results.passed += 1
    else:
        line = f"FAIL [{results.current_test}] {what}" + (f": {detail}" if detail else "")
        results.failures.append(line)
        print(line, flush=True)
    return bool(ok)


def check_equal(actual, expected, what):
    return check(actual == expected, what, f"got {actual!r}, expected {expected!r}")


def require(ok, what, detail=""):
    if not check(ok, what, detail):
        raise Abort(what)


def note(message):
    print(f"pact-test: {message}", flush=True)


def short(value, n=300):
    s = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return s if len(s) <= n else s[:n - 1] + "…"


# ---- the PACT document's schemas ---------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def _date_time_ok(v):
    if not isinstance(v, str):
        return True
    if not _DATE_TIME.match(v):
        return False
    try:
        parse_time(v)
        return True
    except ValueError:
        return False


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("uuid")(lambda v: not isinstance(v, str) or bool(_UUID.match(v)))
_FORMATS.checks("date-time")(_date_time_ok)
_FORMATS.checks("decimal")(lambda v: not isinstance(v, str) or bool(_DECIMAL.match(v)))
_FORMATS.checks("urn")(lambda v: not isinstance(v, str) or v.lower().startswith("urn:"))
_FORMATS.checks("uri")(lambda v: not isinstance(v, str) or bool(urllib.parse.urlsplit(v).scheme))

_components = None
_validators = {}


def validate(instance, name):
    """The list of schema errors of `instance` against components/schemas/<name> (empty when valid),
    formats (uuid, date-time, decimal, urn, uri) included."""
    global _components
    if _components is None:
        with open(cfg.openapi) as f:
            _components = yaml.safe_load(f)["components"]
    if name not in _validators:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": _components,
                  "$ref": f"#/components/schemas/{name}"}
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validators[name] = cls(schema, format_checker=_FORMATS)
    errors = sorted(_validators[name].iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}" for e in errors]


def check_schema(instance, name, what):
    errors = validate(instance, name)
    return check(not errors, f"{what} is a valid {name}", "; ".join(errors[:5]))


# ---- time ----------------------------------------------------------------------------------------------

def parse_time(s):
    s = s.replace("z", "Z").replace("t", "T")
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    # fromisoformat of 3.11 takes any number of fraction digits; older ones 3 or 6.
    return datetime.datetime.fromisoformat(s)


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_years(t, years):
    try:
        return t.replace(year=t.year + years)
    except ValueError:  # 29 February
        return t.replace(year=t.year + years, day=28)


def validity(pf):
    """The footprint's validity period (start, end) as datetimes: its own, or the spec's default of
    three years from pcf.referencePeriodEnd."""
    ref_end = parse_time(pf["pcf"]["referencePeriodEnd"])
    start = parse_time(pf["validityPeriodStart"]) if pf.get("validityPeriodStart") else ref_end
    end = parse_time(pf["validityPeriodEnd"]) if pf.get("validityPeriodEnd") else add_years(ref_end, 3)
    return start, end


# ---- TLS and HTTP ----------------------------------------------------------------------------------------

@dataclass
class Response(BaseResponse):
    request: str = ""

    def json_or_none(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __str__(self):
        return f"{self.request} -> {self.status} {short(self.text, 240)}"


_client_context = None


def client_context():
    """Trusts the test CA only, checks the host name (127.0.0.1 is in the certificate)."""
    global _client_context
    if _client_context is None:
        ctx = ssl.create_default_context(cafile=os.path.join(cfg.certs, "ca.pem"))
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        _client_context = ctx
    return _client_context


def host_header():
    return f"127.0.0.1:{server.port}"


def base_url():
    return f"https://127.0.0.1:{server.port}"


def https(method, target, body=None, headers=None, host=None, timeout=HTTP_TIMEOUT):
    """One request on a new TLS connection to the server on 127.0.0.1. `target` is a path (with
    query) or an absolute https URL of this server (127.0.0.1 or localhost on its port), whose
    authority becomes the Host header; `host` sets the Host header for a path."""
    if target.startswith("http"):
        u = urllib.parse.urlsplit(target)
        require(u.scheme == "https", "an absolute URL of the server is https", target)
        require(u.hostname in ("127.0.0.1", "localhost") and u.port == server.port,
                "an absolute URL of the server names it (127.0.0.1 or localhost, its port)", target)
        host = host or u.netloc
        target = (u.path or "/") + (f"?{u.query}" if u.query else "")
    h = {"Accept": "application/json", "Host": host or host_header(), "Connection": "close"}
    h.update(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = body.encode()
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=timeout, context=client_context())
    try:
        conn.request(method, target, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data, f"{method} {target}")
    finally:
        conn.close()


def plain_http(request_bytes, timeout=5):
    """Sends raw bytes to the server's port without TLS; returns (what happened, bytes received):
    what is 'refused', 'closed', 'reset', 'timeout' or 'answered'."""
    received = b""
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
            s.sendall(request_bytes)
            deadline = time.monotonic() + timeout
            while len(received) < 1 << 20 and time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    return ("timeout" if not received else "answered"), received
                if not chunk:
                    break
                received += chunk
    except ConnectionRefusedError:
        return "refused", received
    except (ConnectionResetError, BrokenPipeError):
        return "reset", received
    except socket.timeout:
        return "timeout", received
    return ("answered" if received else "closed"), received


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_response(client_id, secret, form="grant_type=client_credentials", target="/auth/token", headers=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if client_id is not None:
        h["Authorization"] = basic(client_id, secret)
    h.update(headers or {})
    return https("POST", target, form, headers=h)


def query(params):
    """A query string from (name, value) pairs; values keep ':' as the official cases write them."""
    return "&".join(f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(str(v), safe=':')}" for k, v in params)


def pact(method, path, client=None, token=None, body=None, headers=None, host=None, content_type=None):
    """A request of the PACT API with the client's bearer token (or `token`). Every response body
    the spec defines is validated: a 200 of /3/footprints (list or one) item by item against
    ProductFootprint, and every 4xx/5xx against Error."""
    h = dict(headers or {})
    tok = token if token is not None else (bearer(client) if client else None)
    if tok is not None:
        h["Authorization"] = f"Bearer {tok}"
    if body is not None:
        h["Content-Type"] = content_type or "application/json"
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
    r = https(method, path, body, headers=h, host=host)
    check_pact_body(r)
    return r


def check_pact_body(r):
    """Validates a /3 response body against the PACT document."""
    where = r.request.split("?")[0]
    if 200 <= r.status < 300 and r.request.startswith("GET /3/footprints"):
        doc = r.json_or_none()
        if not check(isinstance(doc, dict) and "data" in doc, f"{where}: a JSON object with data", short(r.text)):
            return
        if isinstance(doc["data"], list):
            for i, pf in enumerate(doc["data"]):
                check_schema(pf, "ProductFootprint", f"{where} data[{i}] ({pf.get('id') if isinstance(pf, dict) else '?'})")
        else:
            check_schema(doc["data"], "ProductFootprint", f"{where} data")
    elif r.status >= 400:
        doc = r.json_or_none()
        if check(doc is not None, f"{where} -> {r.status}: a JSON error body", short(r.text)):
            check_schema(doc, "Error", f"{where} -> {r.status} body")


def check_error(r, statuses, codes, what):
    """The response is an error with one of the statuses and an Error body with one of the codes."""
    statuses = (statuses,) if isinstance(statuses, int) else tuple(statuses)
    codes = (codes,) if isinstance(codes, str) else tuple(codes)
    ok = check(r.status in statuses, f"{what}: status {' or '.join(map(str, statuses))}", str(r))
    doc = r.json_or_none()
    code = doc.get("code") if isinstance(doc, dict) else None
    check(code in codes, f"{what}: code {' or '.join(codes)}", f"got {short(r.text)}")
    check(isinstance(doc, dict) and isinstance(doc.get("message"), str) and doc["message"],
          f"{what}: a message", short(r.text))
    return ok


def data_of(r, what):
    """The `data` of a 200 answer (requires it)."""
    require(r.status == 200, f"{what}: 200", str(r))
    doc = r.json_or_none()
    require(isinstance(doc, dict) and "data" in doc, f"{what}: a JSON object with data", short(r.text))
    return doc["data"]


LINK_RE = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')


def links(response):
    """The Link header(s) as [(url, {param: value})] (RFC 8288; quoted values unquoted)."""
    out = []
    for value in response.header_all("Link"):
        for m in LINK_RE.finditer(value):
            params = {}
            for p in m.group(2).split(";"):
                p = p.strip()
                if not p:
                    continue
                k, _, v = p.partition("=")
                params[k.strip().lower()] = v.strip().strip('"')
            out.append((m.group(1), params))
    return out


def next_link(response):
    nexts = [u for u, p in links(response) if "next" in p.get("rel", "").split()]
    return nexts[0] if nexts else None


def list_all(client, params=(), host=None, what=None):
    """Every footprint of a listing, following Link rel="next" (at most MAX_PAGES pages).
    Returns (footprints, responses)."""
    what = what or f"GET /3/footprints?{query(params)}"
    r = pact("GET", "/3/footprints" + (f"?{query(params)}" if params else ""), client, host=host)
    found, responses = [], [r]
    for _ in range(MAX_PAGES):
        data = data_of(r, what)
        require(isinstance(data, list), f"{what}: data is a list", short(r.text))
        found.extend(data)
        link = next_link(r)
        if not link:
            return found, responses
        r = pact("GET", link, client)
        responses.append(r)
    require(False, f"{what}: the listing ends within {MAX_PAGES} pages")


def ids(footprints):
    return [pf.get("id") for pf in footprints]


# ---- the server -------------------------------------------------------------------------------------

LISTENING = re.compile(r"^coalition-server listening on (https?)://([^\s:/]+):(\d+)", re.M)


class Server:
    """The server under test: the one scripts/pact-test started, or the last one restart() started."""

    def __init__(self):
        self.port = 0
        self.scheme = ""
        self.pid = 0
        self.proc = None  # a Popen when this process started it
        self.starts = 0

    def adopt(self, announced, pid):
        u = urllib.parse.urlsplit(announced)
        self.scheme, self.port, self.pid = u.scheme, u.port, pid

    def alive(self):
        if self.proc is not None:
            return self.proc.poll() is None
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        try:
            with open(f"/proc/{self.pid}/status") as f:
                return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
        except OSError:
            return False

    def stop(self, timeout=15):
        """SIGTERM; waits (bounded) for the process to end. Returns True when it ended."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except OSError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None:
                if self.proc.poll() is not None:
                    return True
            elif not self.alive():
                return True
            time.sleep(0.05)
        return False

    def start(self, timeout=30):
        """Starts `coalition-server serve --host 127.0.0.1 --port 0` with this process's
        environment (database, TLS, secrets) and waits for its listening line."""
        self.starts += 1
        out_path = os.path.join(cfg.work, f"server-{self.starts + 1}.out")
        with open(out_path, "wb") as out, open(os.path.join(cfg.work, "server.log"), "ab") as err:
            proc = subprocess.Popen([cfg.server_bin, "serve", "--host", "127.0.0.1", "--port", "0"],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        with open(cfg.pid_file, "a") as f:
            f.write(f"{proc.pid}\n")
        self.proc, self.pid = proc, proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(out_path, errors="replace") as f:
                m = LISTENING.search(f.read())
            if m:
                self.scheme, self.port = m.group(1), int(m.group(3))
                return True
            if proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False


server = Server()


# ---- PACT clients ------------------------------------------------------------------------------------

@dataclass
class Client:
    name: str
    client_id: str
    client_secret: str
    organization: str = None
    callback_id: str = None
    callback_secret: str = None


_clients = {}
_bearers = {}


def new_client(name, organization=None, callback=True):
    """`coalition-server pact-clients create`; with callback credentials (random) when callback."""
    args = [cfg.server_bin, "pact-clients", "create", "--name", f"{name} {cfg.run}"]
    if organization:
        args += ["--organization", organization]
    cb_id = cb_secret = None
    if callback:
        cb_id, cb_secret = f"cb-{name}-{cfg.run}", "cbs-" + secrets.token_urlsafe(24)
        args += ["--callback-client-id", cb_id, "--callback-client-secret", cb_secret]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    require(p.returncode == 0, f"pact-clients create --name {name} exits 0", f"exit {p.returncode}: {short(p.stderr)}")
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    require(len(lines) == 1, "pact-clients create prints one line", short(p.stdout))
    try:
        doc = json.loads(lines[0])
    except ValueError:
        doc = None
    require(isinstance(doc, dict) and isinstance(doc.get("client_id"), str) and isinstance(doc.get("client_secret"), str)
            and doc["client_id"] and doc["client_secret"],
            "pact-clients create prints {\"client_id\", \"client_secret\"}", short(p.stdout))
    c = Client(name, doc["client_id"], doc["client_secret"], organization, cb_id, cb_secret)
    if callback:
        receiver.credentials[cb_id] = cb_secret
    return c


def client(name):
    """The run's clients, made on first use: 'all' (no organization), 'greenmart' (organization
    greenmart); both with callback credentials."""
    if name not in _clients:
        _clients[name] = new_client(name, organization={"all": None, "greenmart": "greenmart"}[name])
    return _clients[name]


def bearer(c):
    """An access token of client c (cached until forget_tokens)."""
    if c.client_id not in _bearers:
        r = token_response(c.client_id, c.client_secret)
        require(r.status == 200, f"POST /auth/token for client {c.name}: 200", str(r))
        doc = r.json_or_none()
        require(isinstance(doc, dict) and isinstance(doc.get("access_token"), str) and doc["access_token"],
                "the token response has an access_token", short(r.text))
        _bearers[c.client_id] = doc["access_token"]
    return _bearers[c.client_id]


def forget_tokens():
    _bearers.clear()


# ---- the Coalition API ----------------------------------------------------------------------------------

_sessions = {}


def session(email):
    if email not in _sessions:
        r = https("POST", "/v1/auth/login", json.dumps({"email": email, "password": DEMO_PASSWORD}),
                  headers={"Content-Type": "application/json"})
        require(r.status == 200, f"POST /v1/auth/login as {email}", str(r))
        _sessions[email] = r.json()["token"]
    return _sessions[email]


def api(method, path, email, body=None, want=(200,)):
    r = https(method, path, None if body is None else json.dumps(body),
              headers={"Content-Type": "application/json", "Authorization": f"Bearer {session(email)}"})
    require(r.status in want, f"{method} {path} as {email}: {' or '.join(map(str, want))}", str(r))
    return r.json() if r.body else None


def create_footprint(email, doc, preceding=None):
    """POST /v1/footprints: a draft. Returns the Coalition record (id, state, footprint, …)."""
    body = dict(doc)
    if preceding:
        body["precedingPfIds"] = list(preceding)
    rec = api("POST", "/v1/footprints", email, {"footprint": body}, want=(201,))
    require(isinstance(rec, dict) and rec.get("state") == "draft" and isinstance(rec.get("footprint"), dict)
            and rec["footprint"].get("id"), "POST /v1/footprints answers a draft with its footprint", short(rec))
    return rec


def publish(email, rec):
    out = api("POST", f"/v1/footprints/{rec['id']}/publish", email)
    require(isinstance(out, dict) and out.get("state") == "published", f"publish {rec['id']}: state published", short(out))
    check_equal(out["footprint"].get("status"), "Active", f"publish {rec['id']}: the footprint's status")
    return out


def footprint_doc(name, product_ids, company_ids, classifications=None, country="DE", period=None,
                  reference=("2022-01-01T00:00:00Z", "2022-12-31T23:59:59Z"), company="Pact Test Company"):
    """A PACT v3 ProductFootprint without the server's fields (id, specVersion, created, status)."""
    doc = {
        "companyName": company,
        "companyIds": list(company_ids),
        "productDescription": f"{name} (pact-test {cfg.run})",
        "productIds": list(product_ids),
        "productNameCompany": name,
        "comment": "made by scripts/pact-test",
        "pcf": {
            "declaredUnitOfMeasurement": "kilogram",
            "declaredUnitAmount": "1",
            "productMassPerDeclaredUnit": "1",
            "referencePeriodStart": reference[0],
            "referencePeriodEnd": reference[1],
            "geographyCountry": country,
            "boundaryProcessesDescription": "Cradle-to-gate",
            "pcfExcludingBiogenicUptake": "2.56",
            "pcfIncludingBiogenicUptake": "2.31",
            "fossilGhgEmissions": "2.5",
            "fossilCarbonContent": "0.7",
            "biogenicCarbonContent": "0.1",
            "biogenicCO2Uptake": "-0.25",
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067", "GHGP-Product"],
            "exemptedEmissionsPercent": "0.5",
            "packagingEmissionsIncluded": False,
        },
    }
    if classifications:
        doc["productClassifications"] = list(classifications)
    if period:
        doc["validityPeriodStart"], doc["validityPeriodEnd"] = period
    return doc


# ---- the database ------------------------------------------------------------------------------------------

def psql(sql):
    """Runs SQL as the cluster's superuser on the coalition database (scripts/pg-local psql);
    returns stdout (unaligned, tuples only)."""
    p = subprocess.run([cfg.pg_local, "psql", "-At", "-c", sql], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    require(p.returncode == 0, f"psql: {short(sql, 80)}", short(p.stderr))
    return p.stdout


# ---- the callback receiver ------------------------------------------------------------------------------------

class Receiver:
    """An HTTPS server of the test's own (certificate signed by the test CA) standing in for a data
    recipient: its discovery document names /oauth/token; /oauth/token and /auth/token take the
    client_credentials grant with the callback credentials of a registered client; POST /3/events
    records each event (answering 503 once for request ids in fail_once)."""

    def __init__(self):
        self.lock = threading.Condition()
        self.credentials = {}     # callback client id -> secret
        self.tokens = {}          # access token -> callback client id
        self.events = []          # dicts: path, headers, body, json, status, client, at
        self.token_requests = []  # dicts: path, client, status
        self.discovery = 0
        self.fail_once = set()    # requestEventIds: the first POST of an answer to them gets 503
        self.failing = set()      # requestEventIds: every POST of an answer to them gets 503 while listed
        self.failed = {}          # requestEventId -> threading.Event, set once the 503 is sent
        self.httpd = None
        self.port = 0

    @property
    def base(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(cfg.certs, "receiver.pem"), os.path.join(cfg.certs, "receiver.key"))
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def log_message(self, *args):
                pass

            def setup(self):
                self.request.do_handshake()  # in this thread, not the accepting one
                super().setup()

            def answer(self, status, body=b"", content_type="application/json"):
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def read_body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(min(n, 16 << 20)) if n > 0 else b""

            def do_GET(self):
                if self.path.split("?")[0] == "/.well-known/openid-configuration":
                    with rec.lock:
                        rec.discovery += 1
                    self.answer(200, {"issuer": rec.base, "token_endpoint": rec.base + "/oauth/token",
                                      "grant_types_supported": ["client_credentials"],
                                      "token_endpoint_auth_methods_supported": ["client_secret_basic"]})
                else:
                    self.answer(404, {"code": "NotFound", "message": "no such path"})

            def do_POST(self):
                path = self.path.split("?")[0]
                body = self.read_body()
                if path in ("/oauth/token", "/auth/token"):
                    self.token(path, body)
                elif path == "/3/events":
                    self.event(body)
                else:
                    self.answer(404, {"code": "NotFound", "message": "no such path"})

            def token(self, path, body):
                who = None
                auth = self.headers.get("Authorization") or ""
                if auth.lower().startswith("basic "):
                    try:
                        cid, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
                        cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
                        if rec.credentials.get(cid) == secret:
                            who = cid
                    except (ValueError, UnicodeDecodeError):
                        pass
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                if who is None:
                    status, out = 401, {"error": "invalid_client", "error_description": "unknown callback credentials"}
                elif form.get("grant_type") != ["client_credentials"]:
                    status, out = 400, {"error": "unsupported_grant_type"}
                else:
                    tok = secrets.token_urlsafe(24)
                    with rec.lock:
                        rec.tokens[tok] = who
                    status, out = 200, {"access_token": tok, "token_type": "Bearer", "expires_in": 3600}
                with rec.lock:
                    rec.token_requests.append({"path": path, "client": who, "status": status})
                self.answer(status, out)

            def event(self, body):
                auth = self.headers.get("Authorization") or ""
                tok = auth[7:].strip() if auth.lower().startswith("bearer ") else None
                with rec.lock:
                    who = rec.tokens.get(tok)
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = None
                data = doc.get("data") if isinstance(doc, dict) else None
                req_id = data.get("requestEventId") if isinstance(data, dict) else None
                fail_now = False
                if who is None:
                    status = 400
                else:
                    with rec.lock:
                        if req_id in rec.fail_once and req_id not in rec.failed:
                            rec.failed[req_id] = threading.Event()
                            fail_now = True
                        elif req_id in rec.failing:
                            rec.failed.setdefault(req_id, threading.Event())
                            fail_now = True
                    status = 503 if fail_now else 200
                entry = {"path": "/3/events", "headers": dict(self.headers.items()), "body": body, "json": doc,
                         "status": status, "client": who, "at": time.monotonic()}
                if status == 400:
                    self.answer(400, {"code": "BadRequest", "message": "no valid bearer token"})
                elif fail_now:
                    self.answer(503, {"code": "InternalError", "message": "try again later"})
                else:
                    self.answer(200)
                with rec.lock:
                    rec.events.append(entry)
                    if fail_now:
                        rec.failed[req_id].set()
                    rec.lock.notify_all()

        class Httpd(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, addr = self.socket.accept()
                sock.settimeout(30)
                return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

            def handle_error(self, request, client_address):
                pass  # a client that went away (e.g. a server being stopped)

        self.httpd = Httpd(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def answers_to(self, request_id, only_ok=True):
        """The events POSTed with data.requestEventId == request_id (those answered 200 when only_ok)."""
        with self.lock:
            return self._answers(request_id, only_ok)

    def _answers(self, request_id, only_ok=True):
        return [e for e in self.events
                if isinstance(e["json"], dict) and isinstance(e["json"].get("data"), dict)
                and e["json"]["data"].get("requestEventId") == request_id and (not only_ok or e["status"] == 200)]

    def wait_answer(self, request_id, timeout=EVENT_WAIT):
        """Waits (bounded) for an answer (answered 200) to the request; returns it or None."""
        deadline = min(time.monotonic() + timeout, cfg.deadline)
        with self.lock:
            while True:
                found = self._answers(request_id)
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(min(left, 0.5))


receiver = Receiver()


def cloud_event(kind, data, event_id=None, source=None):
    return {"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": source or receiver.base,
            "time": now_rfc3339(), "type": EVENT_TYPE.format(kind), "data": data}


def post_event(c, event, token=None, content_type=CLOUDEVENTS):
    body = event if isinstance(event, (str, bytes)) else json.dumps(event)
    return pact("POST", "/3/events", c, token=token, body=body, content_type=content_type)


# ---- the runner ------------------------------------------------------------------------------------------------

TESTS = Registry()
test = TESTS.test


def main(argv=None):
    ap = argparse.ArgumentParser(description="PACT v3 conformance tests of coalition-server")
    ap.add_argument("--announced", required=True, help="the server's listening URL, e.g. https://127.0.0.1:8443")
    ap.add_argument("--server", required=True, help="the coalition-server binary")
    ap.add_argument("--pid-file", required=True, help="the server process ids (the first is the running one)")
    ap.add_argument("--work", required=True, help="the temporary directory (server logs)")
    ap.add_argument("--certs", required=True, help="ca.pem, receiver.pem, receiver.key")
    ap.add_argument("--openapi", required=True, help="the PACT OpenAPI document")
    ap.add_argument("--pg-local", required=True, help="scripts/pg-local")
    ap.add_argument("--budget", type=float, default=280, help="seconds for all tests; later tests fail")
    ap.add_argument("only", nargs="*", help="run only the tests whose name contains one of these")
    args = ap.parse_args(argv)
    cfg.server_bin, cfg.pid_file, cfg.work, cfg.certs = args.server, args.pid_file, args.work, args.certs
    cfg.openapi, cfg.pg_local, cfg.announced = args.openapi, args.pg_local, args.announced
    cfg.deadline = time.monotonic() + args.budget
    cfg.run = secrets.token_hex(4)
    with open(cfg.pid_file) as f:
        pids = [int(line) for line in f if line.strip()]
    server.adopt(args.announced, pids[-1])
    chosen = [t for t in TESTS if not args.only or any(w in t.__name__ for w in args.only)]
    if not chosen:
        print(f"pact-test: no test matches {args.only}", file=sys.stderr)
        return 1
    receiver.start()
    note(f"run {cfg.run}: server on port {server.port} (announced {args.announced}), receiver on {receiver.base}")
    start = time.monotonic()
    for t in chosen:
        results.current_test = t.__name__
        before = (results.passed, len(results.failures))
        t0 = time.monotonic()
        if time.monotonic() > cfg.deadline:
            check(False, f"{t.__name__} not run", f"the {args.budget:.0f} s budget is spent")
        else:
            try:
                t()
            except Abort:
                pass
            except Exception as e:
                frames = [f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in traceback.extract_tb(e.__traceback__)
                          if os.path.dirname(os.path.abspath(f.filename)) == os.path.dirname(os.path.abspath(__file__))]
                message = (str(e).strip().splitlines() or [""])[0][:300]
                check(False, f"{t.__name__} raised {type(e).__name__}", f"{message} (at {' < '.join(reversed(frames))})")
        passed, failed = results.passed - before[0], len(results.failures) - before[1]
        results.per_test.append((t.__name__, passed, failed, time.monotonic() - t0))
        note(f"{'ok  ' if not failed else 'FAIL'} {t.__name__}: {passed} passed, {failed} failed ({time.monotonic() - t0:.1f} s)")
    try:
        receiver.httpd.shutdown()
    except Exception:
        pass
    bad = [name for name, _, failed, _ in results.per_test if failed]
    note(f"{len(chosen)} tests in {time.monotonic() - start:.1f} s: {len(chosen) - len(bad)} passed, {len(bad)} failed"
         + (f" ({', '.join(bad)})" if bad else ""))
    return summary(results, "pact-test")
