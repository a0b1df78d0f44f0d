package report

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeCrop returns a 2x2 PNG of one colour.
func fakeCrop(tb testing.TB, c color.RGBA) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for y := range 2 {
		for x := range 2 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// tiny is a small report with a planted pair of look-alike folders.
func tiny(tb testing.TB) *Report {
	red, blue := fakeCrop(tb, color.RGBA{200, 30, 30, 255}), fakeCrop(tb, color.RGBA{30, 30, 200, 255})
	return &Report{
		Title:   "facesearch audit <test>",
		Summary: []Item{{"Threshold", "0.29"}, {"Faces", "42"}},
		Sections: []Section{
			{
				Title: "Folders that are one person",
				Intro: "Folders whose faces match each other about as well as they match themselves.",
				Findings: []Finding{{
					Title:    "山田太郎 and Yamada_Taro",
					Severity: "high",
					Reason:   `"山田太郎" and "Yamada_Taro" look like one person.`,
					Metrics:  []Item{{"cross median", "0.66"}, {"self median", "0.64"}},
					Matches: []Match{
						{Faces: []Face{{Crop: red, Person: "山田太郎", File: "山田太郎/写真 1.jpg"}, {Crop: blue, Person: "Yamada_Taro", File: "Yamada_Taro/a&b <1>.jpg"}}, Similarity: 0.8123, Note: "best match"},
						{Faces: []Face{{Crop: nil, Person: "山田太郎", File: "missing.jpg"}, {Crop: []byte("not an image"), Person: "Yamada_Taro", File: "bad.jpg"}}, Similarity: 0.5},
					},
				}},
			},
			{
				Title: "Outliers",
				Findings: []Finding{{
					Title: "an outlier", Severity: "medium\" onload=\"x", Reason: "far from its folder",
					Matches: []Match{{Faces: []Face{{Crop: red, Person: "p", File: "p/1.jpg"}}, Note: "alone"}},
				}},
			},
			{Title: "Near-duplicates"},
		},
	}
}

func TestGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, tiny(t)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "tiny.golden.html")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("report differs from %s (run go test -update after checking the change)", golden)
	}
	out := b.String()
	for _, bad := range []string{"http://", "https://", "<script", `onload="x`} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	if n := strings.Count(out, `src="data:image/png;base64,`); n != 3 {
		t.Errorf("%d embedded PNG crops, want 3", n)
	}
	if n := strings.Count(out, `class="nocrop"`); n != 2 {
		t.Errorf("%d crop placeholders, want 2", n)
	}
}

func TestOpensInChromium(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.html")
	var b bytes.Buffer
	if err := Write(&b, tiny(t)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := reporttest.Check(t, file, "山田太郎", "Yamada_Taro", "0.812", "Nothing found.")
	if res.Images != 3 {
		t.Errorf("the page shows %d images, want 3", res.Images)
	}
}

// TestBrowserCheckCatchesProblems makes sure the browser check can fail: a
// page with a console error and a broken image.
func TestBrowserCheckCatchesProblems(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.html")
	page := `<!DOCTYPE html><html><body><p>hello</p><img src="data:image/png;base64,AAAA"><script>console.error("boom")</script></body></html>`
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	res := reporttest.Open(t, file)
	if len(res.Problems) == 0 || res.Broken != 1 || !strings.Contains(res.Text, "hello") {
		t.Errorf("bad page: problems %q, broken images %d, text %q", res.Problems, res.Broken, res.Text)
	}
}
