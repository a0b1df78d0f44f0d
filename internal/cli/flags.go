package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"strings"
)

// flagError is an unknown flag, with the nearest known one (if any).
type flagError struct {
	cmd, name, near string
}

func (e *flagError) Error() string { return e.text(printer(nil)) }

func (e *flagError) text(p *msgPrinter) string {
	if e.near != "" {
		return p.Sprintf("%s: unknown flag --%s: did you mean --%s? (see 'facesearch help %s')", e.cmd, e.name, e.near, e.cmd)
	}
	return p.Sprintf("%s: unknown flag --%s (see 'facesearch help %s')", e.cmd, e.name, e.cmd)
}

var (
	undefinedRe = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	flagNameRe  = regexp.MustCompile(`(flag|for) -([A-Za-z][\w-]*)`)
)

// parseFlags parses args. The flag package's own messages are silenced: -h
// prints the usage, an unknown flag is a flagError naming the nearest known
// one, other errors are usage errors spelling flags --name.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	if err == nil {
		return checkFlagValues(fs)
	}
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return err
	}
	if m := undefinedRe.FindStringSubmatch(err.Error()); m != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		return &flagError{cmd: fs.Name(), name: m[1], near: closest(m[1], names)}
	}
	return usageError{fmt.Sprintf("%s: %s (see 'facesearch help %s')", fs.Name(), flagNameRe.ReplaceAllString(err.Error(), "$1 --$2"), fs.Name())}
}

// localizeUsage translates a command-line error to env's language: flag
// errors by their parts, fixed usage messages through the catalogue.
func localizeUsage(env *cmdEnv, err error) error {
	if err == nil || !japanese(env.Getenv) {
		return err
	}
	var f *flagError
	if errors.As(err, &f) {
		return usageError{f.text(printer(env))}
	}
	var u usageError
	if errors.As(err, &u) {
		if ja, ok := messagesJA[u.msg]; ok {
			return usageError{ja}
		}
	}
	return err
}

// printFlags lists the flags of fs as --name TYPE, usage and default, like
// flag.PrintDefaults but with the double-dash spelling the commands accept.
func printFlags(w io.Writer, fs *flag.FlagSet, p *msgPrinter) {
	fs.VisitAll(func(f *flag.Flag) {
		var b strings.Builder
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if name != "" {
			b.WriteString(" " + name)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch f.DefValue {
		case "", "false", "0", "0s", "[]":
		default:
			v := f.DefValue
			if name == "string" {
				v = fmt.Sprintf("%q", v)
			}
			b.WriteString(p.Sprintf(" (default %s)", v))
		}
		fmt.Fprintln(w, b.String())
	})
}

// closest returns the candidate nearest to s by edit distance, if it is
// near enough to be a typo (at most a third of the longer name, at least 1)
// or s is a prefix of exactly one candidate.
func closest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	prefix := ""
	nprefix := 0
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
		if s != "" && strings.HasPrefix(c, s) {
			prefix = c
			nprefix++
		}
	}
	if bestD <= max(1, max(len(s), len(best))/3) {
		return best
	}
	if nprefix == 1 {
		return prefix
	}
	return ""
}

// editDistance is the optimal-string-alignment distance of a and b
// (Levenshtein plus adjacent transpositions, the commonest typo; bytes:
// names are ASCII).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// printVersion prints the module version and the commit it was built from
// (from the build information Go records in the binary).
func printVersion(env *cmdEnv) {
	v, rev, dirty, goVer := "(devel)", "", false, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVer = bi.GoVersion
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	line := "facesearch " + v
	if rev != "" {
		line += " commit " + rev[:min(12, len(rev))]
		if dirty {
			line += "+modified"
		}
	}
	if goVer != "" {
		line += " (" + goVer + ")"
	}
	fmt.Fprintln(env.Stdout, line)
}
