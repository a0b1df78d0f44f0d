// facesearch page: plain JavaScript, no framework. Every text from the server
// goes through textContent (never innerHTML).
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

// api calls the JSON API; on 401 it asks for the token once and retries.
async function api(path, opts) {
  let r;
  try {
    r = await fetch(path, Object.assign({ credentials: "same-origin" }, opts || {}));
  } catch (err) {
    const e = new Error(err.message);
    e.code = "network";
    throw e;
  }
  if (r.status === 401 && !(opts && opts.retried)) {
    const tok = prompt(t("This server needs its access token:"));
    if (tok) {
      document.cookie = "facesearch_token=" + encodeURIComponent(tok) + "; path=/; SameSite=Strict";
      return api(path, Object.assign({}, opts || {}, { retried: true }));
    }
  }
  const ct = r.headers.get("Content-Type") || "";
  const body = ct.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const e = new Error(body && body.error ? body.error.message : "HTTP " + r.status);
    e.code = body && body.error ? body.error.code : "http_" + r.status;
    e.retryAfter = Number(r.headers.get("Retry-After")) || 0;
    throw e;
  }
  return body;
}

const fmt = (x) => (Math.round(x * 1000) / 1000).toFixed(3);

function setStatus(id, text, isError) {
  const s = $(id);
  s.textContent = text || "";
  s.classList.toggle("error", !!isError);
}

// ---- tabs ----
function showTab() {
  const [tab, arg] = (location.hash.slice(1) || "search").split("/");
  const name = ["search", "people", "lookalikes", "cleansing"].includes(tab) ? tab : "search";
  document.querySelectorAll(".tab").forEach((t) => (t.hidden = t.id !== "tab-" + name));
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.tab === name));
  if (name === "people") showPeople(arg ? decodeURIComponent(arg) : "");
  if (name === "lookalikes") showLookalikes();
  if (name === "cleansing") loadCleansing();
}
window.addEventListener("hashchange", showTab);

// ---- boxes over an image ----
// The layer is sized to the image as rendered (max-height may make it
// narrower than its container), and re-placed when the image resizes.
const layers = new WeakMap();

function drawBoxes(layer, img, boxes, chosen, onPick) {
  const place = () => {
    const W = img.naturalWidth, H = img.naturalHeight;
    if (!W || !H) return;
    layer.style.width = img.offsetWidth + "px";
    layer.style.height = img.offsetHeight + "px";
    layer.replaceChildren();
    boxes.forEach((b, i) => {
      const [x1, y1, x2, y2] = b.box;
      const d = el("button", {
        class: "box" + (i === chosen ? " chosen" : ""),
        title: onPick ? t("search with this face") : "",
        "aria-label": t("face {n}", { n: i + 1 }),
        "data-face": String(i),
      }, el("span", { text: b.label || String(i + 1) }));
      d.style.left = (100 * Math.max(0, x1) / W) + "%";
      d.style.top = (100 * Math.max(0, y1) / H) + "%";
      d.style.width = (100 * (Math.min(W, x2) - Math.max(0, x1)) / W) + "%";
      d.style.height = (100 * (Math.min(H, y2) - Math.max(0, y1)) / H) + "%";
      if (onPick) d.addEventListener("click", () => onPick(i));
      layer.append(d);
    });
  };
  layer.replaceChildren();
  layers.set(img, place);
  if (!img.dataset.observed) {
    img.dataset.observed = "1";
    new ResizeObserver(() => { const f = layers.get(img); if (f) f(); }).observe(img);
    img.addEventListener("load", () => { const f = layers.get(img); if (f) f(); });
  }
  if (img.complete && img.naturalWidth) place();
}

// ---- search ----
let current = null; // {file, url}

let lastSearch = null; // {file, face}: redrawn on a language switch

