"""The console's browser tests: shared helpers and the runner (see test_console.py for the tests).

A test is a function registered with @test; the runner calls every one in order with one server
(started by scripts/console-test) and one Chromium. Checks are soft: `check(ok, page, what, detail)`
counts one check and records a failure without stopping the test; `require(...)` does the same but
ends the test (raises Abort) when the rest of it makes no sense without it. An exception in a test
counts as one failed check and the runner goes on with the next test.

Helpers for new tests:
  login(driver, email)                 log in through the form; returns the session cookie's value
  logout(driver)                       press the header's "Log out" button
  visit(driver, path)                  GET a console path in the browser, bounded wait for the load
  submit(driver, form_css, button=..)  press a form's submit button and wait for the next page
  fill(driver, {css: value})           type text, pick options, tick boxes, choose files (temp_file)
  messages(driver)                     the page's [role=status] and [role=alert] texts
  check_page(driver, name)             status and security headers (http.client), browser console
                                       errors, accessibility (light), contrast (light and dark),
                                       screenshots at 1280 and 375 px, and the page's server time
  http_get(path, cookie=..)            http.client GET, optionally with the session cookie or a token
  http_post_form(path, fields, cookie=..)   a urlencoded POST, as a browser's form sends it
  http_login(email)                    a console session without the browser: the cookie's value
  page_csrf(path, cookie)              the _csrf of the page's forms
  api_token(email) / api(method, path, email=.., body=..)   the JSON API with a bearer token
"""

import argparse
import http.client
import json
import math
import os
import re
import sys
import time
import traceback
import urllib.parse
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harnesskit import Abort, Registry, Response as BaseResponse, Results, summary  # noqa: E402

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DEMO_PASSWORD = "coalition-demo-2026"
ADMIN = "admin@coalition.example"            # coalition_admin
REVIEWER = "reviewer@coalition.example"      # coalition_admin
AUDITOR = "auditor@coalition.example"        # auditor
MEMBER_EDITOR = "editor@clearspring.example"  # member_editor
MEMBER_ADMIN = "admin@clearspring.example"   # member_admin
MEMBER_VIEWER = "viewer@clearspring.example"  # member_viewer
OTHER_EDITORS = ("editor@greenmart.example", "editor@swiftroute.example", "editor@meadowgold.example")

COOKIE = "coalition_console"
WAIT = 10           # seconds: every explicit wait in the browser
HTTP_TIMEOUT = 15   # seconds: every http.client request
TIMING_REQUESTS = 30
SCREEN_WIDTHS = (1280, 375)
MAX_SHOT_HEIGHT = 4000
MIN_TEXT_PX = 9     # the smallest rendered text, checked at 375 px (SVG text counts with its viewBox scale)


@dataclass
class Config:
    base: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    out: str = ""
    chromium: str = "/usr/bin/chromium"
    chromedriver: str = "/usr/bin/chromedriver"
    deadline: float = 0.0


cfg = Config()


# ---- checks ---------------------------------------------------------------------------------------

results = Results()


def check(ok, page, what, detail=""):
    """One check: counted, and recorded as a failure (page, check, detail) when not ok."""
    if ok:
        results.passed += 1
    else:
        line = f"FAIL [{page}] {what} (test {results.current_test})" + (f": {detail}" if detail else "")
        results.failures.append(line)
        print(line, flush=True)
    return bool(ok)


def check_equal(actual, expected, page, what):
    return check(actual == expected, page, what, f"got {actual!r}, expected {expected!r}")


def require(ok, page, what, detail=""):
    if not check(ok, page, what, detail):
        raise Abort(f"[{page}] {what}")


def note(message):
    print(f"console-test: {message}", flush=True)


# ---- HTTP (http.client, no redirects followed) -------------------------------------------------------

@dataclass
class Response(BaseResponse):
    elapsed_ms: float = 0.0

    @property
    def location_path(self):
        loc = self.header("Location")
        return urllib.parse.urlsplit(loc).path if loc else None


def connection():
    return http.client.HTTPConnection(cfg.host, cfg.port, timeout=HTTP_TIMEOUT)


