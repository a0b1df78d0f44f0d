package e2e_test

// Browser search and the live JSON API: a real library (real models, real
// faiss) built from ../shared/faces, served by `facesearch serve`, driven by
// headless Chromium and by a bounded load test.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/testenv"

	"github.com/chromedp/chromedp"
)

// TestBrowserSearch uploads a photo through the page in headless Chromium and
// checks the result grid: the held-out photo's person comes first.
func TestBrowserSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	bin := testenv.Chromium(t)
	root := testenv.FacesSet(t, "face_recognition")
	const query, want = "kit_harington/knn_test_johnsnow_test1.jpg", "kit_harington"
	base := liveServer(t, heldOut(t, root, query))

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()

	C := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	eval := func(expr string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return n
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(C("#drop")),
		chromedp.SetUploadFiles(C("#file"), []string{filepath.Join(root, query)}),
		chromedp.WaitVisible(C("#results .card")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	first, err := chromedp.Run(ctx, chromedp.AttributeValue(C("#results .card"), "data-person"))
	if err != nil {
		t.Fatal(err)
	}
	status, _ := chromedp.Run(ctx, chromedp.Text(C("#search-status")))
	if sim, _ := chromedp.Run(ctx, chromedp.Text(C("#search-sim"))); sim != "Similarity: raw cosine" {
		t.Errorf("search similarity label %q, want the raw cosine", sim)
	}
	boxes, cards := eval(`document.querySelectorAll("#boxes .box").length`), eval(`document.querySelectorAll("#results .card").length`)
	t.Logf("status %q; first %q; %d boxes, %d cards", status, first.Value, boxes, cards)
	if first.Value != want {
		t.Errorf("first match is %q, want %q", first.Value, want)
	}
	if boxes < 1 || cards < 2 {
		t.Errorf("%d face boxes and %d result cards", boxes, cards)
	}
	// The crops loaded as images (not errors).
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Array.from(document.querySelectorAll("#results .card img")).slice(0,3).every(i => i.complete && i.naturalWidth > 0)`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("result crops did not load: %v", err)
	}
	if *updateScreenshot || os.Getenv("FACESEARCH_UPDATE_SCREENSHOT") != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(docsFile("screenshot-search.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Clicking a match opens the original image.
	err = chromedp.Do(ctx,
		chromedp.Click(C("#results .card")),
		chromedp.WaitVisible(C("#viewer-img")),
	)
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.getElementById("viewer-img").naturalWidth > 0`, chromedp.WithPollingTimeout(30*time.Second)))
	}
	caption, _ := chromedp.Run(ctx, chromedp.Text(C("#viewer-caption")))
	if err != nil || !strings.Contains(caption, want+"/") {
		t.Errorf("viewer: %v, caption %q", err, caption)
	}

	// People: the folders with their face grids.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/#people/"+want),
		chromedp.WaitVisible(C("#person-faces .card")),
	)
	if err != nil {
		t.Fatalf("people: %v", err)
	}
	if faces := eval(`document.querySelectorAll("#person-faces .card").length`); faces != 2 {
		t.Errorf("people: %d faces of %s (want 2)", faces, want)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/#people"), chromedp.WaitVisible(C("#person-list .person-card")))
	if people := eval(`document.querySelectorAll("#person-list .person-card").length`); err != nil || people != 6 {
		t.Errorf("people: %v, %d people (want 6)", err, people)
	}

	// Cleansing: the findings list appears (possibly empty) with its filters.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/#cleansing"),
		chromedp.WaitVisible(C("#cleansing-body")),
	)
	findings, _ := chromedp.Run(ctx, chromedp.Text(C("#n-findings")))
	if err != nil || !strings.HasPrefix(findings, "(") {
		t.Errorf("cleansing: %v, count %q", err, findings)
	}
	// Pairs are shown grouped by folder pair.
	err = chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelector("#n-pairs").textContent.includes("folder pairs")`, chromedp.WithPollingTimeout(20*time.Second)))
	if pairs, _ := chromedp.Run(ctx, chromedp.Text(C("#n-pairs"))); err != nil {
		t.Errorf("cleansing pairs: %v, heading %q", err, pairs)
	}
}

// TestLiveAPI runs the JSON API against the real library: a photo with no
// face, a non-image, a too-large upload, and the search by embedding.
func TestLiveAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("live API test in -short mode")
	}
	root := testenv.FacesSet(t, "face_recognition")
	base := liveServer(t, heldOut(t, root, "biden/knn_train_biden2.jpg"), "--max-upload", "1")

	post := func(name string, data []byte) (int, map[string]any) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("photo", name)
		fw.Write(data)
		mw.Close()
		resp, err := http.Post(base+"/api/search", mw.FormDataContentType(), &b)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return resp.StatusCode, v
	}
	code := func(v map[string]any) string {
		e, _ := v["error"].(map[string]any)
		s, _ := e["code"].(string)
		return s
	}
	photo, err := os.ReadFile(filepath.Join(root, "biden/knn_train_biden2.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	st, v := post("biden2.jpg", photo)
	if st != 200 {
		t.Fatalf("search: %d %v", st, v)
	}
	ms := v["matches"].([]any)
	first := ms[0].(map[string]any)
	if first["person"] != "biden" || first["same_person"] != true {
		t.Errorf("first match %v, want biden with the same-person badge", first)
	}
	// A blank image has no face.
	if st, v := post("blank.png", blankPNG(320, 240)); st != 422 || code(v) != "no_face" {
		t.Errorf("blank: %d %v", st, v)
	}
	if st, v := post("notes.txt", []byte("not an image at all")); st != 415 || code(v) != "not_image" {
		t.Errorf("text: %d %v", st, v)
	}
	if st, v := post("big.jpg", bytes.Repeat(photo, 1+(2<<20)/len(photo))); st != 413 || code(v) != "too_large" {
		t.Errorf("2 MiB over a 1 MiB limit: %d %v", st, v)
	}
	for _, p := range []string{"/api/images/../../etc/passwd", "/api/images/%2e%2e/%2e%2e/etc/passwd", "/api/images/x/file"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || bytes.Contains(body, []byte("root:")) {
			t.Errorf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
	// The embedding of the first match finds that face first.
	resp, err := http.Get(base + "/api/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if stats["faces"].(float64) < 20 || stats["index_state"] != "fresh" {
		t.Errorf("stats %v", stats)
	}
}

// blankPNG is a mid-grey picture without a face.
func blankPNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// BenchmarkServerLoad runs a bounded load test on loopback: 8 clients search
// with photos for FACESEARCH_LOAD_SECONDS (default 30) or at most
// FACESEARCH_LOAD_MAX requests (default 100000), whichever comes first,
// and reports p50/p99 latency, throughput and the server-side median of
// detect+embed+search. Any error fails the benchmark. Run it once:
//
//	go test -run XXX -bench BenchmarkServerLoad -benchtime 1x ./internal/server
func BenchmarkServerLoad(b *testing.B) {
	root := testenv.FacesSet(b, "face_recognition")
	queries := []string{"kit_harington/knn_test_johnsnow_test1.jpg", "biden/knn_train_biden2.jpg",
		"obama/obama-480p.jpg", "rose_leslie/knn_train_img2.jpg", "alex_lacamoire/knn_train_img1.jpg"}
	base := liveServer(b, root)
	photos := make([][]byte, len(queries))
	for i, q := range queries {
		var err error
		if photos[i], err = os.ReadFile(filepath.Join(root, q)); err != nil {
			b.Fatal(err)
		}
	}
	dur := envDuration(b, "FACESEARCH_LOAD_SECONDS", 30)
	maxReq := envInt(b, "FACESEARCH_LOAD_MAX", 100000)
	const clients = 8
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	search := func(photo []byte) (time.Duration, float64, error) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("photo", "q.jpg")
		fw.Write(photo)
		mw.Close()
		t0 := time.Now()
		resp, err := client.Post(base+"/api/search?k=10", mw.FormDataContentType(), &body)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		var v struct {
			Matches  []json.RawMessage
			TimingMS map[string]float64 `json:"timing_ms"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			return 0, 0, err
		}
		if resp.StatusCode != 200 || len(v.Matches) == 0 {
			return 0, 0, fmt.Errorf("status %d, %d matches", resp.StatusCode, len(v.Matches))
		}
		return time.Since(t0), v.TimingMS["detect_embed"] + v.TimingMS["search"], nil
	}
	// Warm up: one search per photo.
	for _, p := range photos {
		if _, _, err := search(p); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}
	// Warm single-client latency (detect+embed+search on the server).
	var warm []float64
	for i := 0; i < 20; i++ {
		_, srv, err := search(photos[i%len(photos)])
		if err != nil {
			b.Fatal(err)
		}
		warm = append(warm, srv)
	}

	b.ResetTimer()
	deadline := time.Now().Add(dur)
	var (
		mu    sync.Mutex
		lats  []time.Duration
		errs  []error
		count int
	)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; ; i += clients {
				mu.Lock()
				stop := time.Now().After(deadline) || count >= maxReq || len(errs) > 0
				count++
				mu.Unlock()
				if stop {
					return
				}
				d, _, err := search(photos[i%len(photos)])
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					lats = append(lats, d)
				}
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(errs) > 0 {
		b.Fatalf("%d errors under load, first: %v", len(errs), errs[0])
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	sort.Float64s(warm)
	p := func(q float64) float64 { return float64(lats[int(q*float64(len(lats)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(len(lats)), "requests")
	b.ReportMetric(0, "errors")
	b.ReportMetric(warm[len(warm)/2], "warm-server-ms")
	b.Logf("%d clients, %d requests in %.1fs, 0 errors: p50 %.1f ms, p99 %.1f ms, %.1f req/s; warm single query (detect+embed+search, server side) median %.1f ms",
		clients, len(lats), elapsed.Seconds(), p(0.5), p(0.99), float64(len(lats))/elapsed.Seconds(), warm[len(warm)/2])
}

func envDuration(tb testing.TB, name string, defSeconds int) time.Duration {
	return time.Duration(envInt(tb, name, defSeconds)) * time.Second
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
