package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facesearch/facesearch/internal/testenv"
)

// lfwVerdictSet lays out a calibrated library's dataset: 45 LFW people with
// 8-15 photos (all but the last; symlinks), and returns it with the held-out
// last photo of one of them and the photo of a single-photo LFW person.
func lfwVerdictSet(tb testing.TB) (root, known, knownPerson, stranger string) {
	tb.Helper()
	lfw := filepath.Join(testenv.Faces(tb), "lfw")
	ents, err := os.ReadDir(lfw)
	if err != nil {
		testenv.Missing(tb, "LFW: %v", err)
	}
	var many []string
	photos := map[string][]string{}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		fs, _ := os.ReadDir(filepath.Join(lfw, e.Name()))
		for _, f := range fs {
			if strings.HasSuffix(f.Name(), ".jpg") {
				photos[e.Name()] = append(photos[e.Name()], f.Name())
			}
		}
		sort.Strings(photos[e.Name()])
		switch n := len(photos[e.Name()]); {
		case n >= 8 && n <= 15:
			many = append(many, e.Name())
		case n == 1 && stranger == "" && strings.HasPrefix(e.Name(), "M"):
			stranger = filepath.Join(lfw, e.Name(), photos[e.Name()][0])
		}
	}
	sort.Strings(many)
	if len(many) < 45 || stranger == "" {
		testenv.Missing(tb, "LFW incomplete")
	}
	root = tb.TempDir()
	for i := 0; i < 45; i++ {
		n := many[i*len(many)/45]
		ps := photos[n]
		for _, f := range ps[:len(ps)-1] {
			os.MkdirAll(filepath.Join(root, n), 0o755)
			if err := os.Symlink(filepath.Join(lfw, n, f), filepath.Join(root, n, f)); err != nil {
				tb.Fatal(err)
			}
		}
		if i == 7 {
			known, knownPerson = filepath.Join(lfw, n, ps[len(ps)-1]), n
		}
	}
	return root, known, knownPerson, stranger
}

// TestBrowserVerdict uploads a stranger's photo and then a held-out photo of
// a library person through the page: the stranger gets the "no confident
// match" state and no match badge, the known person a match verdict naming
// them.
func TestBrowserVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	bin := testenv.Chromium(t)
	root, known, person, stranger := lfwVerdictSet(t)
	base := liveServer(t, root)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()
	C := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	upload := func(file string) (verdict, text string, matchBadges int) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("verdict").hidden = true; document.getElementById("results").replaceChildren(); true`)); err != nil {
			t.Fatal(err)
		}
		err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(C("#file"), []string{file}),
			chromedp.WaitVisible(C("#verdict")),
			chromedp.WaitVisible(C("#results .card")),
		)
		if err != nil {
			t.Fatalf("upload %s: %v", file, err)
		}
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(C("#verdict"), "data-verdict"))
		if err != nil {
			t.Fatal(err)
		}
		txt, _ := chromedp.Run(ctx, chromedp.Text(C("#verdict")))
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#results .badge.same, #person-summary .badge.same").length`))
		return v.Value, txt, n
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(C("#drop"))); err != nil {
		t.Fatal(err)
	}
	v, txt, badges := upload(stranger)
	t.Logf("stranger: %s %q, %d match badges", v, txt, badges)
	if v != "no_match" || !strings.Contains(txt, "No confident match") || badges != 0 {
		t.Errorf("stranger %s: verdict %q, text %q, %d match badges; want no_match, \"No confident match\", none", filepath.Base(stranger), v, txt, badges)
	}
	if !strings.Contains(txt, "A stranger scores this high") {
		t.Errorf("stranger: no stranger rate in %q", txt)
	}
	v, txt, badges = upload(known)
	t.Logf("known: %s %q, %d match badges", v, txt, badges)
	if v != "match" || !strings.Contains(txt, person) || badges == 0 {
		t.Errorf("known %s: verdict %q, text %q, %d match badges; want match naming %s", filepath.Base(known), v, txt, badges, person)
	}
}
