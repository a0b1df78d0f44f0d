// Package textout makes untrusted text (file and folder names, error
// messages quoting them) safe to print on a terminal: a name holding an
// escape sequence must not retitle, recolour or clear the user's terminal,
// and a newline in a name must not forge an output line.
package textout

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every control character written as a Go-style
// escape: \n, \r, \t, \x1b and \xNN for the other C0 controls and DEL,
// \u0085-style for C1 controls and for the Unicode format characters that
// reorder or hide text (bidirectional overrides and isolates, U+2028 and
// U+2029 line and paragraph separators). Bytes that are not UTF-8 become
// U+FFFD. Printable text, including CJK and combining marks, is unchanged.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune('\uFFFD')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || r < 0x20 || r == 0x7f || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

// unsafeRune reports C1 controls and the format characters that change how
// the surrounding text is displayed.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls (0x9b is a CSI on some terminals)
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e: // bidi embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	}
	return false
}
