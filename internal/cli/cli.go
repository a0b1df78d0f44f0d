// Package cli implements facesearch's subcommands. cmd/facesearch only calls Run.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"
)

// cmdEnv is what every subcommand receives: its output streams, a logger and the
// process environment (passed in, so tests can set it without touching os).
type cmdEnv struct {
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
	Getenv func(string) string

	reloadPoll time.Duration // tests: how often serve reads the catalog generation (0: review.ReloadPoll)
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) error
}

// commands lists every subcommand; each lives in its own file.
func commands() []command {
	return []command{
		{"faces", "detect, align and embed the faces in photos (text, JSON, aligned crops)", cmdFaces},
		{"index", "index a dataset ROOT/<person>/<images> incrementally", cmdIndex},
		{"search", "search the library with photos (or --vector FILE.npy)", cmdSearch},
		{"check", "screen photos and folders: is this person in the library? (match/possible/no_match)", cmdCheck},
		{"compare", "are the people in two photos the same person? (pairwise FAR)", cmdCompare},
		{"stats", "summarise the library: persons, images, faces, failures", cmdStats},
		{"models", "list, prepare, add and verify face models", cmdModels},
		{"pairs", "pairs of folders whose faces are alike above the match point, with their face pairs (text/JSON/HTML; --faces: CSV)", cmdPairs},
		{"audit", "find folders that are one person, misfiled images, near-duplicates, outliers", cmdAudit},
		{"lookalikes", "rank pairs of different people by how alike they look", cmdLookalikes},
		{"eval", "measure accuracy: 'eval lfw DIR' (the LFW protocol), 'eval verdicts' (open-set FPIR/FNIR on LFW), 'eval library' (raw vs adapted on the library's folders)", cmdEval},
		{"calibrate", "calibrate the same-person threshold on the library's own folders", cmdCalibrate},
		{"adapt", "show, refit or switch the similarity adapted to the library's people", cmdAdapt},
		{"import-npz", "import FACE01 per-folder npKnown.npz embeddings without re-embedding", cmdImportNpz},
		{"serve", "serve the web page and JSON API (loopback by default)", cmdServe},
	}
}

// usageError marks errors in the command line; they exit with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// ExitCode maps an error returned by Run to a process exit status.
func ExitCode(err error) int {
	var u usageError
	var f *flagError
	if errors.As(err, &u) || errors.As(err, &f) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	var x exitStatus
	if errors.As(err, &x) {
		return x.code
	}
	return 1
}

// Run parses args (without the program name) and runs one subcommand with
// the process environment.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runEnv(ctx, newEnv(stdout, stderr, os.Getenv), args)
}

// newEnv returns a cmdEnv writing to stdout and stderr whose logger writes
// text to stderr, at debug level when getenv("FACESEARCH_DEBUG") is set.
func newEnv(stdout, stderr io.Writer, getenv func(string) string) *cmdEnv {
	level := slog.LevelInfo
	if getenv("FACESEARCH_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return &cmdEnv{
		Stdout: stdout,
		Stderr: stderr,
		Log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		Getenv: getenv,
	}
}

// runEnv is Run with an explicit cmdEnv (used by tests).
func runEnv(ctx context.Context, env *cmdEnv, args []string) error {
	cmds := commands()
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		printVersion(env)
		return nil
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			for _, c := range cmds {
				if c.name == args[1] {
					if err := c.run(ctx, env, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
						return err
					}
					return nil
				}
			}
		}
		if len(args) > 1 {
			return unknownCommand(env, cmds, args[1])
		}
		printUsage(env, cmds)
		if len(args) == 0 {
			return usageError{printer(env).Sprintf("no command given")}
		}
		return nil
	}
	for _, c := range cmds {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return localizeUsage(env, err)
		}
	}
	return unknownCommand(env, cmds, args[0])
}

// unknownCommand is the error for a command name that is not one, naming
// the nearest command.
func unknownCommand(env *cmdEnv, cmds []command, name string) error {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	if near := closest(name, names); near != "" {
		return usageError{printer(env).Sprintf("unknown command %q: did you mean %q? (see 'facesearch help')", name, near)}
	}
	return usageError{printer(env).Sprintf("unknown command %q (see 'facesearch help')", name)}
}

func printUsage(env *cmdEnv, cmds []command) {
	p := printer(env)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	var b strings.Builder
	p.Fprintf(&b, "facesearch finds similar faces in a face dataset (one folder per person).\n\n")
	p.Fprintf(&b, "Usage: facesearch COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-11s %s\n", c.name, p.Sprintf(c.summary))
	}
	p.Fprintf(&b, "\nRun 'facesearch help COMMAND' or 'facesearch COMMAND --help' for a command's flags.\n")
	p.Fprintf(&b, "Environment: FACESEARCH_HOME (models and runtime, default ~/.cache/facesearch),\nFACESEARCH_LIBRARY (library directory, default ./.facesearch).\n")
	io.WriteString(env.Stdout, b.String())
}

// newFlagSet returns a FlagSet that writes its usage to env.Stderr and returns
// errors instead of exiting.
func newFlagSet(env *cmdEnv, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		p := printer(env)
		p.Fprintf(env.Stderr, "Usage: facesearch %s %s\n\nFlags:\n", name, usage)
		printFlags(env.Stderr, fs, p)
	}
	return fs
}
