package cli

import (
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/facesearch/facesearch/internal/library"
)

// expandPhotos replaces each folder among args by the image files under it
// (recursively, sorted; names starting with '.' skipped), so that
// `search DIR` searches with every photo of DIR. Files are kept as given.
func expandPhotos(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a) // a missing file is reported by its query
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != a && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.IsDir() && library.IsImageName(path) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if len(found) == 0 {
			return nil, usageError{fmt.Sprintf("search: folder %s holds no photo", a)}
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// searchCSVHeader is the header of `search --csv`: one row per result (or
// per failed query, with its error); file is relative to the dataset root
// (docs/LIBRARY.md, JSON conventions).
var searchCSVHeader = []string{"source", "face", "rank", "face_id", "similarity", "same_person", "person", "file", "error"}

// writeSearchCSV writes the results of a search as CSV.
func writeSearchCSV(w io.Writer, out *searchJSON) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(searchCSVHeader)
	for _, q := range out.Queries {
		face := ""
		if q.Face != nil {
			face = strconv.Itoa(q.Face.Index)
		}
		if q.Error != "" {
			_ = cw.Write([]string{csvCell(q.Source), face, "", "", "", "", "", "", csvCell(q.Error)})
			continue
		}
		for _, r := range q.Results {
			_ = cw.Write([]string{csvCell(q.Source), face, strconv.Itoa(r.Rank), strconv.FormatInt(r.FaceID, 10),
				strconv.FormatFloat(r.Similarity, 'f', 4, 64), strconv.FormatBool(r.SamePerson), csvCell(r.Person), csvCell(r.Path), ""})
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvCell keeps a spreadsheet from reading a text cell as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
