package cli

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/npz"
)

// TestTextOutputEscapesControlCharacters: folder and file names holding an
// escape sequence or a newline must not reach the terminal raw from the
// text output of import-npz, stats, search or audit (issue 15 item 13).
func TestTextOutputEscapesControlCharacters(t *testing.T) {
	root, lib := t.TempDir(), filepath.Join(t.TempDir(), "lib")
	r := rand.New(rand.NewPCG(5, 6))
	evil := "ev\x1b]0;pwned\x07il"
	v := randVec(r, 512)
	writePerson(t, root, evil, npz.DefaultKey, []string{"a\nFAKE LINE.jpg", "b\x1b[2J.jpg"}, [][]float32{v, randVec(r, 512)})
	writePerson(t, root, "plain", npz.DefaultKey, []string{"c.jpg"}, [][]float32{randVec(r, 512)})
	writePerson(t, root, "broken\x1b[31m", "dlib", []string{"d.jpg"}, [][]float32{randVec(r, 512)}) // a failure naming it
	qf := filepath.Join(t.TempDir(), "q.npy")
	writeNpy(t, qf, v)
	for _, args := range [][]string{
		{"import-npz", "--library", lib, root},
		{"stats", "--library", lib},
		{"search", "--library", lib, "--vector", qf, "--all-faces"},
		{"search", "--library", lib, "--vector", qf, "--by-person"},
		{"audit", "--library", lib},
	} {
		out, _ := npzRun(t, args...)
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s: raw control characters in the output:\n%q", args[0], out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "FAKE LINE") {
				t.Errorf("%s: a file name forged an output line:\n%s", args[0], out)
			}
		}
	}
}
