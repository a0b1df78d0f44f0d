package library

import (
	"os"
	"path/filepath"
	"testing"
)

// Phone photos (HEIC, AVIF) are listed, by extension or by content, so that
// indexing records them as unsupported instead of skipping them silently.
func TestWalkListsHEIF(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "ann"), 0o755)
	heic := append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 16)...)
	os.WriteFile(filepath.Join(root, "ann", "IMG_0001.HEIC"), heic, 0o644)
	os.WriteFile(filepath.Join(root, "ann", "IMG_0002.avif"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "ann", "IMG_0003.dat"), heic, 0o644) // sniffed
	os.WriteFile(filepath.Join(root, "ann", "clip.dat"), append([]byte("\x00\x00\x00\x18ftypisom"), make([]byte, 16)...), 0o644)
	files, _, err := Walk(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Rel)
	}
	want := []string{"ann/IMG_0001.HEIC", "ann/IMG_0002.avif", "ann/IMG_0003.dat"}
	if len(got) != len(want) {
		t.Fatalf("walk: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("walk: %v, want %v", got, want)
		}
	}
}
