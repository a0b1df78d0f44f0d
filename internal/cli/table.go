package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/rivo/uniseg"
)

// printTable prints rows in columns padded by display width, indented by two
// spaces: the one table printer of the commands. Cells are escaped for the
// terminal (termText). Widths are those of
// grapheme clusters (rivo/uniseg): East Asian wide characters count two,
// combining marks nothing, so a decomposed (NFD) name such as macOS copies
// produce lines up with its composed form.
func printTable(w io.Writer, rows [][]string) {
	for _, r := range rows {
		for i, c := range r {
			r[i] = termText(c) // names from the dataset: no control characters
		}
	}
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], dispWidth(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-dispWidth(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// dispWidth is the width of s in a monospaced terminal.
func dispWidth(s string) int { return uniseg.StringWidth(s) }
