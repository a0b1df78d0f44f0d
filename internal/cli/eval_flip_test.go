package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

// TestEvalLFWFlip: --flip stores flip-averaged embeddings under the model id
// faceplugin-v1+flip with a manifest that says so, and the library is then
// refused for a single-pass evaluation instead of being mixed.
func TestEvalLFWFlip(t *testing.T) {
	orttest.Manifest(t)
	if testing.Short() {
		t.Skip("embeds 24 real photos twice each")
	}
	dir := miniLFW(t, 8)
	tmp := t.TempDir()
	lib, out := filepath.Join(tmp, "lib"), filepath.Join(tmp, "out")
	if stdout, stderr, err := runEvalCmd(t, "eval", "lfw", "--flip", "--library", lib, "--out", out, "--far", "0.05", dir); err != nil {
		t.Fatalf("eval lfw --flip: %v\n%s\n%s", err, stdout, stderr)
	}
	var s eval.LFWResult
	readJSON(t, filepath.Join(out, "eval-lfw.json"), &s)
	want := model.DefaultName + model.FlipSuffix
	if s.Model != want || s.Images != 24 || s.AUC < 0.9 {
		t.Errorf("summary model %q, %d images, AUC %.3f; want %q, 24, ≥ 0.9", s.Model, s.Images, s.AUC, want)
	}
	l, err := library.Open(context.Background(), library.Options{Dir: lib, Backend: faissidx.Backend{}, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.Manifest(context.Background())
	l.Close()
	if err != nil || m == nil || !m.FlipAverage || m.ID() != want {
		t.Errorf("stored manifest %+v (%v): want flip_average and id %q", m, err, want)
	}

	_, _, err = runEvalCmd(t, "eval", "lfw", "--no-index", "--library", lib, "--out", "", dir)
	if err == nil || !strings.Contains(err.Error(), "holds "+want+" embeddings") {
		t.Errorf("single-pass eval of a flip library: err %v, want a refusal naming %s", err, want)
	}
}
