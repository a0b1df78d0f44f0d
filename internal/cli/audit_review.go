package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/facesearch/facesearch/internal/cleanse"
)

// auditKinds are the values of --kind.
var auditKinds = []cleanse.Kind{cleanse.SamePerson, cleanse.Misfiled, cleanse.Duplicate, cleanse.Outlier}

// findingSelection are audit's --kind, --person and --include-dismissed.
type findingSelection struct {
	kinds            *string
	person           *string
	includeDismissed *bool
}

func addFindingFilter(fs *flag.FlagSet) *findingSelection {
	names := make([]string, len(auditKinds))
	for i, k := range auditKinds {
		names[i] = string(k)
	}
	return &findingSelection{
		kinds:            fs.String("kind", "", "show only findings of these `KINDS`, comma-separated: "+strings.Join(names, ", ")),
		person:           fs.String("person", "", "show only findings about a folder whose name contains `TEXT` (case-insensitive)"),
		includeDismissed: fs.Bool("include-dismissed", false, "also show findings a reviewer marked \"not a problem\" (in the web page or the API)"),
	}
}

func (f *findingSelection) kindSet() map[cleanse.Kind]bool {
	if *f.kinds == "" {
		return nil
	}
	out := map[cleanse.Kind]bool{}
	for _, k := range strings.Split(*f.kinds, ",") {
		out[cleanse.Kind(strings.TrimSpace(k))] = true
	}
	return out
}

func (f *findingSelection) check() error {
	for k := range f.kindSet() {
		if !slices.Contains(auditKinds, k) {
			return usageError{fmt.Sprintf("--kind %q: want one or more of same-person, misfiled, duplicate, outlier", k)}
		}
	}
	return nil
}

// apply reads the library's review decisions into s and returns res with
// only the selected findings (dismissed ones left out unless asked for), and
// says on w how many were left out.
func (f *findingSelection) apply(ctx context.Context, w io.Writer, s *cleanseSession, res *cleanse.AuditResult) (*cleanse.AuditResult, error) {
	var err error
	if s.dismissed, err = s.lib.Dismissed(ctx); err != nil {
		return nil, err
	}
	kinds := f.kindSet()
	person := strings.ToLower(*f.person)
	out := *res
	out.Findings = nil
	hidden := 0
	for _, fd := range res.Findings {
		if kinds != nil && !kinds[fd.Kind] {
			continue
		}
		if person != "" && !slices.ContainsFunc(fd.Persons, func(p string) bool { return strings.Contains(strings.ToLower(p), person) }) {
			continue
		}
		if s.dismissed[s.data.Key(&fd)] && !*f.includeDismissed {
			hidden++
			continue
		}
		out.Findings = append(out.Findings, fd)
	}
	if hidden > 0 {
		fmt.Fprintf(w, "audit: %d findings marked \"not a problem\" left out (--include-dismissed shows them)\n", hidden)
	}
	return &out, nil
}