def _send(conn, method, path, body=None, headers=None, cookie=None, token=None):
    h = {"Accept": "text/html,application/json;q=0.9,*/*;q=0.8"}
    if cookie is not None:
        h["Cookie"] = f"{COOKIE}={cookie}"
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    elapsed = (time.perf_counter() - start) * 1000
    return Response(r.status, r.reason, r.getheaders(), data, elapsed)


def http_request(method, path, body=None, headers=None, cookie=None, token=None):
    """One request on a new connection. `cookie` is the console session's value, `token` a bearer token."""
    conn = connection()
    try:
        return _send(conn, method, path, body, headers, cookie, token)
    finally:
        conn.close()


def http_get(path, cookie=None, token=None, headers=None):
    return http_request("GET", path, headers=headers, cookie=cookie, token=token)


def http_post_form(path, fields, cookie=None, headers=None):
    """A POST as an HTML form sends it: fields is a dict or a list of (name, value) pairs."""
    body = urllib.parse.urlencode(fields if isinstance(fields, list) else list(fields.items()))
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    return http_request("POST", path, body=body.encode(), headers=h, cookie=cookie)


def cookie_from(response):
    """The session cookie's value in a response's Set-Cookie, or None."""
    for v in response.header_all("Set-Cookie"):
        name, _, rest = v.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0]
    return None


def set_cookie_attributes(value):
    """Set-Cookie 'n=v; Path=/x; HttpOnly' -> {'path': '/x', 'httponly': True, ...} (names lowercased)."""
    attrs = {}
    for part in value.split(";")[1:]:
        k, eq, v = part.strip().partition("=")
        attrs[k.lower()] = v if eq else True
    return attrs


def http_login(email, password=DEMO_PASSWORD, headers=None):
    """POST /console/login as a form; returns (cookie value or None, the response)."""
    r = http_post_form("/console/login", {"email": email, "password": password}, headers=headers)
    return cookie_from(r), r


CSRF_RE = re.compile(r'<input[^>]*name="_csrf"[^>]*value="([^"]*)"|<input[^>]*value="([^"]*)"[^>]*name="_csrf"')


def csrf_in(html):
    m = CSRF_RE.search(html)
    return (m.group(1) or m.group(2)) if m else None


def page_csrf(path, cookie):
    """The _csrf value of the forms on a console page (the header's logout form has one)."""
    r = http_get(path, cookie=cookie)
    token = csrf_in(r.text)
    require(token, path, "page has a _csrf input", f"status {r.status}, no _csrf in the page")
    return token


_tokens = {}


def api_token(email, password=DEMO_PASSWORD):
    """A bearer token of the JSON API for a demo login (one per email, reused)."""
    if email not in _tokens:
        r = http_request("POST", "/v1/auth/login", json.dumps({"email": email, "password": password}).encode(),
                         headers={"Content-Type": "application/json", "Accept": "application/json"})
        require(r.status == 200, "/v1/auth/login", f"API login of {email}", f"status {r.status}: {r.text[:200]}")
        _tokens[email] = r.json()["token"]
    return _tokens[email]


def api(method, path, email=None, body=None, want=(200,)):
    """The JSON API as `email` (anonymous when None); requires a status in `want`; returns the JSON."""
    r = http_request(method, path, None if body is None else json.dumps(body).encode(),
                     headers={"Content-Type": "application/json", "Accept": "application/json"},
                     token=api_token(email) if email else None)
    require(r.status in want, path, f"{method} {path}", f"status {r.status}: {r.text[:200]}")
    return r.json() if r.body else None


SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def check_security_headers(response, page):
    """The headers every console response carries (pages, redirects, refusals)."""
    csp = response.header("Content-Security-Policy") or ""
    check(csp, page, "Content-Security-Policy present")
    if csp:
        check("'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, page,
              "Content-Security-Policy has no 'unsafe-inline'/'unsafe-eval'", csp)
        check("frame-ancestors 'none'" in csp, page, "Content-Security-Policy frame-ancestors 'none'", csp)
    check_equal((response.header("X-Frame-Options") or "").upper(), "DENY", page, "X-Frame-Options")
    check((response.header("Referrer-Policy") or "").lower() in SAFE_REFERRER_POLICIES, page,
          "Referrer-Policy", f"got {response.header('Referrer-Policy')!r}")
    check_equal((response.header("X-Content-Type-Options") or "").lower(), "nosniff", page, "X-Content-Type-Options")


