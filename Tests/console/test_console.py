"""The console's browser tests, run in order by scripts/console-test against one server with the demo
coalition (see harness.py for the helpers and the runner). A new test is a function decorated with
@test that takes the driver; it may log in as anyone (login() forgets the earlier session first), and
the runner resets the browser (cookies, window, colour scheme) after it.

    python3 Tests/console/test_console.py --base http://127.0.0.1:PORT --out DIR [name ...]

A page-specific test, for instance (the helpers are in harness.py):

    @test
    def admin_approves_a_standard_in_review(driver):
        login(driver, ADMIN)
        standard = next(s for s in api("GET", "/v1/standards?limit=500", ADMIN)["items"] if s["status"] == "in_review")
        visit(driver, f"/console/standards/{standard['id']}")
        submit(driver, "form[action$='/reviews']", button="button[value=approve]")
        check(messages(driver)["status"], "standard-detail", "a notice after approving")
        check_equal(api("GET", f"/v1/standards/{standard['id']}", ADMIN)["status"], "approved", ...)
        check_page(driver, "standard-approved")
"""

import datetime
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

import harness  # noqa: E402
from harness import (  # noqa: E402
    ADMIN, AUDITOR, COOKIE, DEMO_PASSWORD, MEMBER_EDITOR, a11y_failures, api, api_token, check, check_equal,
    check_page, check_security_headers, color_scheme, console_links, cookie_from, current_path, drain_log,
    fill, http_get, http_login, http_post_form, http_request, login, logout, main, messages, page_csrf, require, route_name,
    session_cookie, set_cookie_attributes, submit, temp_file, test, visit, who_of,
)


# ---- the checker itself ----------------------------------------------------------------------------------

BAD_PAGE = """<!doctype html><html><head><title>bad</title><style>
.low { color: #999999; background: #ffffff; }
@media (prefers-color-scheme: dark) { body { background: #101010; color: #eeeeee; } .dim { color: #333333; } }
svg text { font-size: 12px; }
</style></head><body>
<h1>One</h1><h1>Two</h1><h3>Skipped a level</h3>
<p class="low">grey on white</p><p class="dim">dim only in the dark</p>
<span class="low" style="position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)">visually hidden</span>
<a class="low" href="#x" style="position:absolute;left:-10000px">parked skip link</a>
<input id="nolabel" type="text"><label>Wrapped <input type="text" id="ok1"></label>
<label for="ok2">For</label><input id="ok2" style="border: 1px solid #eeeeee; background: #ffffff"><input aria-label="named" id="ok3"><input type="hidden" name="h">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<svg width="10" height="10"><rect width="10" height="10"/></svg>
<svg width="10" height="10" aria-hidden="true"><rect width="10" height="10"/></svg>
<svg role="img" aria-label="ok" viewBox="0 0 300 100" width="100"><text x="0" y="50">tiny</text></svg>
<a href="/x"></a><button></button><button aria-label="named"></button>
<p id="dup">a</p><p id="dup">b</p>
<form method="post" action="/console/something"><button>Go</button></form>
</body></html>"""

EXPECTED_FINDINGS = {"html lang", "one h1", "heading order", "contrast light", "field label", "img alt", "svg role",
                     "svg name", "link text", "button text", "duplicate id", "form csrf", "field boundary light"}


