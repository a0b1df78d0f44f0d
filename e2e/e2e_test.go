package e2e_test

// Helpers shared by the end-to-end tests: running the commands, serving a
// library, laying out datasets.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/blasenv"
	"github.com/facesearch/facesearch/internal/cli"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/screenshot-*.png (also: FACESEARCH_UPDATE_SCREENSHOT=1)")

// TestMain re-executes the test binary with OPENBLAS_CORETYPE set when
// OpenBLAS does not know this CPU (see package blasenv), as the commands do.
func TestMain(m *testing.M) {
	if err := blasenv.Ensure(faissidx.BLASCoreName); err != nil {
		fmt.Fprintln(os.Stderr, "e2e test:", err)
	}
	os.Exit(m.Run())
}

// docsFile is the path of a file in the repository's docs/ (screenshots).
func docsFile(name string) string { return filepath.Join("..", "docs", name) }

// heldOut lays out a dataset of copies of root's images, leaving out the
// images named in skip ("person/file").
func heldOut(tb testing.TB, root string, skip ...string) string {
	tb.Helper()
	out := tb.TempDir()
	persons, err := os.ReadDir(root)
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range persons {
		if !p.IsDir() || strings.HasPrefix(p.Name(), "_") {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, p.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range files {
			rel := p.Name() + "/" + f.Name()
			if f.IsDir() || contains(skip, rel) {
				continue
			}
			// Copied, not linked: the server serves no file reached
			// through a link leading outside the dataset root.
			testenv.CopyFile(tb, filepath.Join(root, rel), filepath.Join(out, rel))
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// lineWriter sends each written line to a channel (for "serving ... on URL").
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- line:
		default:
		}
	}
}

// index runs `facesearch index` of dataset into the library lib with the
// process environment, skipping (failing under CI=true) without the models.
func index(tb testing.TB, lib, dataset string) {
	tb.Helper()
	var out bytes.Buffer
	if err := cli.Run(context.Background(), []string{"index", "--library", lib, dataset}, &out, io.Discard); err != nil {
		if strings.Contains(err.Error(), "make setup") {
			testenv.Missing(tb, "face models absent: %v", err)
		}
		tb.Fatalf("index %s: %v\n%s", dataset, err, out.String())
	}
}

// serve runs `facesearch serve` on lib on a free loopback port until the test
// ends and returns its base URL.
func serve(tb testing.TB, lib string, serveArgs ...string) string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	lw := &lineWriter{lines: make(chan string, 16)}
	done := make(chan error, 1)
	args := append([]string{"serve", "--library", lib, "--addr", "127.0.0.1:0"}, serveArgs...)
	go func() { done <- cli.Run(ctx, args, lw, io.Discard) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("serve did not stop after cancel")
		}
	})
	re := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)/`)
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case line := <-lw.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case err := <-done:
			tb.Fatalf("serve exited: %v", err)
		case <-timeout:
			tb.Fatal("serve did not start")
		}
	}
}

// liveServer indexes dataset into a fresh library and serves it until the
// test ends. It returns the base URL.
func liveServer(tb testing.TB, dataset string, serveArgs ...string) string {
	tb.Helper()
	lib := filepath.Join(tb.TempDir(), "lib")
	index(tb, lib, dataset)
	return serve(tb, lib, serveArgs...)
}

// cliEnv sets the environment the commands read for the rest of the test:
// testenv.CLIEnv with the prepared models (skipping without them).
func cliEnv(tb testing.TB) {
	tb.Helper()
	for k, v := range testenv.CLIEnv(orttest.CLIHome(tb)) {
		tb.Setenv(k, v)
	}
}

// runCLI runs a facesearch command in cliEnv's environment and returns its
// stdout.
func runCLI(tb testing.TB, ctx context.Context, args ...string) (string, error) {
	tb.Helper()
	cliEnv(tb)
	var out bytes.Buffer
	err := cli.Run(ctx, args, &out, io.Discard)
	return out.String(), err
}

// libRun runs a facesearch command in cliEnv's environment and returns its
// stdout, failing the test on an error.
func libRun(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := runCLI(tb, context.Background(), args...)
	if err != nil {
		tb.Fatalf("facesearch %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
