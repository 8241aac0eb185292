// Accessibility checks of the page as rendered, run by harness.py with execute_script.
// arguments[0]: {structure: bool, contrast: bool, scheme: "light"|"dark"}
// Returns a list of {check, element, detail}: each one a failure.
const opts = arguments[0] || {};
const failures = [];
const fail = (check, el, detail) => failures.push({check, element: el ? describe(el) : "", detail: detail || ""});

function describe(el) {
  const one = (e) => {
    let s = e.tagName.toLowerCase();
    if (e.id) s += "#" + e.id;
    const cls = (typeof e.className === "string" ? e.className : (e.getAttribute("class") || "")).trim();
    if (cls) s += "." + cls.split(/\s+/).join(".");
    for (const a of ["name", "type", "href", "role", "for"]) {
      if (e.hasAttribute && e.hasAttribute(a)) s += `[${a}="${e.getAttribute(a).slice(0, 60)}"]`;
    }
    return s;
  };
  const chain = [];
  for (let e = el, i = 0; e && e.nodeType === 1 && i < 3; e = e.parentElement, i++) {
    chain.unshift(one(e));
    if (e.id) break;
  }
  let text = (el.textContent || "").replace(/\s+/g, " ").trim();
  if (text.length > 40) text = text.slice(0, 40) + "…";
  return chain.join(" > ") + (text ? ` "${text}"` : "");
}

function isVisible(el) {
  if (!el.getClientRects().length) return false;
  const st = getComputedStyle(el);
  return st.visibility !== "hidden" && st.display !== "none";
}

// Text a sighted reader sees: visible, not clipped to a pixel (visually-hidden text for screen
// readers) and not parked off the page to the left or top (a skip link until it has focus).
function isSeen(el) {
  if (!isVisible(el)) return false;
  const r = el.getBoundingClientRect();
  if (r.width <= 1 || r.height <= 1) return false;
  if (r.right + scrollX <= 0 || r.bottom + scrollY <= 0) return false;
  return true;
}

function hiddenFromAT(el) {
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    if (e.getAttribute("aria-hidden") === "true" || e.hidden) return true;
  }
  return false;
}

function textOf(el) {
  // The text a screen reader would read for el's content: text, img alt, svg name.
  if (el.nodeType === 3) return el.nodeValue;
  if (el.nodeType !== 1 || hiddenFromAT(el)) return "";
  const tag = el.tagName.toLowerCase();
  if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
  if (tag === "img") return el.getAttribute("alt") || "";
  if (tag === "svg") {
    const t = el.querySelector(":scope > title");
    return t ? t.textContent : "";
  }
  if (tag === "input" && ["submit", "button", "reset"].includes((el.type || "").toLowerCase())) return el.value || "";
  let s = "";
  for (const c of el.childNodes) s += " " + textOf(c);
  return s;
}

function labelledBy(el) {
  const ids = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
  return ids.map((id) => { const r = document.getElementById(id); return r ? textOf(r) : ""; }).join(" ").trim();
}

function accessibleName(el) {
  const lb = labelledBy(el);
  if (lb) return lb;
  const al = (el.getAttribute("aria-label") || "").trim();
  if (al) return al;
  return "";
}

function fieldName(el) {
  const n = accessibleName(el);
  if (n) return n;
  if (el.id) {
    for (const l of document.querySelectorAll("label[for]")) {
      if (l.htmlFor === el.id) { const t = textOf(l).trim(); if (t) return t; }
    }
  }
  const wrap = el.closest("label");
  if (wrap) { const t = textOf(wrap).trim(); if (t) return t; }
  return "";
}

