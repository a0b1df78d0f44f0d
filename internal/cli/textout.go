package cli

import "github.com/facesearch/facesearch/internal/textout"

// termText makes a name or message from the library or the file system safe
// for text output (control characters escaped, invalid UTF-8 as U+FFFD);
// every text printer uses it. JSON output uses show: the encoder escapes.
func termText(s string) string { return textout.Escape(s) }