async function search(file, face) {
  lastSearch = { file, face };
  if (!current || current.file !== file) {
    if (current) URL.revokeObjectURL(current.url);
    current = { file, url: URL.createObjectURL(file) };
    $("photo").src = current.url;
  }
  setStatus("search-status", t("Searching…"));
  $("query").hidden = false;
  const fd = new FormData();
  fd.append("photo", file, file.name || "photo");
  if (face != null) fd.append("face", String(face));
  let res;
  try {
    res = await api("/api/search", { method: "POST", body: fd });
  } catch (e) {
    // Nothing to show beside the error: no broken photo, no empty heading.
    $("query").hidden = true;
    $("boxes").replaceChildren();
    $("results").replaceChildren();
    $("person-summary").replaceChildren();
    $("results-title").hidden = true;
    $("verdict").hidden = true;
    setStatus("search-status", errorText(e), true);
    return;
  }
  const tm = res.timing_ms || {};
  setStatus("search-status", t("{n} face found|{n} faces found", { n: res.faces.length }) + "; " +
    t("{n} matches in {s} s", { n: res.matches.length, s: fmt(((tm.decode || 0) + (tm.detect_embed || 0) + (tm.search || 0)) / 1000) }));
  $("face-hint").textContent = res.faces.length > 1 ? t("Click a box to search with another face.") : "";
  // Faces are numbered from 1 in the API (res.face), indexed from 0 here.
  drawBoxes($("boxes"), $("photo"), res.faces, res.face - 1, res.faces.length > 1 ? (i) => search(file, i + 1) : null);
  renderVerdict(res.verdict);
  showSimilarity("search-sim", res.similarity);
  renderSummary(res);
  renderMatches(res);
}

// renderVerdict shows the library's verdict on the search: match, possible,
// or "no confident match" for a stranger (docs/VERDICTS.md).
function renderVerdict(v) {
  const box = $("verdict");
  if (!v) { box.hidden = true; return; }
  box.className = "verdict " + v.verdict;
  box.dataset.verdict = v.verdict;
  // The stranger rate: strangers_at_or_above of stranger_searches
  // non-mated searches scored this high (stranger_text is the server's
  // English wording of the same figure, "none of N strangers (fewer than 1
  // in M, 95%)" when none did).
  let rate = "";
  if (v.stranger_text && LANG === "en") {
    rate = v.strangers_at_or_above === 0 ? `${v.stranger_text[0].toUpperCase()}${v.stranger_text.slice(1)} scored this high.`
      : `A stranger scores this high ${v.stranger_text.replace("1 in", "1 time in")}.`;
  } else if (v.stranger_text) {
    rate = t("A stranger scores this high in {k} of {n} searches.", { k: v.strangers_at_or_above, n: v.stranger_searches });
  }
  if (v.stale) rate += " " + t("(The calibration is stale: {s}.)", { s: v.stale });
  const margin = v.margin != null ? " " + t("Margin to the next person {m}.", { m: fmt(v.margin) }) : "";
  let head;
  switch (v.verdict) {
    case "match": head = t("Match: {p} ({s}).", { p: v.person, s: fmt(v.similarity) }); break;
    case "possible": head = t("Possible match: {p} ({s}).", { p: v.person, s: fmt(v.similarity) }); break;
    case "no_match": head = t("No confident match. Closest: {p} ({s}).", { p: v.person, s: fmt(v.similarity) }); break;
    default: head = t("This library is too small to calibrate ({r}); similarities only.", { r: v.reason || t("uncalibrated") });
  }
  box.replaceChildren(el("strong", { text: head }), " ", el("span", { text: rate + margin }));
  box.hidden = false;
}

// verdictBadge is the badge of one result: its verdict when the library is
// calibrated, else the pairwise same-person flag. Only the verdict's person
// can be a match; another person above the match level is marked so.
function verdictBadge(verdict, same, above) {
  if (verdict === "match") return el("span", { class: "badge same", text: t("match") });
  if (verdict === "possible" && above) return el("span", { class: "badge possible", text: t("also above the match level") });
  if (verdict === "possible") return el("span", { class: "badge possible", text: t("possible") });
  if (verdict) return null;
  return same ? el("span", { class: "badge same", text: t("same person") }) : null;
}