@test
def checker_finds_defects(driver):
    """The accessibility checker on a page made to fail: every rule must find its defect (and only
    the defective elements), or a passing console proves nothing."""
    page = "checker self-test"
    driver.get("data:text/html;charset=utf-8," + urllib.parse.quote(BAD_PAGE))
    light = a11y_failures(driver, "light")
    found = {f["check"] for f in light}
    for rule in sorted(EXPECTED_FINDINGS):
        check(rule in found, page, f"the checker finds a '{rule}' defect", f"it found {sorted(found)}")
    check(found <= EXPECTED_FINDINGS, page, "the checker finds nothing else",
          str([f for f in light if f["check"] not in EXPECTED_FINDINGS]))
    fields = [f["element"] for f in light if f["check"] == "field label"]
    check(len(fields) == 1 and "#nolabel" in fields[0], page, "only the unlabelled input lacks a label", str(fields))
    svgs = [f["element"] for f in light if f["check"] in ("svg role", "svg name")]
    check(len(svgs) == 2, page, "only the unnamed svg is flagged (not the aria-hidden one)", str(svgs))
    buttons = [f for f in light if f["check"] == "button text"]
    check(len(buttons) == 1, page, "only the empty button is flagged", str(buttons))
    low = [f["detail"] for f in light if f["check"] == "contrast light"]
    check(len(low) == 1 and "2.85" in low[0], page, "grey #999 on white: ratio 2.85", str(low))
    color_scheme(driver, "dark")
    dark = {f["element"]: f["detail"] for f in a11y_failures(driver, "dark", structure=False)}
    check(any("p.dim" in e for e in dark), page, "the dark scheme's low contrast is found", str(dark))
    color_scheme(driver, "")
    driver.set_window_size(375, 900)
    small = driver.execute_script(harness.A11Y_JS, {"structure": False, "contrast": False, "minTextPx": harness.MIN_TEXT_PX})
    check(any("tiny" in f["element"] for f in small), page, "SVG text scaled below the minimum size is found", str(small))
    driver.set_window_size(1280, 900)
    drain_log(driver)


# ---- logging in -----------------------------------------------------------------------------------------

KEYBOARD_BAD_PAGE = """<!doctype html><html lang="en"><head><title>keys</title><style>
:focus { outline: 3px solid blue; } .bare:focus { outline: none; }
</style></head><body><h1>Keys</h1>
<a href="#a">reached</a> <button class="bare">reached, no ring</button>
<div inert><input aria-label="never reached"></div>
<label><input type="radio" name="g" value="1"> one</label><label><input type="radio" name="g" value="2"> two</label>
<input type="date" aria-label="a date"> <a href="#b">last</a>
</body></html>"""


@test
def keyboard_checker_finds_defects(driver):
    """The keyboard walk on a page made to fail: it finds the control Tab cannot reach and the one
    without a focus indicator, and counts a radio group and a date input once each."""
    page = "keyboard self-test"
    driver.get("data:text/html;charset=utf-8," + urllib.parse.quote(KEYBOARD_BAD_PAGE))
    total, reached, missing, unringed = harness.keyboard_walk(driver)
    check_equal(total, 6, page, "links and controls to reach (one per radio group)")
    check(len(missing) == 1 and "never reached" in missing[0], page, "the inert input is found unreached", str(missing))
    check_equal(reached, 5, page, "the others are reached, the date input once")
    check(len(unringed) == 1 and "bare" in unringed[0], page, "the button without a ring is found", str(unringed))


@test
def login_page(driver):
    """The login form as a visitor without a session sees it."""
    visit(driver, "/console/login")
    page = "login"
    check_equal(driver.find_element(By.TAG_NAME, "h1").text, "Log in", page, "heading")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/console/login']")
    check_equal((form.get_attribute("method") or "").lower(), "post", page, "the login form's method")
    check_equal(driver.find_element(By.ID, "email").get_attribute("type"), "email", page, "email input type")
    check_equal(driver.find_element(By.ID, "password").get_attribute("type"), "password", page, "password input type")
    check(not driver.find_elements(By.CSS_SELECTOR, "form[action='/console/logout']"), page,
          "no logout form without a session")
    check_page(driver, page)


