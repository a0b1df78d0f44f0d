package cli

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestExpandPhotos(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b/2.jpg", "a.png", "b/1.JPEG", ".hidden/x.jpg", "notes.txt", "b/.x.jpg"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	got, err := expandPhotos([]string{"q.jpg", dir, "missing.jpg"})
	want := []string{"q.jpg", filepath.Join(dir, "a.png"), filepath.Join(dir, "b/1.JPEG"), filepath.Join(dir, "b/2.jpg"), "missing.jpg"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("expandPhotos: %v %v, want %v", got, err, want)
	}
	empty := t.TempDir()
	if _, err := expandPhotos([]string{empty}); err == nil || ExitCode(err) != 2 {
		t.Errorf("empty folder: %v", err)
	}
}

func TestSearchCSV(t *testing.T) {
	out := &searchJSON{Queries: []queryJSON{
		{Source: "q.jpg", Face: &qfaceJSON{Index: 2}, Results: []resultJSON{
			{Rank: 1, FaceID: 7, Similarity: 0.81234, SamePerson: true, Person: "佐藤", Path: "佐藤/a.jpg"},
			{Rank: 2, FaceID: 9, Similarity: 0.1, Person: "=cmd", Path: "=cmd/b.jpg"},
		}},
		{Source: "bad.jpg", Error: "no face found", Results: []resultJSON{}},
	}}
	var b bytes.Buffer
	if err := writeSearchCSV(&b, out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{searchCSVHeader,
		{"q.jpg", "2", "1", "7", "0.8123", "true", "佐藤", "佐藤/a.jpg", ""},
		{"q.jpg", "2", "2", "9", "0.1000", "false", "'=cmd", "'=cmd/b.jpg", ""},
		{"bad.jpg", "", "", "", "", "", "", "", "no face found"}}
	if len(rows) != len(want) {
		t.Fatalf("rows %v", rows)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
}
