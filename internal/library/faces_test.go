package library

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestFaces: the one loader from the catalog to faces, on a photo library:
// files relative and '/'-separated, path order, the primary face of each
// image (every face with All), an empty row per image without a face with
// Images, and the image bytes' hash.
func TestFaces(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	ims, err := f.lib.cat.Images(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	hash := map[string]string{}
	for _, im := range ims {
		hash[im.Path] = hex.EncodeToString(im.SHA256)
	}
	tests := []struct {
		opt  FacesOptions
		rows int // 12 images: 9 ok (12 faces), 3 failed
		want string
	}{
		{FacesOptions{}, 9, `"alice/1.jpg" primary; "alice/2.jpg" primary; "alice/2019/deep.jpg" primary`},
		{FacesOptions{All: true}, 12, `"alice/1.jpg" primary; "alice/2.jpg" primary; "alice/2.jpg" other; "alice/2019/deep.jpg" primary`},
		{FacesOptions{Placeholders: true, OKOnly: true}, 12, `"alice/1.jpg" primary; "alice/2.jpg" primary; "alice/2019/deep.jpg" primary; "bob/1.jpg" primary; "bob/2.png" primary; "bob/broken.jpg" none`},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%+v", tc.opt), func(t *testing.T) {
			faces, err := f.lib.Faces(ctx, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(faces) != tc.rows {
				t.Errorf("%d rows, want %d", len(faces), tc.rows)
			}
			var got []string
			for i, fc := range faces {
				kind := "none"
				switch {
				case fc.ID != 0 && fc.Primary:
					kind = "primary"
				case fc.ID != 0:
					kind = "other"
				}
				got = append(got, fmt.Sprintf("%q %s", fc.File, kind))
				if filepath.IsAbs(fc.File) || strings.Contains(fc.File, `\`) || fc.Hash != hash[fc.File] || fc.Hash == "" {
					t.Errorf("row %d: file %q hash %q, want the catalog's relative path and the image hash %q", i, fc.File, fc.Hash, hash[fc.File])
				}
				if (fc.ID == 0) != (fc.Vec == nil) || fc.ID != 0 && fc.Status != StatusOK {
					t.Errorf("row %d (%s): id %d, %d values, status %s", i, fc.File, fc.ID, len(fc.Vec), fc.Status)
				}
				if i > 0 && faces[i-1].File > fc.File {
					t.Errorf("rows not in path order: %q before %q", faces[i-1].File, fc.File)
				}
			}
			if s := strings.Join(got, "; "); !strings.HasPrefix(s, tc.want) {
				t.Errorf("rows\n%s\nwant a prefix\n%s", s, tc.want)
			}
		})
	}
}

// TestFacesImportedHaveNoHash: an imported library's rows each have their
// own identity in the catalog (a hash of name and embedding, not of the npz
// file: audit must not take rows of one file for copies), and Faces gives
// them no hash at all, since it is not a hash of image bytes.
func TestFacesImportedHaveNoHash(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeNPZTree(t, root, 2, 3, 8)
	l, err := Open(ctx, Options{Dir: filepath.Join(t.TempDir(), "lib"), Backend: nullBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := importManifest()
	m.EmbeddingDim = 8
	if _, err := l.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: m}); err != nil {
		t.Fatal(err)
	}
	ims, err := l.cat.Images(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, im := range ims {
		if len(im.SHA256) != 32 {
			t.Errorf("%s: identity of %d bytes", im.Path, len(im.SHA256))
		}
		if other, ok := ids[string(im.SHA256)]; ok {
			t.Errorf("%s and %s share one identity", im.Path, other)
		}
		ids[string(im.SHA256)] = im.Path
	}
	faces, err := l.Faces(ctx, FacesOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 6 {
		t.Errorf("%d faces, want 6", len(faces))
	}
	for _, f := range faces {
		if f.Hash != "" {
			t.Errorf("%s: hash %q, want none for an imported row", f.File, f.Hash)
		}
	}
}