@test
def keyboard_focus_on_login(driver):
    """Tab reaches email, password and the submit button in that order, each with a visible focus
    indicator (outline or box-shadow) that stands out from its background (3:1), light and dark."""
    page = "login"
    for scheme in ("light", "dark"):
        color_scheme(driver, scheme)
        visit(driver, "/console/login")
        driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
        seen = []
        for _ in range(8):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            seen.append(driver.execute_script("return document.activeElement.id || document.activeElement.tagName"))
            if driver.execute_script("return document.activeElement.matches('a[href=\"#main\"], a.skip')"):
                # A skip link must come on screen once it has focus.
                rect = driver.execute_script("const r = document.activeElement.getBoundingClientRect();"
                                             "return [r.left, r.top, r.right, r.bottom, innerWidth, innerHeight]")
                check(rect[0] >= 0 and rect[1] >= 0 and rect[2] <= rect[4] and rect[3] <= rect[5], page,
                      f"the focused skip link is on screen ({scheme})", f"its box is {rect[:4]}")
            if seen[-1] == "email":
                break
        require(seen[-1] == "email", page, f"Tab reaches the email input ({scheme})", f"focus went {seen}")
        order = [("email", "#email"), ("password", "#password"), ("submit button", "form[action='/console/login'] button")]
        for i, (what, css) in enumerate(order):
            if i > 0:
                ActionChains(driver).send_keys(Keys.TAB).perform()
            focused = driver.execute_script("return document.activeElement === document.querySelector(arguments[0])", css)
            check(focused, page, f"Tab order reaches the {what} ({scheme})",
                  f"focus is on {driver.execute_script('return document.activeElement.outerHTML.slice(0, 120)')}")
            if not focused:
                continue
            ring = driver.execute_script(FOCUS_RING_JS)
            check(ring["visible"], page, f"the focused {what} shows a focus indicator ({scheme})", ring["detail"])
            if ring["visible"] and ring.get("ratio") is not None:
                check(ring["ratio"] >= 3, page, f"the {what}'s focus indicator contrast ≥ 3 ({scheme})", ring["detail"])
    color_scheme(driver, "")


FOCUS_RING_JS = """
const el = document.activeElement, st = getComputedStyle(el);
const outline = st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0;
const shadow = st.boxShadow && st.boxShadow !== 'none';
const parse = (s) => { const m = /rgba?\\(([^)]+)\\)/.exec(s || ''); if (!m) return null;
  const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
let bg = null;
// The ring is drawn outside the element (outline-offset): what is behind it is the parent's background.
for (let e = el.parentElement; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a >= 1) { bg = c; break; } }
bg = bg || {r: 255, g: 255, b: 255, a: 1};
let ratio = null, color = null;
if (outline) { color = parse(st.outlineColor); if (color) { const a = lum(color), b = lum(bg); ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); } }
return {visible: outline || !!shadow, ratio: ratio,
        detail: `outline ${st.outlineStyle} ${st.outlineWidth} ${st.outlineColor}, box-shadow ${st.boxShadow}, background ${JSON.stringify(bg)}` +
                (ratio !== null ? `, ratio ${ratio.toFixed(2)}` : '')};
"""


@test
def wrong_password(driver):
    """A wrong password answers 401 with the form again, the error announced, the email kept."""
    page = "login-error"
    visit(driver, "/console/login")
    driver.find_element(By.ID, "email").send_keys(ADMIN)
    driver.find_element(By.ID, "password").send_keys("not-the-password")
    submit(driver, "form[action='/console/login']", page)
    check_equal(current_path(driver), "/console/login", page, "stays on the login page")
    errors = driver.find_elements(By.CSS_SELECTOR, "[role=alert], .error")
    require(errors, page, "an error message is shown")
    check("wrong email or password" in errors[0].text.lower(), page, "the error says what is wrong", errors[0].text)
    check_equal(errors[0].get_attribute("role"), "alert", page, "the error is announced (role=alert)")
    check_equal(driver.find_element(By.ID, "email").get_attribute("value"), ADMIN, page, "the email is kept")
    check_equal(driver.find_element(By.ID, "password").get_attribute("value"), "", page, "the password is not kept")
    check(session_cookie(driver) is None, page, "no session cookie after a wrong password")
    cookie, r = http_login(ADMIN, "not-the-password")
    check_equal(r.status, 401, page, "POST /console/login with a wrong password: status")
    check(cookie is None, page, "no Set-Cookie for a wrong password", str(r.header_all("Set-Cookie")))
    check("Wrong email or password" in r.text, page, "the 401 page carries the error")
    check_security_headers(r, page)
    check_page(driver, page, expect_status=401, http=False, reload=False)


