// facesearch page: the one dictionary of the page's words.
//
// Every text the page shows goes through t("English text", {params}). The
// English text is the key: a string missing from a language shows in
// English, so a new string works at once and translating it is one more
// line below. Placeholders are {name}; a key may have a plural form
// "key|plural" chosen by the parameter n (English only; Japanese has none).
//
// Static text in index.html is marked data-i18n (the element's text is the
// key) or data-i18n-attr="placeholder,title,aria-label" (those attributes'
// values are keys). applyI18n() translates them; it runs at load and when the
// language is switched, then the page re-renders what it drew.
//
// Error messages: the server answers in English; the page shows the
// translation of the error's code (api_error.CODE) and keeps the server's
// message as detail.
"use strict";

const I18N = {
  ja: {
    // header, tabs
    "Search": "検索",
    "People": "人物",
    "Look-alikes": "そっくりさん",
    "Cleansing": "クレンジング",
    "Language": "言語",
    "{persons} people, {images} images, {faces} faces": "{persons} 人、画像 {images} 枚、顔 {faces} 個",
    // search
    "Drop a photo here": "ここに写真をドロップ",
    "or": "または",
    "choose one": "ファイルを選ぶ",
    "The photo is sent to this server only, searched and not stored.": "写真はこのサーバーにだけ送られ、検索に使われ、保存されません。",
    "Searching…": "検索中…",
    "your photo": "あなたの写真",
    "Best matches": "似ている顔",
    "{n} face found|{n} faces found": "顔を {n} 個検出",
    "{n} matches in {s} s": "{n} 件（{s} 秒）",
    "Click a box to search with another face.": "枠をクリックすると別の顔で検索します。",
    "search with this face": "この顔で検索",
    "face {n}": "顔 {n}",
    "best {sim}, {n} face|best {sim}, {n} faces": "最高 {sim}、顔 {n} 個",
    "same person": "同一人物",
    // verdicts (docs/VERDICTS.md)
    "match": "一致",
    "possible": "一致の可能性",
    "Match: {p} ({s}).": "一致: {p}（{s}）。",
    "Possible match: {p} ({s}).": "一致の可能性: {p}（{s}）。",
    "No confident match. Closest: {p} ({s}).": "確かな一致はありません。最も近いのは {p}（{s}）。",
    "This library is too small to calibrate ({r}); similarities only.": "このライブラリは校正するには小さすぎます（{r}）。類似度のみ表示します。",
    "uncalibrated": "未校正",
    "A stranger scores this high in {k} of {n} searches.": "ライブラリにいない人がこの類似度以上になったのは {n} 回の検索中 {k} 回です。",
    "Margin to the next person {m}.": "次の人物との差は {m}。",
    "(The calibration is stale: {s}.)": "（校正が古くなっています: {s}）",
    "also above the match level": "一致の水準も超えています",
    "not the main face": "主役ではない顔",
    "another face in this image": "この画像に写った別の人の顔",
    "(no folder)": "（フォルダなし）",
    "original image": "元の画像",
    "Close": "閉じる",
    // people
    "Filter people": "人物を絞り込む",
    "Sort": "並び順",
    "by name": "名前順",
    "by number of photos": "写真の多い順",
    "by open findings": "未確認の指摘の多い順",
    "{from}–{to} of {total} people": "{total} 人中 {from}–{to} 人目",
    "No person matches “{q}”.": "「{q}」に一致する人物はいません。",
    "Previous": "前へ",
    "Next": "次へ",
    "{n} photo|{n} photos": "写真 {n} 枚",
    "{n} face|{n} faces": "顔 {n} 個",
    "{n} with a face": "顔あり {n}",
    "{n} open finding|{n} open findings": "未確認の指摘 {n} 件",
    "All people": "人物一覧",
    "Faces of this person": "この人物の顔",
    "Other faces in these photos": "これらの写真に写った他の顔",
    "{n} of the folder's photos show this person; {m} other faces were found beside them.": "フォルダの写真 {n} 枚にこの人物が写っています。ほかに {m} 個の顔が一緒に写っていました。",
    "{n} of the folder's photos show this person.": "フォルダの写真 {n} 枚にこの人物が写っています。",
    "no thumbnail": "サムネイルなし",
    "Loading…": "読み込み中…",
    "Computing look-alikes…": "そっくりさんを計算中…",
    // look-alikes
    "Pairs of different people who look most alike. Score: the 20% trimmed mean of the similarities of all their face pairs; shown: the most similar pair and a typical pair.": "よく似ている別人の組。スコアは二人の顔のすべての組の類似度の 20% トリム平均。表示は最も似ている組と典型的な組です。",
    "score {s}, median {m}, max {x}, {n} face pairs": "スコア {s}、中央値 {m}、最大 {x}、顔の組 {n}",
    "No look-alikes: the library needs at least two people with two faces each.": "そっくりさんはいません（顔が2個以上ある人物が2人以上必要です）。",
    "Look-alikes of this person": "この人物のそっくりさん",
    "Filter by person": "人物で絞り込む",
    // cleansing
    "Kind": "種類",
    "all kinds": "すべての種類",
    "same-person": "同一人物",
    "misfiled": "誤分類",
    "duplicate": "重複",
    "outlier": "外れ値",
    "Severity": "重要度",
    "all severities": "すべての重要度",
    "high": "高",
    "medium": "中",
    "low": "低",
    "Dismissed": "却下",
    "open findings": "未確認の指摘",
    "dismissed": "却下済み",
    "all": "すべて",
    "person": "人物",
    "Person": "人物",
    "Export CSV": "CSV に書き出す",
    "Findings": "指摘",
    "Cross-folder pairs": "フォルダをまたぐ組",
    "Restore": "元に戻す",
    "Not a problem": "問題なし",
    "similarity {s}": "類似度 {s}",
    "Similarity: {s}": "類似度の尺度：{s}",
    "raw cosine": "モデルのコサイン（調整なし）",
    "adapted to this library ({id})": "このライブラリに合わせて調整（{id}）",
    ", baseline {s}": "、基準 {s}",
    "({n}, similarity ≥ {min})": "（{n} 組、類似度 ≥ {min}）",
    "({g} folder pairs, {n} face pairs, similarity ≥ {min})": "（フォルダの組 {g}、顔の組 {n}、類似度 ≥ {min}）",
    "{n} face pairs, best {best}, median {median}": "顔の組 {n}、最高 {best}、中央値 {median}",
    // errors, by code (the server's message is shown as detail)
    "This server needs its access token:": "このサーバーにはアクセストークンが必要です：",
    "api_error.no_face": "写真に顔が見つかりませんでした。",
    "api_error.not_image": "画像として読み込めないファイルです。",
    "api_error.too_large": "ファイルまたは画像が大きすぎます。",
    "api_error.bad_request": "リクエストが正しくありません。",
    "api_error.not_found": "見つかりません。",
    "api_error.unauthorized": "アクセストークンが必要です。",
    "api_error.forbidden": "このアドレスからは利用できません。",
    "api_error.gone": "インデックス作成後にファイルが変更または削除されました。",
    "api_error.unavailable": "まだ準備中です。しばらくしてからもう一度お試しください。",
    "api_error.timeout": "時間内に終わりませんでした。もう一度お試しください。",
    "api_error.internal": "サーバーでエラーが起きました。",
    "api_error.network": "サーバーに接続できません。",
  },
};