# ---- the browser --------------------------------------------------------------------------------------

def new_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = cfg.chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--lang=en-US", "--window-size=1280,900", "--hide-scrollbars", "--force-color-profile=srgb"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(cfg.chromedriver))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(WAIT)
    return driver


def url(path):
    return cfg.base + path


def current_path(driver):
    u = urllib.parse.urlsplit(driver.current_url)
    return u.path + (f"?{u.query}" if u.query else "")


def wait_for(driver, condition, what, page=None, timeout=WAIT):
    """Waits (bounded) until condition(driver) is truthy; a timeout is a failed, test-ending check."""
    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        require(False, page or current_path(driver), f"waited {timeout} s for {what}", f"at {driver.current_url}")


def wait_loaded(driver):
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete", "the page to load")


def visit(driver, path):
    driver.get(url(path))
    wait_loaded(driver)


def submit(driver, form_css, page=None, button=None):
    """Presses a submit button of the form matching form_css (the first, or the one matching the CSS
    `button`, e.g. "button[value=approve]") and waits for the next page."""
    form = driver.find_element(By.CSS_SELECTOR, form_css)
    button = form.find_element(By.CSS_SELECTOR, button or "button[type=submit], button:not([type]), input[type=submit]")
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    wait_for(driver, lambda d: _stale(old), f"the page after submitting {form_css}", page)
    wait_loaded(driver)


def fill(driver, fields):
    """Fills form fields by CSS selector: {css: value}. A <select> takes the option's value, a
    checkbox or radio True/False, a file input a path (see temp_file), anything else text."""
    from selenium.webdriver.support.ui import Select
    for css, value in fields.items():
        el = driver.find_element(By.CSS_SELECTOR, css)
        kind = (el.get_attribute("type") or "").lower()
        if el.tag_name.lower() == "select":
            Select(el).select_by_value(value)
        elif kind in ("checkbox", "radio"):
            if el.is_selected() != bool(value):
                el.click()
        elif kind == "file":
            el.send_keys(value)
        else:
            el.clear()
            el.send_keys(value)


def temp_file(name, content):
    """Writes content (str or bytes) to a file in a fresh temporary directory; returns its path
    (for a file input: fill(driver, {"input[type=file]": temp_file("values.csv", "...")}))."""
    import tempfile
    path = os.path.join(tempfile.mkdtemp(prefix="console-test-"), name)
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    return path


def messages(driver):
    """The texts of the page's announcements: [role=status] (notices) and [role=alert] (errors)."""
    return {"status": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[role=status]")],
            "alert": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[role=alert]")]}


def _stale(element):
    try:
        element.tag_name
        return False
    except WebDriverException:
        return True


def session_cookie(driver):
    """The console session cookie as the browser holds it (a dict of Selenium's), or None."""
    for c in driver.get_cookies():
        if c["name"] == COOKIE:
            return c
    return None


def login(driver, email, password=DEMO_PASSWORD):
    """Logs in through the form (after forgetting any earlier session) and waits for the dashboard.
    Returns the session cookie's value."""
    visit(driver, "/console/login")
    driver.delete_all_cookies()
    visit(driver, "/console/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, "form[action='/console/login']", "login")
    require(urllib.parse.urlsplit(driver.current_url).path == "/console", "login",
            f"{email} lands on /console after logging in", f"at {driver.current_url}")
    cookie = session_cookie(driver)
    require(cookie, "login", f"{email} has a {COOKIE} cookie after logging in")
    drain_log(driver)
    return cookie["value"]


def logout(driver):
    """Presses the header's "Log out" button and waits for the login page."""
    submit(driver, "form[action='/console/logout']", current_path(driver))
    wait_for(driver, lambda d: urllib.parse.urlsplit(d.current_url).path == "/console/login", "the login page after logout")


def drain_log(driver):
    try:
        driver.get_log("browser")
    except WebDriverException:
        pass


def browser_errors(driver, allow_status=()):
    """SEVERE messages in the browser's console since the last call (which drains them). A failed
    load with a status in allow_status (e.g. the 401 of a wrong password) is expected, not an error."""
    errors = []
    for entry in driver.get_log("browser"):
        if entry.get("level") != "SEVERE":
            continue
        msg = entry.get("message", "")
        if any(f"status of {s} " in msg for s in allow_status):
            continue
        errors.append(msg)
    return errors


A11Y_JS = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "a11y.js"), encoding="utf-8").read()


