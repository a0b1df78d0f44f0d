package library

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrWouldPrune is wrapped by the error of a run that would delete more than
// half of the library's images (or all of them) because their files are gone:
// more likely an unmounted or emptied dataset than a real clean-up. Nothing
// is deleted; the run is repeated with Prune to confirm.
var ErrWouldPrune = errors.New("refusing to delete most of the library")

// ErrUnreadable is wrapped by the error of a run that could not read some
// folders or files of the dataset: their images were kept in the catalog,
// everything else was brought up to date.
var ErrUnreadable = errors.New("some of the dataset could not be read")

// pruneGuard returns ErrWouldPrune (wrapped, naming the counts) when deleting
// del of total catalog images is more than half of them, unless prune.
func pruneGuard(op, root string, del, total int, prune bool) error {
	if prune || del == 0 || total == 0 || 2*del <= total {
		return nil
	}
	what := fmt.Sprintf("%d of its %d images", del, total)
	if del == total {
		what = fmt.Sprintf("all %d of its images", total)
	}
	return fmt.Errorf("%s %s: %w: their files are gone from %s, so this run would delete %s; nothing was deleted. If %s is mounted and complete, and the images really were removed, run again with --prune",
		op, root, ErrWouldPrune, root, what, root)
}

// unreadableSet holds the dataset paths (relative, '/'-separated) that could
// not be read; catalog rows at or under them are kept.
type unreadableSet []string

func newUnreadableSet(skipped []Skipped) unreadableSet {
	var u unreadableSet
	for _, s := range skipped {
		if s.Unreadable {
			u = append(u, s.Rel)
		}
	}
	sort.Strings(u)
	return u
}

// covers reports whether catalog path p is, or lies under, an unreadable path.
func (u unreadableSet) covers(p string) bool {
	for _, r := range u {
		if p == r || strings.HasPrefix(p, r+"/") || r == "." {
			return true
		}
	}
	return false
}

// err returns ErrUnreadable (wrapped, naming the paths and the kept count)
// when anything could not be read.
func (u unreadableSet) err(op, root string, kept int) error {
	if len(u) == 0 {
		return nil
	}
	names := u
	more := ""
	if len(names) > 5 {
		names, more = names[:5], fmt.Sprintf(" and %d more", len(u)-5)
	}
	return fmt.Errorf("%s %s: %w: %s%s (see 'skipped' above); their %d images were kept in the library: fix the permissions and run again",
		op, root, ErrUnreadable, strings.Join(names, ", "), more, kept)
}

// checkCatalog runs the catalog's quick integrity check before a run writes
// to it: a damaged catalog must not be reported "up to date".
func (l *Library) checkCatalog(ctx context.Context, op string) error {
	if err := l.cat.Check(ctx, false); err != nil {
		return fmt.Errorf("%s: %w; restore the library from a backup, or move it aside and index again ('facesearch stats --check' runs the full check)", op, err)
	}
	return nil
}
