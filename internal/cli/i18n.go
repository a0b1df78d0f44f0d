package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/facesearch/facesearch/internal/library"
)

// The commands' words go through one catalogue: the English format string
// is the key, messagesJA (messages_ja.go) holds its Japanese, pluralsEN the
// English singular/plural forms. A string missing from the catalogue prints
// in English, so new output works at once and translating it is one more
// entry in messages_ja.go. Formatting is fmt's (a translation may reorder
// its arguments with %[n]d); numbers are not localised, so the English
// output is exactly what fmt prints (golang.org/x/text/message would group
// digits, "970x2,204").

// pluralsEN: English forms of messages whose wording depends on a count
// (argument arg, 1-based).
var pluralsEN = map[string]struct {
	arg        int
	one, other string
}{
	"%d folder pairs that look like one person": {1, "%d folder pair that looks like one person", "%d folder pairs that look like one person"},
	"trimmed: %d images set aside as probably misfiled (or badly detected), %d folder pairs that look like one person\n": {2,
		"trimmed: %[1]d images set aside as probably misfiled (or badly detected), %[2]d folder pair that looks like one person\n",
		"trimmed: %[1]d images set aside as probably misfiled (or badly detected), %[2]d folder pairs that look like one person\n"},
	"  index: %s, %d faces, %s\n": {2, "  index: %[1]s, %[2]d face, %[3]s\n", "  index: %[1]s, %[2]d faces, %[3]s\n"},
	"  faces written: %d\n":       {1, "  faces written: %d\n", "  faces written: %d\n"},
}

// msgPrinter formats catalogue messages in one language.
type msgPrinter struct{ ja bool }

// Sprintf formats the translation of key with args.
func (p *msgPrinter) Sprintf(key string, args ...any) string {
	f := key
	switch {
	case p != nil && p.ja:
		if v, ok := messagesJA[key]; ok {
			f = v
		}
	default:
		if pl, ok := pluralsEN[key]; ok && pl.arg <= len(args) {
			f = pl.other
			if n, ok := args[pl.arg-1].(int); ok && n == 1 {
				f = pl.one
			}
		}
	}
	return fmt.Sprintf(f, args...)
}

// Fprintf writes the translation of key formatted with args to w.
func (p *msgPrinter) Fprintf(w io.Writer, key string, args ...any) {
	io.WriteString(w, p.Sprintf(key, args...))
}

// japanese reports whether the locale is Japanese, as gettext decides: the
// first of LC_ALL, LC_MESSAGES and LANG that is set; "ja..." is Japanese.
func japanese(getenv func(string) string) bool {
	if getenv == nil {
		return false
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			return strings.HasPrefix(v, "ja")
		}
	}
	return false
}

// printer returns the message printer of env's language (English for nil).
func printer(env *cmdEnv) *msgPrinter {
	if env == nil {
		return &msgPrinter{}
	}
	return &msgPrinter{ja: japanese(env.Getenv)}
}

// Message is the text of an error returned by Run in the language of
// getenv's locale: the well-known errors of the library are translated
// where they appear in the message.
func Message(err error, getenv func(string) string) string {
	s := err.Error()
	if !japanese(getenv) {
		return s
	}
	for _, known := range []error{library.ErrNoLibrary, library.ErrEmpty} {
		if ja, ok := messagesJA[known.Error()]; ok && errors.Is(err, known) {
			s = strings.Replace(s, known.Error(), ja, 1)
		}
	}
	if ja, ok := messagesJA[s]; ok {
		return ja
	}
	return s
}