const LANGS = { en: "English", ja: "日本語" };

// pageLang: the saved choice, else the browser's first language we have.
function pageLang() {
  const saved = localStorage.getItem("facesearch_lang");
  if (saved && LANGS[saved]) return saved;
  for (const l of navigator.languages || [navigator.language || "en"]) {
    const base = String(l).toLowerCase().split("-")[0];
    if (LANGS[base]) return base;
  }
  return "en";
}

let LANG = pageLang();

// t translates an English text and fills its {placeholders}.
function t(key, params) {
  const p = params || {};
  const dict = I18N[LANG] || {};
  let s = dict[key];
  if (s == null) {
    s = key.startsWith("api_error.") ? "" : key;
  }
  const bar = s.indexOf("|");
  if (bar >= 0) s = p.n === 1 ? s.slice(0, bar) : s.slice(bar + 1);
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in p ? String(p[k]) : m));
}

// errorText is what the page says of an API error: the translation of its
// code, with the server's message as detail (alone in English).
function errorText(e) {
  const head = LANG === "en" ? "" : t("api_error." + (e.code || "internal"));
  return head ? head + " (" + e.message + ")" : e.message;
}

// applyI18n translates the static text marked in the document.
function applyI18n(root) {
  const r = root || document;
  document.documentElement.lang = LANG;
  r.querySelectorAll("[data-i18n]").forEach((e) => {
    if (!e.dataset.i18nKey) e.dataset.i18nKey = e.textContent.trim();
    e.textContent = t(e.dataset.i18nKey);
  });
  r.querySelectorAll("[data-i18n-attr]").forEach((e) => {
    for (const a of e.dataset.i18nAttr.split(",")) {
      const k = "i18n" + a.replace(/(^|-)(\w)/g, (m, d, c) => c.toUpperCase());
      if (!e.dataset[k]) e.dataset[k] = e.getAttribute(a) || "";
      e.setAttribute(a, t(e.dataset[k]));
    }
  });
}

// setLang switches the language, remembers it and tells the page.
function setLang(l) {
  if (!LANGS[l]) return;
  LANG = l;
  localStorage.setItem("facesearch_lang", l);
  applyI18n();
  document.dispatchEvent(new CustomEvent("langchange"));
}