@test
def login_lands_on_dashboard(driver):
    """An admin logs in through the form and lands on the dashboard with its header."""
    login(driver, ADMIN)
    page = "dashboard"
    check_equal(driver.find_element(By.TAG_NAME, "h1").text, "Dashboard", page, "heading")
    nav = driver.find_elements(By.CSS_SELECTOR, "nav[aria-label='Main']")
    check(nav, page, "the main navigation <nav aria-label=\"Main\">")
    if nav:
        current = nav[0].find_elements(By.CSS_SELECTOR, "a[aria-current='page']")
        check(current and urllib.parse.urlsplit(current[0].get_attribute("href")).path == "/console", page,
              "the navigation marks the dashboard as the current page")
    forms = driver.find_elements(By.CSS_SELECTOR, "form[action='/console/logout']")
    require(forms, page, "a logout form in the header")
    check_equal((forms[0].get_attribute("method") or "").lower(), "post", page, "the logout form's method")
    csrf = forms[0].find_elements(By.CSS_SELECTOR, "input[type=hidden][name=_csrf]")
    check(csrf and csrf[0].get_attribute("value"), page, "the logout form carries _csrf")
    check_page(driver, page, who=who_of(ADMIN))


@test
def session_cookie_flags(driver):
    """The session cookie: HttpOnly, SameSite=Strict, Path=/console; Secure only behind TLS."""
    page = "login"
    login(driver, ADMIN)
    c = session_cookie(driver)
    check_equal(c.get("httpOnly"), True, page, "browser cookie HttpOnly")
    check_equal(c.get("sameSite"), "Strict", page, "browser cookie SameSite")
    check_equal(c.get("path"), "/console", page, "browser cookie Path")
    check_equal(c.get("secure"), False, page, "browser cookie not Secure over plain http")
    check(COOKIE not in driver.execute_script("return document.cookie"), page, "the cookie is not readable by scripts")

    for proto, secure in ((None, False), ("https", True)):
        headers = {"X-Forwarded-Proto": proto} if proto else {}
        cookie, r = http_login(ADMIN, headers=headers)
        what = f"POST /console/login{' with X-Forwarded-Proto: https' if proto else ''}"
        check_equal(r.status, 303, page, f"{what}: status")
        check_equal(r.location_path, "/console", page, f"{what}: redirects to the dashboard")
        check_security_headers(r, page)
        raw = [v for v in r.header_all("Set-Cookie") if v.startswith(COOKIE + "=")]
        require(len(raw) == 1 and cookie, page, f"{what}: one Set-Cookie {COOKIE}", str(r.header_all("Set-Cookie")))
        attrs = set_cookie_attributes(raw[0])
        check(attrs.get("httponly") is True, page, f"{what}: HttpOnly", raw[0])
        check_equal(str(attrs.get("samesite", "")).lower(), "strict", page, f"{what}: SameSite")
        check_equal(attrs.get("path"), "/console", page, f"{what}: Path")
        check_equal("secure" in attrs, secure, page, f"{what}: Secure")
        check(attrs.get("max-age", "").isdigit() and int(attrs["max-age"]) > 0, page, f"{what}: Max-Age", raw[0])


# ---- the dashboard -------------------------------------------------------------------------------------

COUNT_FIELDS = {"Members": "members", "Partners": "partners", "Standards in force": "standards",
                "Adoptions": "adoptions", "Projects": "projects"}

DASHBOARD_JS = """
const counts = [...document.querySelectorAll('dl.counts dt')].map(dt => [dt.textContent.trim(),
    (dt.nextElementSibling && dt.nextElementSibling.tagName === 'DD') ? dt.nextElementSibling.textContent.trim() : null]);
const charts = [...document.querySelectorAll('svg')].filter(s => s.querySelector('[data-period]')).map(svg => ({
  title: (svg.querySelector(':scope > title') || {textContent: ''}).textContent.trim(),
  label: svg.getAttribute('aria-label') || '',
  bars: [...svg.querySelectorAll('[data-period]')].map(g => ({
    period: g.getAttribute('data-period'), value: g.getAttribute('data-value'),
    shownValue: (g.querySelector('.value') || {textContent: null}).textContent,
    shownPeriod: (g.querySelector('.label') || {textContent: null}).textContent,
  })),
}));
return {counts, charts, empty: document.body.textContent.includes('No approved submissions yet')};
"""


