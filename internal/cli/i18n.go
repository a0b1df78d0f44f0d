package cli

import (
	"errors"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"

	"github.com/facesearch/facesearch/internal/library"
)

// The commands' words go through one catalogue (golang.org/x/text/message):
// the English format string is the key, messagesJA (messages_ja.go) holds
// its Japanese, pluralsEN the English singular/plural forms. A string
// missing from the catalogue prints in English, so new output works at once
// and translating it is one more entry in messages_ja.go.

// cat is the message catalogue, built once from messagesJA and pluralsEN and
// never changed after.
var cat = func() catalog.Catalog {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	for k, v := range messagesJA {
		if err := b.SetString(language.Japanese, k, v); err != nil {
			panic(err)
		}
	}
	for k, v := range pluralsEN {
		if err := b.Set(language.English, k, plural.Selectf(v.arg, "%d", "=1", v.one, "other", v.other)); err != nil {
			panic(err)
		}
	}
	return b
}()

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
}

// langTag picks the output language as gettext does: the first of LC_ALL,
// LC_MESSAGES and LANG that is set; "ja..." is Japanese, anything else
// English.
func langTag(getenv func(string) string) language.Tag {
	if getenv == nil {
		return language.English
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			if strings.HasPrefix(v, "ja") {
				return language.Japanese
			}
			return language.English
		}
	}
	return language.English
}

// printer returns the message printer of env's language.
func printer(env *Env) *message.Printer {
	var g func(string) string
	if env != nil {
		g = env.Getenv
	}
	return message.NewPrinter(langTag(g), message.Catalog(cat))
}

// Message is the text of an error returned by Run in the language of
// getenv's locale: the well-known errors of the library are translated
// where they appear in the message.
func Message(err error, getenv func(string) string) string {
	s := err.Error()
	if langTag(getenv) != language.Japanese {
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
