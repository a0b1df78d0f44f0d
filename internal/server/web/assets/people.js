// facesearch page: the People grid (a face per person, sorted and paged on
// the server), the person page (the folder's own faces first) and the
// look-alikes view. Uses el, api, $, fmt, faceCard and openImage of app.js and
// t of i18n.js; every text from the server goes through textContent.
"use strict";

const people = { q: "", sort: "name", offset: 0, limit: 100, seq: 0 };

// thumb is a person's face crop, or the first letter of the name when the
// library has no crop (imported embeddings) or the crop fails to load.
function thumb(url, name) {
  const initial = () => el("div", { class: "thumb initial", title: t("no thumbnail"), text: Array.from(name || "?")[0] || "?" });
  if (!url) return initial();
  const img = el("img", { class: "thumb", src: url, alt: name, loading: "lazy" });
  img.addEventListener("error", () => img.replaceWith(initial()));
  return img;
}

function countsText(p) {
  // The folder's photos, and how many show its person (a primary face):
  // background faces are not counted here (the header's total has them).
  return t("{n} photo|{n} photos", { n: p.images }) + " · " + t("{n} with a face", { n: p.primary_faces });
}

function personCard(p) {
  const a = el("a", { class: "person-card", href: "#people/" + encodeURIComponent(p.name), "data-person": p.name },
    thumb(p.crop_url, p.name),
    el("div", { class: "name", text: p.name }),
    el("div", { class: "muted counts", text: countsText(p) }));
  if (p.open_findings > 0) a.append(el("span", { class: "badge high", text: t("{n} open finding|{n} open findings", { n: p.open_findings }) }));
  return a;
}

async function loadPeopleGrid() {
  const seq = ++people.seq;
  const q = new URLSearchParams({ sort: people.sort, offset: String(people.offset), limit: String(people.limit) });
  if (people.q) q.set("q", people.q);
  setStatus("people-status", t("Loading…"));
  let r;
  try {
    r = await api("/api/persons?" + q);
  } catch (e) {
    if (seq !== people.seq) return;
    setStatus("people-status", errorText(e), e.code !== "unavailable");
    if (e.retryAfter > 0) {
      clearTimeout(loadPeopleGrid.retry);
      loadPeopleGrid.retry = setTimeout(() => { if (!$("tab-people").hidden && $("person-detail").hidden) loadPeopleGrid(); }, e.retryAfter * 1000);
    }
    return;
  }
  if (seq !== people.seq) return; // a newer request was sent meanwhile
  setStatus("people-status", r.total === 0 && people.q ? t("No person matches “{q}”.", { q: people.q }) : "");
  $("person-list").replaceChildren(...r.persons.map(personCard));
  const from = r.total === 0 ? 0 : r.offset + 1, to = r.offset + r.persons.length;
  $("people-count").textContent = t("{from}–{to} of {total} people", { from: from.toLocaleString(), to: to.toLocaleString(), total: r.total.toLocaleString() });
  $("people-prev").disabled = r.offset === 0;
  $("people-next").disabled = to >= r.total;
}

async function showPeople(name) {
  // A newer person page (or the grid) replaces this one: a reply that comes
  // back after it was asked for is dropped (seq), never drawn under its name.
  const seq = (people.personSeq = (people.personSeq || 0) + 1);
  $("people-index").hidden = !!name;
  $("person-detail").hidden = !name;
  if (!name) {
    loadPeopleGrid();
    return;
  }
  $("person-name").textContent = name;
  $("person-counts").textContent = "";
  $("person-faces").replaceChildren();
  $("person-others").replaceChildren();
  $("person-others-title").hidden = true;
  $("person-looks").replaceChildren();
  $("person-looks-title").hidden = true;
  setStatus("person-status", t("Loading…"));
  let r;
  try {
    r = await api("/api/persons/" + encodeURIComponent(name));
  } catch (e) {
    if (seq !== people.personSeq) return;
    setStatus("person-status", errorText(e), true);
    return;
  }
  if (seq !== people.personSeq) return;
  setStatus("person-status", "");
  const own = r.faces.filter((f) => f.primary), others = r.faces.filter((f) => !f.primary);
  $("person-counts").textContent = others.length
    ? t("{n} of the folder's photos show this person; {m} other faces were found beside them.", { n: own.length, m: others.length })
    : t("{n} of the folder's photos show this person.", { n: own.length });
  $("person-faces").replaceChildren(...own.map((f) => faceCard(f, null, false)));
  $("person-others").replaceChildren(...others.map((f) => faceCard(f, null, false)));
  $("person-others-title").hidden = others.length === 0;
  window.scrollTo(0, 0);
  // This person's look-alikes, when the server has them (after the audit).
  try {
    const l = await api("/api/lookalikes?top=200&person=" + encodeURIComponent(name));
    if (seq !== people.personSeq) return;
    const mine = l.lookalikes.filter((x) => x.persons[0] === name || x.persons[1] === name).slice(0, 5);
    $("person-looks").replaceChildren(...mine.map(lookalikeRow));
    $("person-looks-title").hidden = mine.length === 0;
  } catch (e) {
    // No look-alikes (no audit yet, or none): the person page stands alone.
  }
}