def quarter_label(period):
    year, month = int(period[:4]), int(period[5:7])
    return f"{year} Q{(month - 1) // 3 + 1}"


def check_dashboard_figures(driver, email):
    page = f"dashboard ({who_of(email)})"
    visit(driver, "/console")
    shown = driver.execute_script(DASHBOARD_JS)
    report = api("GET", "/v1/reports/summary?by=quarter", email)
    check_equal(report.get("by"), "quarter", page, "the report is by quarter")

    counts = dict(shown["counts"])
    for label, key in COUNT_FIELDS.items():
        check_equal(counts.get(label), str(report[key]), page, f"count '{label}' = summary.{key}")
    for label in counts:
        check(label in COUNT_FIELDS, page, f"count '{label}' is compared",
              "a count this test does not know: add it to COUNT_FIELDS in test_console.py")

    expected = {}
    for t in report["totals"]:
        title = f"{t['metric'].replace('_', ' ')} ({t['unit']})"
        expected.setdefault(title, {})[quarter_label(t["period"])] = t["total"]
    got = {}
    for chart in shown["charts"]:
        check(chart["title"] not in got, page, f"one chart per metric: {chart['title']!r}")
        got[chart["title"]] = {b["period"]: b["value"] for b in chart["bars"]}
        periods = [b["period"] for b in chart["bars"]]
        check_equal(periods, sorted(periods), page, f"chart {chart['title']!r}: bars in chronological order")
        for b in chart["bars"]:
            if b["shownValue"] is not None:
                check_equal(b["shownValue"], b["value"], page, f"chart {chart['title']!r} {b['period']}: the value written above the bar")
            if b["shownPeriod"] is not None:
                check_equal(b["shownPeriod"], b["period"], page, f"chart {chart['title']!r} {b['period']}: the period written below the bar")
    check_equal(sorted(got), sorted(expected), page, "one chart per metric of the summary report")
    require(expected, page, "the demo coalition's summary has totals")
    for title, periods in expected.items():
        bars = got.get(title, {})
        for period, total in periods.items():
            check_equal(bars.get(period), total, page, f"chart {title!r} bar {period} = report total")
        for period in bars.keys() - periods.keys():
            check(False, page, f"chart {title!r} bar {period}", f"the report has no total for it ({bars[period]})")
    check(not shown["empty"], page, "the dashboard does not say 'No approved submissions yet' with totals present")


@test
def dashboard_matches_summary_report(driver):
    """Each role's dashboard: the counts and every bar equal GET /v1/reports/summary?by=quarter."""
    for email in (ADMIN, AUDITOR, MEMBER_EDITOR):
        login(driver, email)
        check_dashboard_figures(driver, email)


# ---- CSRF, logout, tokens --------------------------------------------------------------------------------

