package library

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/imgio"
)

// TestImageFault: an image's own fault is recorded with the catalog status
// of its imgio kind and the reason without the path; an I/O error is not a
// DecodeError (it is retried by the next run).
func TestImageFault(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, status, reason string
	}{
		{"empty", write("e.jpg", nil), catalog.StatusEmpty, "empty file"},
		{"text", write("t.jpg", []byte("hello world\n")), catalog.StatusNotImage, `not an image (starts with "hello wo")`},
		{"truncated", write("x.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")), catalog.StatusTruncated, "truncated JPEG"},
		{"missing", filepath.Join(dir, "nope.jpg"), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := imgio.DecodeFile(tc.path, imgio.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			got := ImageFault(err)
			var de *DecodeError
			if tc.status == "" {
				if errors.As(got, &de) || !errors.Is(got, fs.ErrNotExist) {
					t.Fatalf("ImageFault(%v) = %#v, want the I/O error unchanged", err, got)
				}
				return
			}
			if !errors.As(got, &de) {
				t.Fatalf("ImageFault(%v) = %v, not a *DecodeError", err, got)
			}
			if de.Status != tc.status || de.reason() != tc.reason || got.Error() != err.Error() {
				t.Errorf("status %q reason %q (%q), want %q %q", de.Status, de.reason(), got, tc.status, tc.reason)
			}
		})
	}
}