// ---- look-alikes ----
function personLink(name) {
  return el("a", { class: "name", href: "#people/" + encodeURIComponent(name), text: name });
}

function lookalikeRow(l) {
  return el("div", { class: "look" },
    el("div", { class: "look-names" }, personLink(l.persons[0]), el("span", { class: "muted", text: " ~ " }), personLink(l.persons[1])),
    el("div", { class: "muted", text: t("score {s}, median {m}, max {x}, {n} face pairs", { s: fmt(l.similarity), m: fmt(l.median), x: fmt(l.max), n: l.pairs }) }),
    el("div", { class: "evidence" }, ...(l.evidence || []).map(evidence)));
}

async function showLookalikes() {
  const seq = (showLookalikes.seq = (showLookalikes.seq || 0) + 1);
  const q = new URLSearchParams({ top: "100" });
  const filter = $("looks-filter").value.trim();
  if (filter) q.set("person", filter);
  setStatus("looks-status", t("Loading…"));
  let r;
  try {
    r = await api("/api/lookalikes?" + q);
  } catch (e) {
    if (seq !== showLookalikes.seq) return;
    $("looks").replaceChildren();
    // 503 with a Retry-After: the audit or the look-alikes are still being computed.
    const busy = e.code === "unavailable" && e.retryAfter > 0;
    setStatus("looks-status", busy ? t("Computing look-alikes…") : errorText(e), !busy);
    if (e.retryAfter > 0) {
      clearTimeout(showLookalikes.retry);
      showLookalikes.retry = setTimeout(() => { if (!$("tab-lookalikes").hidden) showLookalikes(); }, e.retryAfter * 1000);
    }
    return;
  }
  if (seq !== showLookalikes.seq) return;
  setStatus("looks-status", r.lookalikes.length ? "" : t("No look-alikes: the library needs at least two people with two faces each."));
  $("looks").replaceChildren(...r.lookalikes.map(lookalikeRow));
  showSimilarity("looks-sim", r.similarity);
}

document.addEventListener("DOMContentLoaded", () => {
  let timer = 0;
  $("person-filter").addEventListener("input", (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => { people.q = e.target.value.trim(); people.offset = 0; loadPeopleGrid(); }, 200);
  });
  // A new page or order starts at the top of the grid.
  const top = () => window.scrollTo(0, 0);
  $("person-sort").addEventListener("change", (e) => { people.sort = e.target.value; people.offset = 0; top(); loadPeopleGrid(); });
  $("people-prev").addEventListener("click", () => { people.offset = Math.max(0, people.offset - people.limit); top(); loadPeopleGrid(); });
  $("people-next").addEventListener("click", () => { people.offset += people.limit; top(); loadPeopleGrid(); });
  let ltimer = 0;
  $("looks-filter").addEventListener("input", () => { clearTimeout(ltimer); ltimer = setTimeout(showLookalikes, 200); });
});

// A face without a stored crop (a library imported from embeddings) shows the
// person's initial rather than a broken image, in every grid of the page.
document.addEventListener("error", (e) => {
  const img = e.target;
  if (!(img instanceof HTMLImageElement) || !img.closest(".card") || img.classList.contains("thumb")) return;
  const card = img.closest(".card");
  img.replaceWith(el("div", { class: "thumb initial", title: t("no thumbnail"), text: Array.from(card.dataset.person || "?")[0] || "?" }));
}, true);
