package e2e_test

// Browser tests of the People grid, the person page, the look-alikes view,
// the empty and error states of search and the Japanese page, on a library
// of 5,000+ people: real photos indexed with the real models (so that some
// people have real face thumbnails, one of them with a long Japanese name)
// plus 5,000 generated people added to the catalog (embeddings only, like an
// import-npz library: no crop, the page shows an initial instead).

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/testenv"
)

// japaneseName is a long person folder name without spaces: the layout must
// wrap it, not overflow its card.
const japaneseName = "ジェニー（ブラックピンク）長い名前の折り返し確認用フォルダ"

const generatedPeople = 5000

// peopleDataset lays out face_recognition's people plus four photos of one
// east_asian person under japaneseName.
func peopleDataset(tb testing.TB) (dir, jpPhoto string) {
	tb.Helper()
	dir = heldOut(tb, testenv.FacesSet(tb, "face_recognition"))
	src := filepath.Join(testenv.FacesSet(tb, "east_asian"), "bpink__jennie")
	files, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, japaneseName), 0o755); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if n == 5 {
			break
		}
		b, err := os.ReadFile(filepath.Join(src, f.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if n == 4 { // held out: the query photo
			jpPhoto = filepath.Join(src, f.Name())
			break
		}
		if err := os.WriteFile(filepath.Join(dir, japaneseName, f.Name()), b, 0o644); err != nil {
			tb.Fatal(err)
		}
		n++
	}
	// One misfiled photo, so that the cleansing view names the person.
	b, err := os.ReadFile(filepath.Join(dir, "obama", "knn_train_obama.jpg"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, japaneseName, "misfiled.jpg"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir, jpPhoto
}

// addGenerated adds n generated people (one image of one face each, a
// random unit embedding, no crop; with one face they take no part in
// look-alikes) to the library's catalog.
func addGenerated(tb testing.TB, lib string, n int) {
	tb.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, filepath.Join(lib, library.CatalogFile))
	if err != nil {
		tb.Fatal(err)
	}
	defer cat.Close()
	model, _, err := cat.Setting(ctx, catalog.KeyModelID)
	if err != nil {
		tb.Fatal(err)
	}
	dim := 0
	if err := cat.EachEmbedding(ctx, func(id int64, primary bool, emb []float32) error { dim = len(emb); return nil }); err != nil || dim == 0 {
		tb.Fatalf("embedding dimension: %v (%d)", err, dim)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b catalog.Batch
	for p := range n {
		person := fmt.Sprintf("gen_%05d", p)
		for i := range 1 {
			v := make([]float32, dim)
			var norm float64
			for k := range v {
				v[k] = float32(rng.NormFloat64())
				norm += float64(v[k]) * float64(v[k])
			}
			for k := range v {
				v[k] /= float32(math.Sqrt(norm))
			}
			path := fmt.Sprintf("%s/%d.jpg", person, i)
			h := sha256.Sum256([]byte(path))
			b.Put = append(b.Put, catalog.Image{Path: path, Person: person, Size: 1000, MtimeNS: 1, SHA256: h[:],
				Width: 112, Height: 112, Status: catalog.StatusOK, Model: model,
				Faces: []catalog.Face{{Box: [4]float32{0, 0, 112, 112}, Score: 0.9, Primary: true, Embedding: v, Model: model}}})
		}
	}
	if err := cat.Apply(ctx, &b); err != nil {
		tb.Fatal(err)
	}
}

// browser starts headless Chromium with the given languages.
func browser(tb testing.TB, lang string) context.Context {
	tb.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testenv.Chromium(tb)),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("lang", lang), chromedp.Flag("accept-lang", lang), chromedp.Env("LANGUAGE=" + lang),
		chromedp.UserDataDir(tb.TempDir()), chromedp.WindowSize(1100, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancelA)
	bctx, cancelB := chromedp.NewContext(actx)
	tb.Cleanup(cancelB)
	ctx, cancel := context.WithTimeout(bctx, 5*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func screenshot(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	if !*updateScreenshot && os.Getenv("FACESEARCH_UPDATE_SCREENSHOT") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(docsFile(name), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// screenshotView captures the viewport only (the grid goes on for pages).
func screenshotView(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	if !*updateScreenshot && os.Getenv("FACESEARCH_UPDATE_SCREENSHOT") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(docsFile(name), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func evalT[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func poll(tb testing.TB, ctx context.Context, what, expr string) {
	tb.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		tb.Fatalf("%s: waiting for %s: %v", what, expr, err)
	}
}

// laidOut is a JavaScript check that every element matching sel whose text
// contains text has a width and height and does not overflow its box or its
// card (the nearest .card, .person-card, .look, .finding, .pair, li).
func laidOut(sel, text string) string {
	return fmt.Sprintf(`(() => {
	  const es = Array.from(document.querySelectorAll(%q)).filter(e => e.textContent.includes(%q));
	  if (!es.length) return "no element " + %q;
	  for (const e of es) {
	    const r = e.getBoundingClientRect();
	    if (r.width <= 0 || r.height <= 0) return "zero size " + r.width + "x" + r.height;
	    if (e.scrollWidth > e.clientWidth + 1) return "overflows itself " + e.scrollWidth + ">" + e.clientWidth;
	    const c = e.closest(".card, .person-card, .look, .finding, .pair, li, h2") || e.parentElement;
	    const cr = c.getBoundingClientRect();
	    if (r.right > cr.right + 1 || r.left < cr.left - 1) return "overflows its card " + r.right + ">" + cr.right;
	    if (c.scrollWidth > c.clientWidth + 1) return "card scrolls " + c.scrollWidth + ">" + c.clientWidth;
	  }
	  return "ok";
	})()`, sel, text, sel)
}

func TestBrowserPeople(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	testenv.Chromium(t)
	dataset, jpPhoto := peopleDataset(t)
	lib := filepath.Join(t.TempDir(), "lib")
	index(t, lib, dataset)
	addGenerated(t, lib, generatedPeople)
	base := serve(t, lib)
	ctx := browser(t, "en-US")
	C := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	total := generatedPeople + 7

	t.Run("search empty and error states", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(C("#drop"))); err != nil {
			t.Fatal(err)
		}
		// Before any search: no photo, no "People" heading, no results title.
		for _, id := range []string{"query", "photo", "results-title"} {
			if v := evalT[bool](t, ctx, `document.getElementById("`+id+`").offsetParent !== null`); v {
				t.Errorf("#%s is shown before any search", id)
			}
		}
		// A file that is not an image: an error, and still no broken photo.
		notImage := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(notImage, []byte("not an image"), 0o644)
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(C("#file"), []string{notImage})); err != nil {
			t.Fatal(err)
		}
		poll(t, ctx, "error state", `document.getElementById("search-status").classList.contains("error")`)
		status := evalT[string](t, ctx, `document.getElementById("search-status").textContent`)
		if !strings.Contains(status, "not") || evalT[bool](t, ctx, `document.getElementById("query").offsetParent !== null`) {
			t.Errorf("after a non-image: status %q, query shown %v", status, evalT[bool](t, ctx, `document.getElementById("query").offsetParent !== null`))
		}
		screenshot(t, ctx, "screenshot-search-error.png")
		// A photo without a face.
		blank := filepath.Join(t.TempDir(), "blank.png")
		os.WriteFile(blank, blankPNG(320, 240), 0o644)
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(C("#file"), []string{blank})); err != nil {
			t.Fatal(err)
		}
		poll(t, ctx, "no face", `document.getElementById("search-status").textContent.includes("no face")`)
		if evalT[bool](t, ctx, `document.getElementById("query").offsetParent !== null`) {
			t.Error("after no face: the photo panel is shown")
		}
	})

	t.Run("people grid", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#people"), chromedp.WaitVisible(C("#person-list .person-card"))); err != nil {
			t.Fatal(err)
		}
		poll(t, ctx, "count", `document.getElementById("people-count").textContent.includes("of")`)
		count := evalT[string](t, ctx, `document.getElementById("people-count").textContent`)
		if want := fmt.Sprintf("1–100 of %s people", commas(total)); count != want {
			t.Errorf("count %q, want %q", count, want)
		}
		if n := evalT[int](t, ctx, `document.querySelectorAll("#person-list .person-card").length`); n != 100 {
			t.Errorf("%d cards on the first page, want 100", n)
		}
		// Real people have their face; generated ones (no crop) an initial.
		// Sorted by name (bytes): alex_lacamoire, biden, then gen_00000...
		poll(t, ctx, "thumbnails", `["alex_lacamoire", "biden"].every(p => { const i = document.querySelector('.person-card[data-person="' + p + '"] img.thumb'); return !!i && i.complete && i.naturalWidth > 0 })`)
		poll(t, ctx, "initials", `!!document.querySelector('.person-card[data-person="gen_00000"] .thumb.initial')`)
		// Paging reaches the last person.
		for page := 1; page < (total+99)/100; page++ {
			before := evalT[string](t, ctx, `document.getElementById("people-count").textContent`)
			if err := chromedp.Do(ctx, chromedp.Click(C("#people-next"))); err != nil {
				t.Fatal(err)
			}
			poll(t, ctx, "next page", fmt.Sprintf(`document.getElementById("people-count").textContent !== %q`, before))
			if page == 1 {
				if got := evalT[string](t, ctx, `document.getElementById("people-count").textContent`); got != fmt.Sprintf("101–200 of %s people", commas(total)) {
					t.Errorf("page 2: %q", got)
				}
			}
		}
		last := evalT[string](t, ctx, `Array.from(document.querySelectorAll("#person-list .person-card")).pop().dataset.person`)
		if last != japaneseName || !evalT[bool](t, ctx, `document.getElementById("people-next").disabled`) {
			t.Errorf("last person %q (want %q), next disabled %v", last, japaneseName, evalT[bool](t, ctx, `document.getElementById("people-next").disabled`))
		}
		// Sorting by photos puts obama (11 photos) first; the filter is
		// applied by the server over all people.
		choose(t, ctx, "person-sort", "photos")
		poll(t, ctx, "sort by photos", `document.querySelector("#person-list .person-card").dataset.person === "obama"`)
		poll(t, ctx, "thumbnails", `Array.from(document.querySelectorAll("#person-list .person-card")).slice(0, 5).every(c => { const i = c.querySelector("img.thumb"); return !!i && i.complete && i.naturalWidth > 0 })`)
		screenshotView(t, ctx, "screenshot-people.png")
		if err := chromedp.Do(ctx, chromedp.SendKeys(C("#person-filter"), "gen_0499")); err != nil {
			t.Fatal(err)
		}
		poll(t, ctx, "filter", `document.getElementById("people-count").textContent === "1–10 of 10 people"`)
	})

	t.Run("person page", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#people/obama"), chromedp.WaitVisible(C("#person-faces .card"))); err != nil {
			t.Fatal(err)
		}
		own := evalT[int](t, ctx, `document.querySelectorAll("#person-faces .card").length`)
		badges := evalT[int](t, ctx, `document.querySelectorAll("#person-faces .badge").length`)
		others := evalT[int](t, ctx, `document.querySelectorAll("#person-others .card").length`)
		t.Logf("obama: %d own faces, %d other faces", own, others)
		if own < 8 || badges != 0 {
			t.Errorf("obama: %d own faces (want >= 8), %d 'not the main face' badges among them", own, badges)
		}
		if others > 0 && evalT[int](t, ctx, `document.querySelectorAll("#person-others .badge").length`) != others {
			t.Error("other faces lack their badge")
		}
		poll(t, ctx, "crops", `Array.from(document.querySelectorAll("#person-faces img")).every(i => i.complete && i.naturalWidth > 0)`)
		screenshot(t, ctx, "screenshot-person.png")
	})

	t.Run("stale person reply", func(t *testing.T) {
		// obama's reply is held back 1.5 s while biden's page is opened: the
		// late reply must not fill biden's page with obama's faces.
		evalT[bool](t, ctx, `(() => {
		  const orig = window.fetch;
		  window.fetch = (u, o) => String(u).startsWith("/api/persons/obama") ? new Promise((r) => setTimeout(r, 1500)).then(() => orig(u, o)) : orig(u, o);
		  window.staleDone = false;
		  Promise.all([showPeople("obama"), showPeople("biden")]).finally(() => { window.fetch = orig; window.staleDone = true; });
		  return true;
		})()`)
		poll(t, ctx, "both replies", `window.staleDone === true`)
		got := evalT[string](t, ctx, `document.getElementById("person-name").textContent + ": " + Array.from(document.querySelectorAll("#person-faces .card")).map((c) => c.dataset.person).join(",")`)
		if got != "biden: biden,biden" {
			t.Errorf("person page after a late reply for obama: %q, want biden's 2 faces", got)
		}
	})

	t.Run("look-alikes", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#lookalikes"), chromedp.WaitVisible(C("#looks .look"))); err != nil {
			t.Fatal(err)
		}
		n := evalT[int](t, ctx, `document.querySelectorAll("#looks .look").length`)
		names := evalT[string](t, ctx, `document.querySelector("#looks .look .look-names").textContent`)
		t.Logf("%d look-alike pairs, first %q", n, names)
		// Generated people have random faces: only real people are alike.
		if n < 1 || strings.Contains(names, "gen_") {
			t.Errorf("%d pairs, first %q", n, names)
		}
		poll(t, ctx, "evidence crops", `Array.from(document.querySelectorAll("#looks .look img")).slice(0, 4).every(i => i.complete && i.naturalWidth > 0)`)
		if s := evalT[string](t, ctx, `document.getElementById("looks-sim").dataset.similarity + " | " + document.getElementById("looks-sim").textContent`); s != "raw | Similarity: raw cosine" {
			t.Errorf("look-alikes similarity label %q", s)
		}
		screenshot(t, ctx, "screenshot-lookalikes.png")
	})

	t.Run("Japanese", func(t *testing.T) {
		ja := browser(t, "ja-JP")
		if err := chromedp.Do(ja, chromedp.Navigate(base+"/"), chromedp.WaitVisible(C("#drop"))); err != nil {
			t.Fatal(err)
		}
		// A CJK font is installed: two different kana draw differently (a
		// missing font draws the same .notdef box for both).
		if !evalT[bool](t, ja, cjkGlyphs) {
			t.Error("Japanese text renders as boxes: install a CJK font (deps/apt.txt: fonts-noto-cjk)")
		}
		if nav := evalT[string](t, ja, `document.querySelector('nav a[data-tab="people"]').textContent`); nav != "人物" {
			t.Errorf("navigator language ja-JP: People tab reads %q", nav)
		}
		// Search with the held-out photo of the Japanese-named person.
		if err := chromedp.Do(ja, chromedp.SetUploadFiles(C("#file"), []string{jpPhoto}), chromedp.WaitVisible(C("#results .card"))); err != nil {
			t.Fatal(err)
		}
		if first := evalT[string](t, ja, `document.querySelector("#results .card").dataset.person`); first != japaneseName {
			t.Errorf("first match %q, want %q", first, japaneseName)
		}
		if got := evalT[string](t, ja, laidOut("#results .card .person", japaneseName)); got != "ok" {
			t.Errorf("search results: %s", got)
		}
		if got := evalT[string](t, ja, laidOut("#person-summary li strong", japaneseName)); got != "ok" {
			t.Errorf("search summary: %s", got)
		}
		// Generated people have no crop: an initial, never a broken image.
		poll(t, ja, "no broken crops", `document.querySelectorAll("#results .card .thumb.initial").length > 0 && Array.from(document.querySelectorAll("#results .card img")).every(i => i.complete && i.naturalWidth > 0)`)
		if s := evalT[string](t, ja, `document.getElementById("search-status").textContent`); !strings.Contains(s, "顔を") {
			t.Errorf("status %q is not Japanese", s)
		}
		if s := evalT[string](t, ja, `document.getElementById("search-sim").textContent`); s != "類似度の尺度：モデルのコサイン（調整なし）" {
			t.Errorf("search similarity label %q, want the raw cosine in Japanese", s)
		}
		screenshot(t, ja, "screenshot-search-ja.png")
		// People grid, filtered to the Japanese name.
		if err := chromedp.Do(ja, chromedp.Navigate(base+"/#people"), chromedp.WaitVisible(C("#person-list .person-card")),
			chromedp.SendKeys(C("#person-filter"), "ジェニー")); err != nil {
			t.Fatal(err)
		}
		poll(t, ja, "filter", `document.querySelectorAll("#person-list .person-card").length === 1`)
		if got := evalT[string](t, ja, laidOut(".person-card .name", japaneseName)); got != "ok" {
			t.Errorf("people grid: %s", got)
		}
		// The thumbnail is a typical photo, not the misfiled one.
		thumbFile, err := chromedp.Run(ja, chromedp.Evaluate[string](fmt.Sprintf(`(async () => { const p = await (await fetch("/api/persons?q=" + encodeURIComponent(%q))).json(); return (await (await fetch("/api/faces/" + p.persons[0].face_id)).json()).file })()`, japaneseName), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(thumbFile, "misfiled.jpg") || !strings.HasPrefix(thumbFile, japaneseName+"/") {
			t.Errorf("thumbnail of %s is %s", japaneseName, thumbFile)
		}
		if c := evalT[string](t, ja, `document.getElementById("people-count").textContent`); c != "1 人中 1–1 人目" {
			t.Errorf("count %q", c)
		}
		screenshot(t, ja, "screenshot-people-ja.png")
		if err := chromedp.Do(ja, chromedp.Navigate(base+"/#people/"+japaneseName), chromedp.WaitVisible(C("#person-faces .card"))); err != nil {
			t.Fatal(err)
		}
		if got := evalT[string](t, ja, laidOut("#person-name", japaneseName)); got != "ok" {
			t.Errorf("person page: %s", got)
		}
		// Cleansing: findings or pairs naming the Japanese person.
		if err := chromedp.Do(ja, chromedp.Navigate(base+"/#cleansing"), chromedp.WaitVisible(C("#cleansing-body"))); err != nil {
			t.Fatal(err)
		}
		poll(t, ja, "pairs", `document.getElementById("n-pairs").textContent !== ""`)
		sel := "#findings .finding .names, #pairs .pair .muted"
		// The planted misfiled.jpg is a byte-identical copy of
		// obama/knn_train_obama.jpg: a duplicate finding naming the person
		// always exists.
		if evalT[bool](t, ja, fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).some(e => e.textContent.includes(%q))`, sel, japaneseName)) {
			if got := evalT[string](t, ja, laidOut(sel, japaneseName)); got != "ok" {
				t.Errorf("cleansing: %s", got)
			}
		} else {
			t.Errorf("cleansing names no finding or pair of %s: its layout is not checked", japaneseName)
		}
		// The person filter narrows the pairs panel as well as the findings.
		if err := chromedp.Do(ja, chromedp.SendKeys(C("#f-person"), "obama")); err != nil {
			t.Fatal(err)
		}
		poll(t, ja, "pairs filtered by person", `(() => { const ps = Array.from(document.querySelectorAll("#pairs .pair > .muted")); return ps.length > 0 && ps.every(e => e.textContent.includes("obama")) })()`)
		// A person in no pair leaves the panel empty (unfiltered, the obama
		// pairs would stay).
		evalT[bool](t, ja, `(() => { const e = document.getElementById("f-person"); e.value = "kit_harington"; return e.dispatchEvent(new Event("input")) })()`)
		poll(t, ja, "pairs of another person", `document.getElementById("n-pairs").textContent.startsWith("（フォルダの組 0、") && document.querySelectorAll("#pairs .pair").length === 0`)
		if h := evalT[string](t, ja, `document.querySelector("#tab-cleansing h2 span").textContent`); h != "指摘" {
			t.Errorf("cleansing heading %q", h)
		}
		if s := evalT[string](t, ja, `document.getElementById("cleansing-sim").textContent`); !strings.HasPrefix(s, "類似度の尺度：") {
			t.Errorf("cleansing similarity label %q is not Japanese", s)
		}
		screenshot(t, ja, "screenshot-cleansing-ja.png")
		// Switching back to English.
		choose(t, ja, "lang", "en")
		poll(t, ja, "English", `document.querySelector('nav a[data-tab="people"]').textContent === "People"`)
	})
}

// cjkGlyphs draws あ and い on a canvas and reports whether they differ.
const cjkGlyphs = `(() => {
  const draw = (ch) => { const c = document.createElement("canvas"); c.width = c.height = 40;
    const x = c.getContext("2d"); x.font = "32px sans-serif"; x.fillText(ch, 2, 34);
    return Array.from(x.getImageData(0, 0, 40, 40).data).join(","); };
  return draw("あ") !== draw("い");
})()`

// choose selects value in the <select> id as a user would.
func choose(tb testing.TB, ctx context.Context, id, value string) {
	tb.Helper()
	evalT[bool](tb, ctx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; return e.dispatchEvent(new Event("change")) })()`, id, value))
}

// commas formats n like toLocaleString in en-US.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
