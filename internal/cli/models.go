package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/facesearch/facesearch/internal/model"
)

const modelsUsage = `Usage: facesearch models SUBCOMMAND [args]

Subcommands:
  list                 the built-in models: name, embedding size, threshold,
                       and whether their files are present and verified
  prepare [NAME]       make the derived files of model NAME (default %[1]s:
                       fr_feature.onnx with its denormal weights flushed),
                       then verify every file; safe to run again
  verify [NAME]        check the sha256 of every file of model NAME;
                       exits with status 1 when one is missing or differs
  add PROFILE FILE     install a user-supplied model file for PROFILE
                       (japanese-face-v1: FACE01's efficientnetv2_arcface.onnx;
                       arcface-112: an insightface-style ArcFace .onnx): checks
                       its input/output shapes and sha256, copies it under
                       FACESEARCH_HOME and records its sha256

Model files live under FACESEARCH_HOME (now %[2]s).
`

func cmdModels(ctx context.Context, env *cmdEnv, args []string) error {
	home := model.Home(env.Getenv)
	usage := func() { fmt.Fprintf(env.Stderr, modelsUsage, model.DefaultName, home) }
	if len(args) == 0 {
		usage()
		return usageError{"models: no subcommand given (list, prepare, verify, add)"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage()
		return flag.ErrHelp
	case "list":
		return modelsList(env, home, args[1:])
	case "prepare":
		return modelsPrepare(env, home, args[1:])
	case "verify":
		return modelsVerify(env, home, args[1:])
	case "add":
		return modelsAdd(env, home, args[1:])
	}
	usage()
	if near := closest(args[0], []string{"list", "prepare", "verify", "add"}); near != "" {
		return usageError{fmt.Sprintf("models: unknown subcommand %q: did you mean %q? (list, prepare, verify, add)", args[0], near)}
	}
	return usageError{fmt.Sprintf("models: unknown subcommand %q (list, prepare, verify, add)", args[0])}
}

func modelsList(env *cmdEnv, home string, args []string) error {
	flags := newFlagSet(env, "models list", "\n\nLists the built-in models and the state of their files under FACESEARCH_HOME.")
	asJSON := flags.Bool("json", false, "print JSON (schema "+ModelsSchema+", docs/LIBRARY.md)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usageError{"models list: takes no arguments"}
	}
	if *asJSON {
		doc := modelsDocJSON{Schema: ModelsSchema, Home: home, Models: []modelsEntryJSON{}}
		for _, name := range model.BuiltinNames() {
			m, err := model.Load(home, name)
			if err != nil {
				return err
			}
			doc.Models = append(doc.Models, modelsEntry(name, m, model.Check(home, m)))
		}
		return writeJSONDoc(env.Stdout, doc)
	}
	rows := [][]string{{"NAME", "DIM", "THRESHOLD", "FILES"}}
	for _, name := range model.BuiltinNames() {
		m, err := model.Load(home, name)
		if err != nil {
			return err
		}
		label := name
		if name == model.DefaultName {
			label += " (default)"
		}
		rows = append(rows, []string{label, strconv.Itoa(m.EmbeddingDim), fmt.Sprintf("%.2f", m.Threshold), filesState(model.Check(home, m))})
	}
	printTable(env.Stdout, rows)
	fmt.Fprintf(env.Stdout, "FACESEARCH_HOME=%s\n", home)
	return nil
}

// filesState summarises a model's file checks in a few words.
func filesState(st []model.FileStatus) string {
	var missing, differ []string
	for _, s := range st {
		var mm *model.MismatchError
		switch {
		case s.Err == nil:
		case errors.Is(s.Err, model.ErrNotAdded):
			differ = append(differ, s.Role+" (no record: run 'models add')")
		case errors.Is(s.Err, fs.ErrNotExist):
			missing = append(missing, s.Role)
		case errors.As(s.Err, &mm):
			differ = append(differ, s.Role)
		default:
			differ = append(differ, s.Role+" (unreadable)")
		}
	}
	if len(missing) == 0 && len(differ) == 0 {
		return fmt.Sprintf("%d verified", len(st))
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(missing, ", "))
	}
	if len(differ) > 0 {
		parts = append(parts, "differ: "+strings.Join(differ, ", "))
	}
	return strings.Join(parts, "; ")
}

