// Package eval measures face-verification accuracy: the LFW 10-fold protocol,
// ROC statistics, identification rank-k, threshold calibration on a library's
// own folder labels, and the plots that go with them. It works on similarity
// scores and embeddings only; it does not run any model itself.
package eval

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Image names one LFW image: person folder and 1-based image number.
type Image struct {
	Name string
	Num  int
}

// Path returns the image's file path under an LFW root:
// root/<name>/<name>_%04d.jpg.
func (im Image) Path(root string) string {
	return filepath.Join(root, im.Name, fmt.Sprintf("%s_%04d.jpg", im.Name, im.Num))
}

// Key returns the image's path relative to the LFW root, with forward
// slashes ("<name>/<name>_%04d.jpg"), usable as a map key.
func (im Image) Key() string {
	return fmt.Sprintf("%s/%s_%04d.jpg", im.Name, im.Name, im.Num)
}

// Pair is one line of an LFW pairs file.
type Pair struct {
	A, B Image
	Same bool // same person
	Fold int  // 0-based fold
}

// ReadPairs reads an LFW pairs file (see ParsePairs).
func ReadPairs(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pairs: %w", err)
	}
	defer f.Close()
	return ParsePairs(f, path)
}

// ParsePairs parses the LFW pairs format: a header line "FOLDS N", then per
// fold N same-person lines "name n1 n2" followed by N different-person lines
// "name1 n1 name2 n2" (fields separated by tabs or spaces). name is used in
// error messages. Every line is checked against its expected kind, so a
// truncated or reordered file is reported with its line number.
func ParsePairs(r io.Reader, name string) ([]Pair, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	next := func() ([]string, bool) {
		for sc.Scan() {
			line++
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			return f, true
		}
		return nil, false
	}
	hdr, ok := next()
	if !ok {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, fmt.Errorf("%s: empty pairs file", name)
	}
	if len(hdr) != 2 {
		return nil, fmt.Errorf("%s:%d: header must be \"FOLDS PAIRS\", got %q", name, line, strings.Join(hdr, " "))
	}
	folds, err1 := strconv.Atoi(hdr[0])
	per, err2 := strconv.Atoi(hdr[1])
	if err1 != nil || err2 != nil || folds < 1 || per < 1 {
		return nil, fmt.Errorf("%s:%d: header must be two positive integers, got %q", name, line, strings.Join(hdr, " "))
	}
	pairs := make([]Pair, 0, folds*per*2)
	for fold := 0; fold < folds; fold++ {
		for k := 0; k < 2*per; k++ {
			same := k < per
			f, ok := next()
			if !ok {
				if err := sc.Err(); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				return nil, fmt.Errorf("%s: truncated: expected %d folds of %d+%d pairs, file ends in fold %d after %d pairs",
					name, folds, per, per, fold+1, len(pairs))
			}
			p, err := parsePairLine(f, same)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, line, err)
			}
			p.Fold = fold
			pairs = append(pairs, p)
		}
	}
	if f, ok := next(); ok {
		return nil, fmt.Errorf("%s:%d: unexpected extra line %q after %d folds of %d+%d pairs",
			name, line, strings.Join(f, " "), folds, per, per)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return pairs, nil
}

func parsePairLine(f []string, same bool) (Pair, error) {
	num := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("image number must be a positive integer, got %q", s)
		}
		return n, nil
	}
	if same {
		if len(f) != 3 {
			return Pair{}, fmt.Errorf("expected a same-person line \"name n1 n2\", got %d fields %q", len(f), strings.Join(f, " "))
		}
		a, err := num(f[1])
		if err != nil {
			return Pair{}, err
		}
		b, err := num(f[2])
		if err != nil {
			return Pair{}, err
		}
		return Pair{A: Image{f[0], a}, B: Image{f[0], b}, Same: true}, nil
	}
	if len(f) != 4 {
		return Pair{}, fmt.Errorf("expected a different-person line \"name1 n1 name2 n2\", got %d fields %q", len(f), strings.Join(f, " "))
	}
	a, err := num(f[1])
	if err != nil {
		return Pair{}, err
	}
	b, err := num(f[3])
	if err != nil {
		return Pair{}, err
	}
	return Pair{A: Image{f[0], a}, B: Image{f[2], b}}, nil
}

// Images returns the distinct images the pairs refer to, in first-seen order.
func Images(pairs []Pair) []Image {
	seen := make(map[Image]bool, 2*len(pairs))
	var out []Image
	for _, p := range pairs {
		for _, im := range [2]Image{p.A, p.B} {
			if !seen[im] {
				seen[im] = true
				out = append(out, im)
			}
		}
	}
	return out
}