@test
def csrf_refused(driver):
    """A form without its CSRF token, or with a wrong or another session's, is refused with 403 and
    the session goes on; a login posted from another origin is refused too."""
    page = "logout (CSRF)"
    cookie, r = http_login(ADMIN)
    require(cookie, page, "a console session over http.client", f"status {r.status}")
    other, _ = http_login(AUDITOR)
    token = page_csrf("/console", cookie)
    other_token = page_csrf("/console", other)
    check(token != other_token, page, "each session has its own CSRF token")
    for what, fields in (("without _csrf", {}), ("with an empty _csrf", {"_csrf": ""}),
                         ("with a wrong _csrf", {"_csrf": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")}),
                         ("with another session's _csrf", {"_csrf": other_token})):
        r = http_post_form("/console/logout", fields, cookie=cookie)
        check_equal(r.status, 403, page, f"POST /console/logout {what}")
        check(cookie_from(r) is None, page, f"POST /console/logout {what} leaves the cookie alone", str(r.header_all("Set-Cookie")))
        check_security_headers(r, page)
    r = http_get("/console", cookie=cookie)
    check_equal(r.status, 200, page, "the session still works after the refused posts")
    r = http_get("/console", cookie=other)
    check_equal(r.status, 200, page, "the other session still works too")

    page = "login (Origin)"
    r = http_post_form("/console/login", {"email": ADMIN, "password": DEMO_PASSWORD},
                       headers={"Origin": "http://evil.example"})
    check_equal(r.status, 403, page, "POST /console/login from another origin")
    check(cookie_from(r) is None, page, "no session for a login from another origin")


@test
def logout_revokes_session(driver):
    """The header's Log out button ends the session: the old cookie, replayed, is sent to the login page."""
    page = "logout"
    old = login(driver, ADMIN)
    check_equal(http_get("/console", cookie=old).status, 200, page, "the session works before logging out")
    logout(driver)
    check_equal(urllib.parse.urlsplit(driver.current_url).path, "/console/login", page, "lands on the login page")
    check(session_cookie(driver) is None, page, "the browser no longer holds the session cookie")
    r = http_get("/console", cookie=old)
    check_equal(r.status, 303, page, "GET /console with the old cookie: status")
    check_equal(r.location_path, "/console/login", page, "GET /console with the old cookie: redirects to the login page")
    check_security_headers(r, page)
    visit(driver, "/console")
    check_equal(urllib.parse.urlsplit(driver.current_url).path, "/console/login", page,
                "the browser is sent to the login page after logging out")
    drain_log(driver)


@test
def token_and_cookie_separated(driver):
    """A bearer token is no console session, and the console session is no token on /v1."""
    page = "token/cookie"
    token = api_token(ADMIN)
    cookie, _ = http_login(ADMIN)
    require(cookie, page, "a console session")
    check_equal(http_get("/v1/me", token=token).status, 200, page, "GET /v1/me with the bearer token (control)")
    check_equal(http_get("/console", cookie=cookie).status, 200, page, "GET /console with the cookie (control)")
    r = http_get("/console", token=token)
    check_equal((r.status, r.location_path), (303, "/console/login"), page, "GET /console with only a bearer token")
    r = http_get("/console", cookie=token)
    check_equal((r.status, r.location_path), (303, "/console/login"), page, "GET /console with the API token as the cookie")
    r = http_get("/v1/me", cookie=cookie)
    check_equal(r.status, 401, page, "GET /v1/me with only the console cookie")
    r = http_get("/v1/me", token=cookie)
    check_equal(r.status, 401, page, "GET /v1/me with the console session as a bearer token")
    r = http_request("POST", "/v1/tokens", b'{"name": "from the console cookie"}',
                     headers={"Content-Type": "application/json"}, cookie=cookie)
    check_equal(r.status, 401, page, "POST /v1/tokens with only the console cookie")


# ---- the crawler ------------------------------------------------------------------------------------------

CRAWL_LOGINS = (ADMIN, AUDITOR, MEMBER_EDITOR)
CRAWL_DEPTH = 2
CRAWL_MAX_PAGES = 40


LAYOUT_JS = """
return {nav: document.querySelectorAll('nav[aria-label="Main"]').length,
        current: document.querySelectorAll('nav[aria-label="Main"] [aria-current="page"]').length,
        logout: document.querySelectorAll('form[method="post" i][action="/console/logout"]').length};
"""


def crawl_as(driver, email):
    """Breadth-first from /console over same-origin GET links (no forms submitted), to depth 2 and at
    most 40 pages; every page gets check_page. Returns the paths visited."""
    who = who_of(email)
    login(driver, email)
    queue, seen, visited, shapes = [("/console", 0)], {"/console"}, [], set()
    while queue and len(visited) < CRAWL_MAX_PAGES:
        path, depth = queue.pop(0)
        visit(driver, path)
        landed = current_path(driver)
        name = route_name(path)
        label = name if email == ADMIN else f"{name}--{who}"
        check(urllib.parse.urlsplit(landed).path != "/console/login", label,
              f"{path} keeps {email} signed in", f"landed on {landed}")
        visited.append(path)
        layout = driver.execute_script(LAYOUT_JS)
        check_equal(layout["nav"], 1, label, "one <nav aria-label=\"Main\">")
        check(layout["current"] <= 1, label, "at most one navigation link marked aria-current=\"page\"",
              f"{layout['current']} are")
        check_equal(layout["logout"], 1, label, "one logout form (POST /console/logout)")
        # The dark scheme by a reload once per route shape; on later pages of that shape the
        # emulated scheme applies to the page as it is (the browser restyles it at once).
        check_page(driver, label, who=who, reload=label not in shapes)
        shapes.add(label)
        if depth < CRAWL_DEPTH:
            for link in console_links(driver):
                if link not in seen:
                    seen.add(link)
                    queue.append((link, depth + 1))
    if queue:
        print(f"console-test: crawl as {email}: stopped at {CRAWL_MAX_PAGES} pages, {len(queue)} links not visited")
    return visited


# ---- the pages' forms, as their users press them ----------------------------------------------------------

def standard_in_review(title):
    """A new standard, submitted for review by an issuing member's editor through the API."""
    editor = "editor@swiftroute.example"
    created = api("POST", "/v1/standards", editor, {
        "title": title, "category": "logistics", "body": f"# {title}\n\nWhat a shipment record holds.", "change_note": "first edition",
    }, want=(201,))
    api("POST", f"/v1/standards/{created['id']}/submit", editor)
    return created["id"]


@test
def admin_reviews_standards(driver):
    """A coalition admin approves a standard in review through its page's form and sees the ballot
    counted; rejects another with a comment, which the version then carries."""
    first = standard_in_review("Electric last-mile delivery: a carbon record per parcel")
    second = standard_in_review("Cold-chain carbon data: what a reefer logs")
    login(driver, ADMIN)
    visit(driver, f"/console/standards/{first}")
    check_equal(driver.find_element(By.ID, "ballot-count").text, "0 of 2", "standard-detail", "an open ballot before the review")
    fill(driver, {"#review-form input[value=approve]": True})
    submit(driver, "#review-form", "standard-detail")
    check_equal(messages(driver)["status"], ["Your review is recorded."], "standard-detail", "the notice after approving")
    check_equal(driver.find_element(By.ID, "ballot-count").text, "1 of 2", "standard-detail", "the ballot counts the approval")
    ballot = driver.find_element(By.ID, "ballot").text
    check("Admin (secretariat)" in ballot and "approve" in ballot, "standard-detail", "the ballot shows who voted what", ballot)
    check(not driver.find_elements(By.ID, "review-form"), "standard-detail", "no second vote offered")
    reviews = api("GET", f"/v1/standards/{first}", ADMIN)["reviews"]
    check_equal([r["decision"] for r in reviews], ["approve"], "standard-detail", "the API has the approval")
    check_page(driver, "standard-reviewed", http=False)

    visit(driver, f"/console/standards/{second}")
    fill(driver, {"#review-form input[value=reject]": True, "#review-comment": "name the data fields of the reefer log"})
    submit(driver, "#review-form", "standard-detail")
    check_equal(messages(driver)["status"], ["Your review is recorded."], "standard-detail", "the notice after rejecting")
    rejected = api("GET", f"/v1/standards/{second}", ADMIN)
    check_equal(rejected["status"], "draft", "standard-detail", "a rejected version goes back to its issuers as a draft")
    check_equal(rejected["versions"][-1].get("review_comment"), "name the data fields of the reefer log", "standard-detail",
                "the version carries the reviewer's comment")
    check("name the data fields of the reefer log" in driver.find_element(By.TAG_NAME, "main").text, "standard-detail",
          "the page shows the comment")


@test
def admin_approves_two_submissions_at_once(driver):
    """Two submissions ticked in the review queue and approved with one press, each approved."""
    login(driver, ADMIN)
    visit(driver, "/console/submissions")
    boxes = driver.find_elements(By.CSS_SELECTOR, "table.queue tbody input[type=checkbox]")
    require(len(boxes) >= 2, "submissions", "the queue holds at least two submissions", str(len(boxes)))
    chosen = [b.get_attribute("value") for b in boxes[:2]]
    for box in boxes[:2]:
        box.click()
    submit(driver, "#review-form", "submissions", button="button[value=approve]")
    check_equal(messages(driver)["status"], ["The selected submissions are approved."], "submissions", "the notice after approving")
    for sid in chosen:
        check_equal(api("GET", f"/v1/submissions/{sid}", ADMIN)["status"], "approved", "submissions", f"submission {sid} approved")
    left = [b.get_attribute("value") for b in driver.find_elements(By.CSS_SELECTOR, "table.queue tbody input[type=checkbox]")]
    check(not set(chosen) & set(left), "submissions", "approved ones leave the queue")
    # The script's "select all" box: ticks every row (progressive; the form works without it).
    select_all = driver.find_elements(By.CSS_SELECTOR, "table.queue thead input[type=checkbox]")
    require(select_all, "submissions", "console.js adds a select-all box")
    select_all[0].click()
    check(all(b.is_selected() for b in driver.find_elements(By.CSS_SELECTOR, "table.queue tbody input[type=checkbox]")),
          "submissions", "select-all ticks every row")


@test
def member_editor_reports_progress(driver):
    """A member editor has no review queue (403 when asked directly); submits a value through the
    form and uploads a CSV with a bad row, whose error the page lists."""
    login(driver, MEMBER_EDITOR)
    check("Review queue" not in driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]").text, "dashboard",
          "no review queue in a member's navigation")
    visit(driver, "/console/submissions")
    check_page(driver, "submissions-refused", expect_status=403, shots=False)
    check("only coalition admins and auditors use the review queue" in driver.find_element(By.TAG_NAME, "main").text,
          "submissions-refused", "the refusal says why")

    visit(driver, "/console/organization")
    milestone = driver.execute_script(
        "return [...document.querySelectorAll('#s-milestone option')].find(o => o.textContent.includes('Tonnes of rPET')).value")
    today = datetime.date.today()
    first = today.replace(day=1).isoformat()
    fill(driver, {"#s-milestone": milestone, "#s-value": "41.5", "#s-unit": "t", "#s-notes": "weighbridge tickets attached"})
    for css, value in (("#s-start", first), ("#s-end", today.isoformat())):
        driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.CSS_SELECTOR, css), value)
    submit(driver, "#submission-form", "organization")
    check_equal(messages(driver)["status"], ["Your submission is recorded."], "organization", "the notice after submitting")
    mine = api("GET", "/v1/submissions?status=submitted&limit=500", MEMBER_EDITOR)["items"]
    check(any(s["value"] == "41.5" and s["period_start"] == first and s["notes"] == "weighbridge tickets attached" for s in mine),
          "organization", "the API has the submission")

    csv = ("project,milestone,period_start,period_end,value,unit\n"
           f"rpet-recycling,boxes-sold,{first},{today.isoformat()},1300,unit\n"
           f"rpet-recycling,boxes-sold,{first},{today.isoformat()},lots,unit\n")
    fill(driver, {"#upload-file": temp_file("november.csv", csv)})
    submit(driver, "#upload-form", "organization")
    result = driver.find_element(By.ID, "upload-result").text
    check("1 rows stored" in result.replace("\n", " ") or "1\nrows stored" in result, "organization", "the upload's good row stored", result)
    check_equal(driver.find_element(By.ID, "upload-rejected").text, "1", "organization", "one row rejected")
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in driver.find_elements(By.CSS_SELECTOR, "#row-errors tbody tr")]
    check(len(rows) == 1 and rows[0][0] == "3" and rows[0][1] == "value" and "decimal" in rows[0][2], "organization",
          "the bad row's line, field and reason in the table", str(rows))
    check_page(driver, "organization-upload", http=False, reload=False)


@test
def crawl(driver):
    for email in CRAWL_LOGINS:
        visited = crawl_as(driver, email)
        print(f"console-test: crawl as {email}: {len(visited)} pages: {' '.join(visited)}")


if __name__ == "__main__":
    sys.exit(main())