def a11y_failures(driver, scheme="light", structure=True, contrast=True):
    return driver.execute_script(A11Y_JS, {"scheme": scheme, "structure": structure, "contrast": contrast})


def color_scheme(driver, scheme):
    """Emulates prefers-color-scheme: 'dark', 'light', or '' for the default."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": scheme}]})


_shots = set()

# The elements that stick out past the window's right edge (outside any scrolling box), innermost first.
OVERFLOW_JS = """
const out = [];
const scrolls = (e) => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
  const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; } return false; };
const one = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
  ((typeof e.className === 'string' && e.className.trim()) ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
for (const e of document.body.querySelectorAll('*')) {
  const r = e.getBoundingClientRect();
  if (r.right <= innerWidth + 0.5 || scrolls(e)) continue;
  if ([...e.children].some(c => c.getBoundingClientRect().right > innerWidth + 0.5)) continue;
  const path = [one(e)]; for (let p = e.parentElement; p && p !== document.body && path.length < 4; p = p.parentElement) path.unshift(one(p));
  const text = (e.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 40);
  out.push(`${path.join(' > ')}${text ? ' "' + text + '"' : ''} (right edge at ${Math.round(r.right)} px, ${Math.round(r.width)} px wide)`);
  if (out.length >= 4) break;
}
return out;
"""


def screenshot(driver, name, widths=SCREEN_WIDTHS, suffix=""):
    """<out>/<name><suffix>-<width>.png for each width, as tall as the page (at most 4000 px)."""
    os.makedirs(cfg.out, exist_ok=True)
    for width in widths:
        driver.set_window_size(width, 900)
        chrome = driver.execute_script("return window.outerHeight - window.innerHeight")
        height = driver.execute_script(
            "return Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)")
        height = min(max(int(height), 200), MAX_SHOT_HEIGHT)
        driver.set_window_size(width, height + max(int(chrome), 0))
        inner = driver.execute_script("return window.innerWidth")
        check_equal(inner, width, name, f"viewport width for the {width} px screenshot")
        if width <= 400:
            overflow = driver.execute_script("return document.documentElement.scrollWidth")
            check(overflow <= width, name, f"no horizontal scrolling at {width} px",
                  f"the page is {overflow} px wide; wider than the window: "
                  + "; ".join(driver.execute_script(OVERFLOW_JS)))
            small = driver.execute_script(A11Y_JS, {"structure": False, "contrast": False, "minTextPx": MIN_TEXT_PX})
            report_a11y(name, small, (f"text size {width}px",))
        driver.save_screenshot(os.path.join(cfg.out, f"{name}{suffix}-{width}.png"))
    driver.set_window_size(1280, 900)


A11Y_RULES = ("html lang", "page title", "one h1", "heading order", "field label", "img alt", "svg role", "svg name",
              "link text", "button text", "duplicate id", "form action", "form csrf")


A11Y_SHOWN = 6  # findings of one rule listed in full; the rest are counted


def report_a11y(page, failures, rules):
    """One check per rule: it fails naming every element the rule found (up to A11Y_SHOWN of them)."""
    by_rule = {}
    for f in failures:
        by_rule.setdefault(f["check"], []).append(f"{f['element']}: {f['detail']}")
    for rule in list(rules) + [r for r in by_rule if r not in rules]:
        found = by_rule.get(rule, [])
        more = f"\n      … and {len(found) - A11Y_SHOWN} more" if len(found) > A11Y_SHOWN else ""
        check(not found, page, f"a11y {rule}",
              f"{len(found)} element(s):" + "".join(f"\n      {d}" for d in found[:A11Y_SHOWN]) + more)


KEYBOARD_MARK_JS = """
// Every element a keyboard user must reach: visible, enabled controls and links, one stop per
// radio group (the others are reached with the arrow keys). Marked with data-kb, counted.
const seenGroups = new Set();
let n = 0;
for (const el of document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')) {
  el.removeAttribute('data-kb');
  if (el.disabled || el.type === 'hidden' || el.getAttribute('tabindex') === '-1') continue;
  const r = el.getBoundingClientRect();
  const hiddenAway = el.matches('.skip');  // parked off screen until it has focus
  if (!hiddenAway && (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden')) continue;
  if (el.type === 'radio') { if (seenGroups.has(el.name)) continue; seenGroups.add(el.name); el.setAttribute('data-kb', 'radio:' + el.name); n++; continue; }
  el.setAttribute('data-kb', String(n++));
}
document.activeElement && document.activeElement.blur();
window.scrollTo(0, 0);
return n;
"""

KEYBOARD_STEP_JS = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const st = getComputedStyle(el);
const ring = (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0) || (st.boxShadow && st.boxShadow !== 'none');
let mark = el.getAttribute('data-kb');
if (el.type === 'radio') mark = 'radio:' + el.name;
return {mark: mark, ring: !!ring, what: el.outerHTML.slice(0, 100)};
"""


def keyboard_walk(driver, max_steps=400):
    """Tabs from the top of the page through it, a bounded walk. Returns (total, reached, missing,
    unringed): the links and controls a keyboard user must reach, how many Tab reached, the ones
    it did not reach, and the ones that showed no focus indicator (outline or box-shadow)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    total = driver.execute_script(KEYBOARD_MARK_JS)
    reached, unringed, last = set(), [], None
    # A date input holds a stop per part (month, day, year): up to three Tabs per element.
    for _ in range(min(max_steps, total * 3 + 10)):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        step = driver.execute_script(KEYBOARD_STEP_JS)
        if step is None:
            break  # past the last stop: focus left the document
        if step["mark"] is not None:
            if step["mark"] == last:
                continue  # the next part of the same control
            if step["mark"] in reached:
                break  # wrapped around
            reached.add(step["mark"])
            last = step["mark"]
        if not step["ring"]:
            unringed.append(step["what"])
    missing = driver.execute_script(
        "return [...document.querySelectorAll('[data-kb]')].filter(e => !arguments[0].includes(e.getAttribute('data-kb')))"
        ".map(e => e.outerHTML.slice(0, 100))", sorted(reached))
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    return total, len(reached), missing, unringed


def check_keyboard(driver, name):
    total, reached, missing, unringed = keyboard_walk(driver)
    check(not missing, name, f"Tab reaches every link and control ({reached} of {total})", " | ".join(missing[:5]))
    check(not unringed, name, "every element Tab reaches shows a focus indicator", " | ".join(unringed[:5]))


def check_page(driver, name, *, expect_status=200, http=True, reload=True, dark=True, shots=True,
               timing=True, who=""):
    """Every generic check of the page the browser shows now, reported under `name`:
      - http: GET of the same path with the browser's session cookie via http.client: the status is
        expect_status and the security headers are there (pass http=False for a page that answers a
        POST, which a GET would not reproduce);
      - no SEVERE message in the browser's console (a failed load with expect_status is allowed);
      - accessibility and contrast in the light scheme, contrast again in the dark one (reloading the
        page under the emulated scheme when reload is true; pass reload=False for a POST's answer);
      - screenshots <name>-1280.png and <name>-375.png (and <name>-dark-1280.png), once per name, and
        with them, at 375 px: no horizontal scrolling and no text rendered under MIN_TEXT_PX; and a
        keyboard walk (Tab reaches every link and control, each with a focus indicator);
      - its server time (30 GETs on one keep-alive connection), once per name (needs http)."""
    path = current_path(driver)
    cookie = session_cookie(driver)
    cookie = cookie["value"] if cookie else None
    allow = (expect_status,) if expect_status != 200 else ()
    if http:
        r = http_get(path, cookie=cookie)
        check(r.status < 500, name, f"GET {path} is not a server error", f"status {r.status}")
        check_equal(r.status, expect_status, name, f"GET {path} status")
        check_security_headers(r, name)
    check(not (errs := browser_errors(driver, allow)), name, "no SEVERE browser console messages", " | ".join(errs))
    report_a11y(name, a11y_failures(driver, "light"), A11Y_RULES + ("contrast light", "field boundary light"))
    if dark:
        color_scheme(driver, "dark")
        try:
            if reload:
                driver.refresh()
                wait_loaded(driver)
            report_a11y(name, a11y_failures(driver, "dark", structure=False), ("contrast dark", "field boundary dark"))
            if shots and name not in _shots:
                screenshot(driver, name, widths=(1280,), suffix="-dark")
            check(not (errs := browser_errors(driver, allow)), name, "no SEVERE browser console messages (dark)",
                  " | ".join(errs))
        finally:
            color_scheme(driver, "")
    if shots and name not in _shots:
        check_keyboard(driver, name)
        screenshot(driver, name)
        _shots.add(name)
    if http and timing:
        measure(name, path, cookie, who)


# ---- links and route shapes --------------------------------------------------------------------------

ID_SEGMENT = re.compile(r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d+|CLC-[A-Z]+-\d+)$")
SKIPPED_PATHS = ("/console/logout",)
SKIPPED_PREFIXES = ("/console/assets/",)


def console_links(driver):
    """Same-origin GET links under /console on the current page (path?query, no fragment), in page
    order, without the logout action and asset URLs."""
    hrefs = driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")
    origin = urllib.parse.urlsplit(cfg.base)
    out = []
    for href in hrefs:
        u = urllib.parse.urlsplit(href)
        if (u.scheme, u.netloc) != (origin.scheme, origin.netloc):
            continue
        if not (u.path == "/console" or u.path.startswith("/console/")):
            continue
        if u.path in SKIPPED_PATHS or u.path.startswith(SKIPPED_PREFIXES):
            continue
        p = u.path + (f"?{u.query}" if u.query else "")
        if p not in out:
            out.append(p)
    return out


def _singular(word):
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def route_name(path):
    """A screenshot name for a console path, one per route shape: /console -> dashboard,
    /console/standards -> standards, /console/standards/<id> -> standard-detail,
    /console/projects/<id>/milestones -> project-milestones. The query is left out."""
    segments = [s for s in urllib.parse.urlsplit(path).path.split("/") if s][1:]
    if not segments:
        return "dashboard"
    parts = []
    for i, seg in enumerate(segments):
        if ID_SEGMENT.match(seg):
            if parts:
                parts[-1] = _singular(parts[-1])
            if i == len(segments) - 1:
                parts.append("detail")
        else:
            parts.append(re.sub(r"[^a-z0-9]+", "-", seg.lower()).strip("-"))
    return "-".join(parts) or "dashboard"


def who_of(email):
    """auditor@coalition.example -> auditor, editor@clearspring.example -> editor-clearspring."""
    local, _, domain = email.partition("@")
    org = domain.split(".")[0]
    return local if org == "coalition" else f"{local}-{org}"


# ---- server time ------------------------------------------------------------------------------------------

_timings = {}


def percentile(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def measure(name, path, cookie=None, who=""):
    """TIMING_REQUESTS GETs of path on one keep-alive connection (once per name and login)."""
    key = (name, who)
    if key in _timings:
        return
    conn = connection()
    samples, statuses = [], set()
    try:
        for _ in range(TIMING_REQUESTS):
            try:
                r = _send(conn, "GET", path, cookie=cookie)
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = connection()
                r = _send(conn, "GET", path, cookie=cookie)
            samples.append(r.elapsed_ms)
            statuses.add(r.status)
    finally:
        conn.close()
    _timings[key] = (path, percentile(samples, 0.5), percentile(samples, 0.9), sorted(statuses))


def timings_table():
    rows = [("page", "p50 ms", "p90 ms", "as", "status", "path")]
    for (name, who), (path, p50, p90, statuses) in _timings.items():
        rows.append((name, f"{p50:.1f}", f"{p90:.1f}", who or "-", ",".join(map(str, statuses)), path))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if i in (1, 2) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                     for r in rows)


# ---- the runner -----------------------------------------------------------------------------------------------

TESTS = Registry()
test = TESTS.test


def reset(driver):
    """Between tests: no emulation, the default window, no cookies."""
    try:
        color_scheme(driver, "")
        driver.set_window_size(1280, 900)
        visit(driver, "/console/login")
        driver.delete_all_cookies()
        drain_log(driver)
    except Exception as e:  # a broken browser shows in the next test
        note(f"could not reset the browser: {e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="The console's browser tests")
    ap.add_argument("--base", required=True, help="the server, e.g. http://127.0.0.1:8081")
    ap.add_argument("--out", required=True, help="screenshots and timings.txt")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    ap.add_argument("--budget", type=float, default=280, help="seconds for all tests; later tests fail")
    ap.add_argument("only", nargs="*", help="run only the tests whose name contains one of these")
    args = ap.parse_args(argv)
    u = urllib.parse.urlsplit(args.base)
    cfg.base, cfg.host, cfg.port = args.base.rstrip("/"), u.hostname, u.port
    cfg.out, cfg.chromium, cfg.chromedriver = args.out, args.chromium, args.chromedriver
    cfg.deadline = time.monotonic() + args.budget
    for p in (cfg.chromium, cfg.chromedriver):
        if not os.access(p, os.X_OK):
            print(f"console-test: {p} is missing", file=sys.stderr)
            return 1
    os.makedirs(cfg.out, exist_ok=True)
    if not args.only:
        # A full run's files only: none of an earlier run's pages that have since been renamed.
        for f in os.listdir(cfg.out):
            if f.endswith(".png") or f == "timings.txt":
                os.remove(os.path.join(cfg.out, f))
    chosen = [t for t in TESTS if not args.only or any(w in t.__name__ for w in args.only)]
    if not chosen:
        print(f"console-test: no test matches {args.only}", file=sys.stderr)
        return 1
    start = time.monotonic()
    driver = new_driver()
    try:
        for t in chosen:
            results.current_test = t.__name__
            if time.monotonic() > cfg.deadline:
                check(False, "-", f"{t.__name__} not run", f"the {args.budget:.0f} s budget is spent")
                continue
            t0 = time.monotonic()
            before = (results.passed, len(results.failures))
            try:
                t(driver)
            except Abort:
                pass
            except Exception as e:
                frames = [f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in traceback.extract_tb(e.__traceback__)
                          if os.path.dirname(os.path.abspath(f.filename)) == os.path.dirname(os.path.abspath(__file__))]
                message = (str(e).strip().splitlines() or [""])[0][:300]
                try:
                    where = current_path(driver)
                except Exception:
                    where = "-"
                check(False, where, f"{t.__name__} raised {type(e).__name__}", f"{message} (at {' < '.join(reversed(frames))})")
            note(f"{t.__name__}: {results.passed - before[0]} passed, {len(results.failures) - before[1]} failed "
                 f"({time.monotonic() - t0:.1f} s)")
            reset(driver)
    finally:
        try:
            driver.quit()
        except Exception:
            pass
    if _timings:
        table = timings_table()
        with open(os.path.join(cfg.out, "timings.txt"), "w") as f:
            f.write(f"# server time of each console page: {TIMING_REQUESTS} GETs on one keep-alive connection "
                    f"(http.client, with that login's session cookie)\n{table}\n")
        print(table)
    note(f"{len(chosen)} tests in {time.monotonic() - start:.1f} s; screenshots and timings.txt in {cfg.out}")
    return summary(results, "console-test")