function renderSummary(res) {
  const ol = $("person-summary");
  ol.replaceChildren();
  for (const p of res.persons) {
    ol.append(el("li", {},
      el("strong", { text: p.person || t("(no folder)") }), " ",
      el("span", { class: "muted", text: t("best {sim}, {n} face|best {sim}, {n} faces", { sim: fmt(p.best), n: p.count }) + " " }),
      verdictBadge(p.verdict, p.same_person, p.above_match)));
  }
}

function faceCard(f, sim, same, verdict, above) {
  const c = el("div", { class: "card", tabindex: "0", "data-person": f.person, "data-face-id": String(f.face_id || f.id) },
    el("img", { src: f.crop_url, alt: t("face {n}", { n: f.face_id || f.id }), loading: "lazy" }),
    sim != null ? el("div", {}, el("span", { class: "sim", text: fmt(sim) }), " ",
      verdictBadge(verdict, same, above)) : null,
    el("div", { class: "person", text: f.person }, f.primary === false ? el("span", { class: "badge", text: t("not the main face"), title: t("another face in this image") }) : null),
    el("div", { class: "file", text: f.file }));
  const open = () => openImage(f.image_id, f.face_id || f.id);
  c.addEventListener("click", open);
  c.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  return c;
}

function renderMatches(res) {
  const g = $("results");
  g.replaceChildren(...res.matches.map((m) => faceCard(m, m.similarity, m.same_person, m.verdict, m.above_match)));
  $("results-title").hidden = res.matches.length === 0;
}

async function openImage(imageID, faceID) {
  let im;
  try { im = await api("/api/images/" + imageID); } catch (e) { alert(errorText(e)); return; }
  const img = $("viewer-img");
  img.src = im.file_url;
  $("viewer-caption").textContent = `${im.person} — ${im.file} (${im.width}×${im.height})`;
  const chosen = im.faces.findIndex((f) => f.id === faceID);
  drawBoxes($("viewer-boxes"), img, im.faces, chosen, null);
  $("viewer").showModal();
}

function setupDrop() {
  const drop = $("drop");
  $("file").addEventListener("change", (e) => { if (e.target.files[0]) search(e.target.files[0]); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer.files[0];
    if (f) search(f);
  });
}

// ---- people: see people.js ----

// ---- cleansing ----
function findingQuery() {
  const q = new URLSearchParams();
  if ($("f-kind").value) q.set("kind", $("f-kind").value);
  if ($("f-sev").value) q.set("severity", $("f-sev").value);
  if ($("f-person").value) q.set("person", $("f-person").value);
  q.set("dismissed", $("f-dis").value);
  return q;
}

function evidence(p) {
  const img = (f) => el("img", { src: "/api/faces/" + f.id + "/crop", alt: f.person + " " + f.file, title: f.person + " — " + f.file, onclick: () => openImage(f.image_id, f.id) });
  return el("div", { class: "ev" }, img(p.a), img(p.b), el("span", { class: "sim", text: fmt(p.similarity) }));
}

// showSimilarity labels results with the similarity the server compared in
// ("raw", or "adapted:<id>": learned from the library's folders); the raw
// name stays in data-similarity.
function showSimilarity(id, sim) {
  const box = $(id);
  box.dataset.similarity = sim || "";
  if (!sim) { box.textContent = ""; return; }
  const name = sim === "raw" ? t("raw cosine") : sim.startsWith("adapted:") ? t("adapted to this library ({id})", { id: sim.slice(8) }) : sim;
  box.textContent = t("Similarity: {s}", { s: name });
}

