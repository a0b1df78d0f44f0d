package cleanse

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// PairsCSVHeader returns the header row WritePairsCSV writes (a new slice
// on each call).
func PairsCSVHeader() []string {
	return []string{"file_a", "person_a", "file_b", "person_b", "similarity"}
}

// WritePairsCSV writes pairs as CSV (RFC 4180, UTF-8) with PairsCSVHeader.
func WritePairsCSV(w io.Writer, d *Dataset, pairs []Pair) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(PairsCSVHeader()); err != nil {
		return fmt.Errorf("write pairs csv: %w", err)
	}
	for _, p := range pairs {
		a, b := d.faces[p.A], d.faces[p.B]
		rec := []string{a.File, a.Person, b.File, b.Person, strconv.FormatFloat(float64(p.Similarity), 'f', 4, 32)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write pairs csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write pairs csv: %w", err)
	}
	return nil
}

// ShellQuote quotes s for a POSIX shell word: single quotes, with embedded
// single quotes as '\”. Strings with control characters (a newline would end
// a commented-out line and run the rest) use bash's $'...' form with escapes.
func ShellQuote(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c) // UTF-8 bytes pass through
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// commentSafe makes s safe inside a shell comment: no line breaks or other
// control characters.
func commentSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return '?'
		}
		return r
	}, s)
}

// WriteMoveScript writes a bash script of suggested fixes for the audit's
// misfiled and same-person findings of severity >= minSev: every command is
// commented out ("# mv -n -- 'from' 'to/'"), with the finding's reason
// above it, for a person to review and enable line by line. Duplicates and
// outliers are listed as comments only. Folders are taken to be the
// directories of their files.
func WriteMoveScript(w io.Writer, d *Dataset, r *AuditResult, minSev Severity) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "#!/bin/bash\n# Suggested fixes from 'facesearch audit' (threshold %.2f).\n", r.Threshold)
	bw.WriteString("# Nothing here runs as written: every command is commented out. Check each\n")
	bw.WriteString("# one (the HTML report shows the faces), then remove its leading '# '.\n")
	bw.WriteString("# (mv -n never overwrites an existing file.)\nset -eu\n")
	dirOf := func(person string) string {
		m := d.Members(person)
		if len(m) == 0 {
			return ""
		}
		return filepath.Dir(d.faces[m[0]].File)
	}
	// Folder merges first, so that moves into a merged-away folder go to
	// the folder it is merged into.
	mergeInto := map[string]string{}
	target := map[string]bool{}
	merge := func(f Finding) (from, to string) {
		from, to = f.Persons[1], f.Persons[0]
		if len(d.Members(from)) > len(d.Members(to)) {
			from, to = to, from
		}
		return from, to
	}
	for _, f := range r.Findings {
		if f.Kind == SamePerson && f.Severity >= minSev {
			if from, to := merge(f); mergeInto[from] == "" && mergeInto[to] == "" && !target[from] {
				mergeInto[from], target[to] = to, true
			}
		}
	}
	final := func(p string) string {
		for k := 0; k < 100 && mergeInto[p] != ""; k++ {
			p = mergeInto[p]
		}
		return p
	}
	for n, f := range r.Findings {
		if f.Severity < minSev {
			continue
		}
		fmt.Fprintf(bw, "\n# %d. [%s] %s: %s\n", n+1, f.Severity, f.Kind, commentSafe(f.Reason))
		switch f.Kind {
		case Misfiled:
			to := dirOf(final(f.Persons[1]))
			for _, i := range f.Faces {
				fmt.Fprintf(bw, "# mv -n -- %s %s\n", ShellQuote(d.faces[i].File), ShellQuote(to+"/"))
			}
		case SamePerson:
			from, to := merge(f)
			if mergeInto[from] != to {
				fmt.Fprintf(bw, "# (not merged here: %s is part of another merge above)\n", commentSafe(strconv.Quote(from)))
				continue
			}
			fmt.Fprintf(bw, "# To merge %s into %s:\n", commentSafe(strconv.Quote(from)), commentSafe(strconv.Quote(to)))
			seen := map[string]bool{}
			for _, i := range d.Members(from) {
				file := d.faces[i].File
				if seen[file] {
					continue
				}
				seen[file] = true
				fmt.Fprintf(bw, "# mv -n -- %s %s\n", ShellQuote(file), ShellQuote(dirOf(to)+"/"))
			}
			fmt.Fprintf(bw, "# rmdir -- %s\n", ShellQuote(dirOf(from)))
		default:
			for _, i := range f.Faces {
				fmt.Fprintf(bw, "#   %s\n", commentSafe(d.faces[i].File))
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write move script: %w", err)
	}
	return nil
}
