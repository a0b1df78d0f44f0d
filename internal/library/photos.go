package library

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Photos lists the image files named by paths: files as given, folders
// searched recursively (names starting with '.' ignored, as by Walk). A
// path that cannot be read is an error naming it; unreadable entries inside
// folders are returned as skipped.
func Photos(paths []string) ([]string, []Skipped, error) {
	var out []string
	var skipped []Skipped
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == p {
					return err
				}
				skipped = append(skipped, Skipped{Rel: path, Reason: err.Error(), Unreadable: true})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				// Stat first: a FIFO or device is never opened.
				if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
					ok, err := isCandidate(path)
					if err != nil {
						skipped = append(skipped, Skipped{Rel: path, Reason: err.Error(), Unreadable: true})
					} else if ok {
						found = append(found, path)
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, skipped, nil
}