// modelArg returns the manifest named by the optional NAME argument.
func modelArg(home, cmd string, args []string) (*model.Manifest, error) {
	name := model.DefaultName
	switch len(args) {
	case 0:
	case 1:
		name = args[0]
	default:
		return nil, usageError{fmt.Sprintf("models %s: at most one model name, got %d arguments", cmd, len(args))}
	}
	m, err := model.Builtin(name)
	if err != nil {
		return nil, usageError{fmt.Sprintf("models %s: %v (built-in: %s)", cmd, err, strings.Join(model.BuiltinNames(), ", "))}
	}
	return model.Load(home, m.Name)
}

func modelsPrepare(env *cmdEnv, home string, args []string) error {
	flags := newFlagSet(env, "models prepare", "[NAME]\n\nMakes the derived files of model NAME (default "+model.DefaultName+")\nunder FACESEARCH_HOME, then verifies the sha256 of every file.")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	m, err := modelArg(home, "prepare", flags.Args())
	if err != nil {
		return err
	}
	if err := model.Prepare(home, m, env.Log); err != nil {
		return withSetupHint(err)
	}
	fmt.Fprintf(env.Stdout, "model %s: %d files verified under %s\n", m.Name, len(m.Files), home)
	return nil
}

func modelsVerify(env *cmdEnv, home string, args []string) error {
	flags := newFlagSet(env, "models verify", "[NAME]\n\nChecks the sha256 of every file of model NAME (default "+model.DefaultName+")\nunder FACESEARCH_HOME.")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	m, err := modelArg(home, "verify", flags.Args())
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range model.Check(home, m) {
		state := "ok"
		if s.Err != nil {
			state = "FAIL"
			errs = append(errs, fmt.Errorf("model %s, %s file: %w", m.Name, s.Role, s.Err))
		}
		fmt.Fprintf(env.Stdout, "%-4s  %-8s  %s\n", state, s.Role, s.Path)
	}
	if len(errs) > 0 {
		return withSetupHint(errors.Join(errs...))
	}
	return nil
}

// withSetupHint tells the user how to get missing or damaged model files.
func withSetupHint(err error) error {
	if errors.Is(err, model.ErrNotAdded) {
		return err
	}
	return fmt.Errorf("%w\n(run scripts/setup.sh to download the model files and 'facesearch models prepare' to derive the others; a user-supplied file is installed with 'facesearch models add PROFILE FILE.onnx')", err)
}

func modelsAdd(env *cmdEnv, home string, args []string) error {
	flags := newFlagSet(env, "models add", "PROFILE FILE.onnx\n\nInstalls a user-supplied model file for PROFILE (see 'facesearch models list'):\nchecks its input/output shapes and sha256 against the profile, copies it\nunder FACESEARCH_HOME and records its sha256 for 'models verify'.")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 2 {
		return usageError{"models add: give PROFILE and FILE.onnx"}
	}
	name, src := flags.Arg(0), flags.Arg(1)
	if _, err := model.Builtin(name); err != nil {
		return usageError{fmt.Sprintf("models add: %v (built-in: %s)", err, strings.Join(model.BuiltinNames(), ", "))}
	}
	r, err := model.Add(home, name, src)
	if err != nil {
		return fmt.Errorf("models add: %w", err)
	}
	fmt.Fprintf(env.Stdout, "model %s: %s file installed at %s\n  sha256 %s\n  input  %s\n  output %s\n",
		name, r.Role, filepath.Join(home, r.Path), r.SHA256, r.Input, r.Output)
	return nil
}
