// Package reporttest checks HTML reports in a real browser (headless
// Chromium driven by chromedp). It is meant for tests only.
package reporttest

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/testenv"

	"github.com/chromedp/chromedp"
)

// endMarker is logged by the page check to know every earlier console
// message has been seen.
const endMarker = "reporttest: end of checks"

// Result is what the browser saw.
type Result struct {
	// Problems are console errors and warnings, uncaught exceptions and
	// browser log entries of level warning or error.
	Problems []string
	// Text is the page's visible text (document.body.innerText).
	Text string
	// Images is the number of <img> elements; Broken those that did not
	// decode.
	Images, Broken int
}

// Open loads the HTML file in headless Chromium and returns what it saw. It
// skips tb when Chromium is absent (fails under CI=true).
func Open(tb testing.TB, file string) Result {
	tb.Helper()
	exe := testenv.Chromium(tb)
	abs, err := filepath.Abs(file)
	if err != nil {
		tb.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	timer := time.AfterFunc(90*time.Second, cancel)
	defer timer.Stop()

	var res Result
	var mu sync.Mutex
	ended := make(chan struct{})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(ended)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Text == endMarker {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				mu.Lock()
				res.Problems = append(res.Problems, m.String())
				mu.Unlock()
			}
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs), chromedp.WaitReady("body")); err != nil {
		tb.Fatalf("chromium: open %s: %v", file, err)
	}
	if res.Text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); err != nil {
		tb.Fatalf("chromium: %s: %v", file, err)
	}
	if res.Images, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.images.length`)); err != nil {
		tb.Fatalf("chromium: %s: %v", file, err)
	}
	if res.Broken, err = chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length`)); err != nil {
		tb.Fatalf("chromium: %s: %v", file, err)
	}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[chromedp.Void](`console.log(`+"`"+endMarker+"`"+`)`)(ctx, t)
		return err
	})); err != nil {
		tb.Fatalf("chromium: %s: %v", file, err)
	}
	<-ended
	mu.Lock()
	defer mu.Unlock()
	return res
}

// Check opens the file and fails tb when the browser reported a problem, an
// image did not decode, or one of want is not visible in the page.
func Check(tb testing.TB, file string, want ...string) Result {
	tb.Helper()
	res := Open(tb, file)
	if len(res.Problems) > 0 {
		tb.Errorf("%s: the browser reported problems: %q", file, res.Problems)
	}
	if res.Broken > 0 {
		tb.Errorf("%s: %d of %d images did not load", file, res.Broken, res.Images)
	}
	for _, w := range want {
		if !strings.Contains(res.Text, w) {
			tb.Errorf("%s: %q is not visible in the page", file, w)
		}
	}
	return res
}
