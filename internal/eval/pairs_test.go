package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/testenv"
)

// lfwDir returns the shared LFW set with its pairs.txt, skipping the test
// when absent (failing under CI=true).
func lfwDir(tb testing.TB) string {
	tb.Helper()
	dir := testenv.FacesSet(tb, "lfw")
	if _, err := os.Stat(filepath.Join(dir, "pairs.txt")); err != nil {
		testenv.Missing(tb, "shared LFW pairs.txt not found at %s", dir)
	}
	return dir
}

func TestParsePairs(t *testing.T) {
	ok := "2\t1\nA\t1\t2\nB 1 C 3\n\nD\t2\t4\nE\t1\tF\t1\n"
	ps, err := ParsePairs(strings.NewReader(ok), "ok.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{A: Image{"A", 1}, B: Image{"A", 2}, Same: true, Fold: 0},
		{A: Image{"B", 1}, B: Image{"C", 3}, Same: false, Fold: 0},
		{A: Image{"D", 2}, B: Image{"D", 4}, Same: true, Fold: 1},
		{A: Image{"E", 1}, B: Image{"F", 1}, Same: false, Fold: 1},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d pairs, want %d", len(ps), len(want))
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Errorf("pair %d = %+v, want %+v", i, ps[i], want[i])
		}
	}
	if got := ps[1].B.Path("/lfw"); got != "/lfw/C/C_0003.jpg" {
		t.Errorf("Path = %q", got)
	}
	if got := ps[1].B.Key(); got != "C/C_0003.jpg" {
		t.Errorf("Key = %q", got)
	}
	if got := len(Images(ps)); got != 8 {
		t.Errorf("Images: %d distinct, want 8", got)
	}

	bad := []struct{ name, text, want string }{
		{"empty", "", "empty pairs file"},
		{"header fields", "10\n", "header must be"},
		{"header numbers", "ten 300\n", "positive integers"},
		{"truncated", "1 2\nA 1 2\nB 1 2\nC 1 D 1\n", "truncated"},
		{"same as diff", "1 1\nA 1 B 2\nC 1 D 1\n", `bad.txt:2: expected a same-person line`},
		{"diff as same", "1 1\nA 1 2\nC 1 1\n", `bad.txt:3: expected a different-person line`},
		{"bad number", "1 1\nA 1 x\nC 1 D 1\n", `image number must be a positive integer, got "x"`},
		{"zero number", "1 1\nA 0 1\nC 1 D 1\n", `got "0"`},
		{"extra", "1 1\nA 1 2\nC 1 D 1\nE 1 2\n", "bad.txt:4: unexpected extra line"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePairs(strings.NewReader(tc.text), "bad.txt")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := ReadPairs(filepath.Join(t.TempDir(), "nope.txt")); err == nil || !strings.Contains(err.Error(), "nope.txt") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestReadPairsLFW(t *testing.T) {
	dir := lfwDir(t)
	ps, err := ReadPairs(filepath.Join(dir, "pairs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 6000 {
		t.Fatalf("%d pairs, want 6000", len(ps))
	}
	same := 0
	perFold := map[int]int{}
	for _, p := range ps {
		if p.Same {
			same++
			if p.A.Name != p.B.Name {
				t.Errorf("same pair with two names: %+v", p)
			}
		}
		perFold[p.Fold]++
	}
	if same != 3000 || len(perFold) != 10 || perFold[9] != 600 {
		t.Errorf("same=%d folds=%v", same, perFold)
	}
	ims := Images(ps)
	for _, im := range ims {
		if _, err := os.Stat(im.Path(dir)); err != nil {
			t.Fatalf("pairs.txt names a missing image: %v", err)
		}
	}
	t.Logf("%d distinct images in the 6000 pairs", len(ims))
}