if (opts.structure !== false) {
  // <html lang>
  const lang = (document.documentElement.getAttribute("lang") || "").trim();
  if (!lang) fail("html lang", document.documentElement, "<html> has no lang attribute");

  // <title>
  if (!document.title.trim()) fail("page title", document.documentElement, "the page has no <title>");

  // exactly one <h1>
  const h1s = document.querySelectorAll("h1");
  if (h1s.length !== 1) fail("one h1", h1s[1] || document.body, `found ${h1s.length} <h1> elements`);

  // heading levels never skip downwards (h1 -> h3)
  let prev = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const level = Number(h.tagName[1]);
    if (prev === 0 && level !== 1) fail("heading order", h, `the first heading is <h${level}>, not <h1>`);
    else if (prev && level > prev + 1) fail("heading order", h, `<h${level}> follows <h${prev}> (skips a level)`);
    prev = level;
  }

  // every visible form field has an accessible name
  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (["hidden", "submit", "button", "reset", "image"].includes(type)) continue;
    if (!isVisible(el)) continue;
    if (!fieldName(el)) fail("field label", el, "no label[for], wrapping <label>, aria-label or aria-labelledby");
  }

  // every <img> has alt (alt="" is a decorative image, and allowed)
  for (const el of document.querySelectorAll("img")) {
    if (!el.hasAttribute("alt")) fail("img alt", el, "no alt attribute");
  }

  // every <svg> not hidden from assistive technology: role="img" and a name
  for (const el of document.querySelectorAll("svg")) {
    if (el.parentElement && el.parentElement.closest("svg")) continue;
    if (hiddenFromAT(el)) continue;
    if (el.getAttribute("role") !== "img") fail("svg role", el, `role="${el.getAttribute("role") || ""}", expected role="img" (or aria-hidden="true")`);
    const title = el.querySelector(":scope > title");
    if (!accessibleName(el) && !(title && title.textContent.trim())) fail("svg name", el, "no aria-label, aria-labelledby or <title>");
  }

  // every button and link has accessible text
  for (const el of document.querySelectorAll("button, a[href], input[type=submit], input[type=button], input[type=reset], [role=button], [role=link]")) {
    if (hiddenFromAT(el)) continue;
    const name = (accessibleName(el) || textOf(el) || el.getAttribute("title") || "").replace(/\s+/g, " ").trim();
    if (!name) fail(el.tagName === "A" ? "link text" : "button text", el, "empty accessible name");
  }

  // no duplicate ids
  const seen = new Map();
  for (const el of document.querySelectorAll("[id]")) {
    if (seen.has(el.id)) fail("duplicate id", el, `id "${el.id}" is also on ${describe(seen.get(el.id))}`);
    else seen.set(el.id, el);
  }

  // every POST form carries the CSRF token (but the login form: there is no session yet)
  for (const f of document.querySelectorAll("form")) {
    const method = (f.getAttribute("method") || "get").toLowerCase();
    let action = null;
    try { action = new URL(f.getAttribute("action") || location.href, location.href); } catch (e) { /* a data: page */ }
    if (action && action.origin !== location.origin) fail("form action", f, `posts to another origin: ${action.href}`);
    if (method !== "post" || (action && action.pathname === "/console/login")) continue;
    const csrf = f.querySelector("input[type=hidden][name=_csrf]");
    if (!csrf || !csrf.value) fail("form csrf", f, "a POST form without a hidden, non-empty _csrf input");
  }
}

// ---- contrast ------------------------------------------------------------------------------

function parseColor(s) {
  const m = /rgba?\(([^)]+)\)/.exec(s || "");
  if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
  return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
}
const over = (top, bottom) => {
  // top composited over an opaque bottom
  const a = top.a;
  return {r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a), b: top.b * a + bottom.b * (1 - a), a: 1};
};
function luminance(c) {
  const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
}
function ratio(a, b) {
  const la = luminance(a), lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}
const hex = (c) => "#" + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");

function canvasColor() {
  // What is under the page: the html background, else the browser's canvas for the scheme.
  const dark = opts.scheme === "dark" && /dark/.test(getComputedStyle(document.documentElement).colorScheme || "");
  return dark ? {r: 18, g: 18, b: 18, a: 1} : {r: 255, g: 255, b: 255, a: 1};
}