async function loadCleansing() {
  const q = findingQuery();
  const csv = new URLSearchParams(q);
  if ($("f-dis").value === "include") csv.delete("dismissed");
  $("export").href = "/api/findings.csv?" + csv;
  let res;
  try {
    res = await api("/api/findings?" + q);
  } catch (e) {
    $("cleansing-body").hidden = true;
    setStatus("cleansing-status", errorText(e), e.code !== "unavailable");
    // The audit is still running: ask again when the server says to.
    if (e.retryAfter > 0) {
      clearTimeout(loadCleansing.retry);
      loadCleansing.retry = setTimeout(() => {
        if (!$("tab-cleansing").hidden) loadCleansing();
      }, e.retryAfter * 1000);
    }
    return;
  }
  setStatus("cleansing-status", "");
  $("cleansing-body").hidden = false;
  $("n-findings").textContent = "(" + res.findings.length + ")";
  showSimilarity("cleansing-sim", res.similarity);
  $("findings").replaceChildren(...res.findings.map((f) => {
    const btn = el("button", { class: "small", text: f.dismissed ? t("Restore") : t("Not a problem") });
    btn.addEventListener("click", async () => {
      try {
        await api("/api/findings/" + encodeURIComponent(f.key) + "/dismissed", { method: f.dismissed ? "DELETE" : "PUT" });
        loadCleansing();
      } catch (e) { alert(errorText(e)); }
    });
    return el("div", { class: "finding" + (f.dismissed ? " dismissed" : "") },
      el("div", {}, el("span", { class: "badge " + f.severity, text: t(f.severity) }), " ",
        el("strong", { text: t(f.kind) }), " ", el("span", { class: "names", text: f.persons.join(" / ") }), " ", btn),
      el("div", { class: "muted", text: f.reason }),
      el("div", { class: "muted", text: t("similarity {s}", { s: fmt(f.similarity) }) + (f.baseline ? t(", baseline {s}", { s: fmt(f.baseline) }) : "") }),
      el("div", { class: "evidence" }, ...(f.evidence || []).slice(0, 6).map(evidence)));
  }));
  try {
    // Grouped by folder pair (most face pairs first, best three shown), so
    // one pair of folders cannot fill the list.
    const p = await api("/api/pairs?top=2000");
    // The person filter applies to the pairs too (kind and severity are
    // findings' properties, not pairs').
    const who = $("f-person").value.trim().toLowerCase();
    const groups = (p.folder_pairs || []).filter((g) => !who ||
      g.person_a.toLowerCase().includes(who) || g.person_b.toLowerCase().includes(who));
    $("n-pairs").textContent = t("({g} folder pairs, {n} face pairs, similarity ≥ {min})", { g: groups.length, n: p.pairs.length, min: fmt(p.min) });
    $("pairs").replaceChildren(...groups.slice(0, 100).map((g) => el("div", { class: "pair" },
      el("div", { class: "muted", text: g.person_a + " / " + g.person_b + ": " + t("{n} face pairs, best {best}, median {median}", { n: g.count, best: fmt(g.best), median: fmt(g.median) }) }),
      ...g.pairs.map((i) => evidence(p.pairs[i])))));
  } catch (e) {
    $("pairs").textContent = errorText(e);
  }
}

async function loadStats() {
  try {
    const s = await api("/api/stats");
    $("stats").textContent = t("{persons} people, {images} images, {faces} faces",
      { persons: s.persons.toLocaleString(), images: s.images_ok.toLocaleString(), faces: s.faces.toLocaleString() });
  } catch (e) {
    $("stats").textContent = errorText(e);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  applyI18n();
  $("lang").value = LANG;
  $("lang").addEventListener("change", (e) => setLang(e.target.value));
  setupDrop();
  for (const id of ["f-kind", "f-sev", "f-dis"]) $(id).addEventListener("change", loadCleansing);
  $("f-person").addEventListener("input", loadCleansing);
  loadStats();
  showTab();
});

// A language switch redraws what the page drew from data.
document.addEventListener("langchange", () => {
  loadStats();
  showTab();
  if (!$("query").hidden && lastSearch) search(lastSearch.file, lastSearch.face);
});
