package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/library"
)

// runCleanseCmd runs a command and returns stdout, stderr and its error.
func runCleanseCmd(tb testing.TB, args ...string) (string, string, error) {
	tb.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{Stdout: &out, Stderr: &errb, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Getenv: func(k string) string {
			if k == "LANG" || k == "LC_ALL" || k == "LC_MESSAGES" || k == "FACESEARCH_LIBRARY" {
				return ""
			}
			return os.Getenv(k)
		}}
	err := runEnv(context.Background(), env, args)
	return out.String(), errb.String(), err
}

// TestCleanseSimilarity: pairs, audit and lookalikes name the similarity
// they compared in (JSON "similarity", the stderr header, the HTML
// report); --similarity adapted is an error naming the reason on a library
// without a kept adaptation, and on one with it compares the adapted
// vectors with levels carried over from the raw ones.
func TestCleanseSimilarity(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	lib, _, _ := plantedLibrary(t, r, 24, 8)
	type doc struct {
		Schema     string  `json:"schema"`
		Similarity string  `json:"similarity"`
		Threshold  float64 `json:"threshold"`
		Min        float64 `json:"min"`
	}
	run := func(t *testing.T, args ...string) (doc, string) {
		t.Helper()
		out, errs, err := runCleanseCmd(t, args...)
		if err != nil {
			t.Fatalf("facesearch %s: %v\n%s", strings.Join(args, " "), err, errs)
		}
		var d doc
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("%s --json: %v\n%s", args[0], err, out)
		}
		return d, errs
	}
	cmds := []string{"pairs", "audit", "lookalikes"}
	l := libOpen(t, lib)
	if a, err := l.Adaptation(); err != nil || a != nil && a.Kept {
		t.Fatalf("the planted library's adaptation: %+v, %v; want none kept before the test fits one", a, err)
	}
	l.Close()
	rawThr := map[string]float64{}
	for _, c := range cmds {
		d, errs := run(t, c, "--library", lib, "--json")
		if d.Similarity != "raw" {
			t.Errorf("%s --json: similarity %q, want raw", c, d.Similarity)
		}
		if !strings.Contains(errs, c+": similarity raw") {
			t.Errorf("%s: stderr does not name the similarity:\n%s", c, errs)
		}
		rawThr[c] = d.Threshold
		_, errs, err := runCleanseCmd(t, c, "--library", lib, "--similarity", "adapted")
		if !errors.Is(err, library.ErrNoAdaptedSimilarity) {
			t.Errorf("%s --similarity adapted without an adaptation: %v, want ErrNoAdaptedSimilarity", c, err)
		}
		if _, _, err := runCleanseCmd(t, c, "--library", lib, "--similarity", "cosine"); err == nil || !strings.Contains(err.Error(), "want raw or adapted") {
			t.Errorf("%s --similarity cosine: %v, want a usage error", c, err)
		}
	}

	ctx := context.Background()
	env := &cmdEnv{Stdout: io.Discard, Stderr: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Getenv: os.Getenv}
	w, err := openLibrary(ctx, env, lib, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.Adapt(ctx, library.AdaptOptions{Force: true, Select: adapt.SelectOptions{MinGain: -1,
		Candidates: []adapt.Params{{Kind: adapt.KindWCCN, Dim: 16, Shrink: 0.5}}}})
	w.Close()
	if err != nil || !a.Kept {
		t.Fatalf("adapt: %+v, %v", a, err)
	}
	html := filepath.Join(t.TempDir(), "r.html")
	for _, c := range cmds {
		d, errs := run(t, c, "--library", lib, "--json", "--similarity", "adapted", "--html", html)
		if d.Similarity != a.Similarity() {
			t.Errorf("%s --similarity adapted: JSON similarity %q, want %q", c, d.Similarity, a.Similarity())
		}
		if !strings.Contains(errs, c+": similarity "+a.Similarity()) {
			t.Errorf("%s --similarity adapted: stderr does not name the similarity:\n%s", c, errs)
		}
		if c != "pairs" && (d.Threshold == rawThr[c] || d.Threshold <= -1 || d.Threshold >= 1) {
			t.Errorf("%s --similarity adapted: threshold %v, want the raw %v carried over to the adapted similarity", c, d.Threshold, rawThr[c])
		}
		b, err := os.ReadFile(html)
		if err != nil || !bytes.Contains(b, []byte(a.Similarity())) {
			t.Errorf("%s --html: the report does not name the similarity %s (%v)", c, a.Similarity(), err)
		}
		// The library's own default stays raw.
		if d, _ := run(t, c, "--library", lib, "--json"); d.Similarity != "raw" {
			t.Errorf("%s --json on an adapted library: similarity %q, want raw (the cleansing default)", c, d.Similarity)
		}
	}
}