function effectiveBackground(el) {
  const layers = [];
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const st = getComputedStyle(e);
    const c = parseColor(st.backgroundColor);
    if (c && c.a > 0) {
      layers.push(c);
      if (c.a >= 1) break;
    }
  }
  let bg = canvasColor();
  for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
  return bg;
}

// Every element a reader sees text in: its own text nodes, shown, not in a script or an SVG's
// non-text parts.
function textElements() {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT);
  for (let el = walker.currentNode; el; el = walker.nextNode()) {
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.nodeValue.trim());
    if (!hasText || !isSeen(el)) continue;
    const tag = el.tagName.toLowerCase();
    if (["script", "style", "title", "noscript", "option"].includes(tag)) continue;
    if (el.closest("svg") && tag !== "text" && tag !== "tspan") continue;
    found.push(el);
  }
  return found;
}

if (opts.contrast !== false) {
  for (const el of textElements()) {
    const st = getComputedStyle(el);
    if (Number(st.opacity) === 0) continue;
    const inSvg = el.namespaceURI === "http://www.w3.org/2000/svg";
    let fg = parseColor(inSvg ? st.fill : st.color);
    if (!fg) continue;
    const bg = effectiveBackground(el);
    if (fg.a < 1) fg = over(fg, bg);
    const size = parseFloat(st.fontSize);
    const bold = Number(st.fontWeight) >= 700 || st.fontWeight === "bold";
    const large = size >= 24 || (bold && size >= 18.66);
    const need = large ? 3 : 4.5;
    const r = ratio(fg, bg);
    if (r + 1e-9 < need) {
      fail("contrast " + (opts.scheme || "light"), el,
        `ratio ${r.toFixed(2)} < ${need} (text ${hex(fg)} on ${hex(bg)}, ${size}px${bold ? " bold" : ""})`);
    }
  }
}

// Form fields: the boundary that shows where to type (its border, or its own background) stands
// out from what is around it, 3:1 (WCAG 1.4.11). Checkboxes and radios are drawn by the browser.
if (opts.contrast !== false) {
  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (["hidden", "submit", "button", "reset", "image", "checkbox", "radio", "range", "color", "file"].includes(type)) continue;
    if (!isSeen(el)) continue;
    const st = getComputedStyle(el);
    const around = effectiveBackground(el.parentElement || document.body);
    const own = effectiveBackground(el);
    let best = ratio(own, around), how = `background ${hex(own)}`;
    if (parseFloat(st.borderTopWidth) > 0 && st.borderTopStyle !== "none") {
      let border = parseColor(st.borderTopColor);
      if (border) {
        if (border.a < 1) border = over(border, around);
        const r = ratio(border, around);
        if (r > best) { best = r; }
        how = `border ${hex(border)} ${st.borderTopWidth}, ` + how;
      }
    }
    if (best + 1e-9 < 3) {
      fail("field boundary " + (opts.scheme || "light"), el, `ratio ${best.toFixed(2)} < 3 (${how} on ${hex(around)})`);
    }
  }
}

// ---- rendered text size (run at a phone's width) -------------------------------------------------

if (opts.minTextPx) {
  for (const el of textElements()) {
    let size = parseFloat(getComputedStyle(el).fontSize);
    let how = "";
    if (el.ownerSVGElement) {
      // SVG text is scaled with its viewBox: what a reader sees is the size times that scale.
      const m = el.getScreenCTM();
      const scale = m ? Math.hypot(m.a, m.b) : 1;
      how = ` (font-size ${size}px scaled by ${scale.toFixed(2)} with the SVG's viewBox)`;
      size *= scale;
    }
    if (size + 1e-9 < opts.minTextPx) {
      fail("text size " + innerWidth + "px", el, `text renders at ${size.toFixed(1)}px < ${opts.minTextPx}px${how}`);
    }
  }
}

return failures;
