// Command facesearch finds similar faces in a face dataset.
// See the README and `facesearch help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/facesearch/facesearch/internal/blasenv"
	"github.com/facesearch/facesearch/internal/cli"
	"github.com/facesearch/facesearch/internal/textout"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

func main() {
	// OpenBLAS picks its kernels when it loads, before main: when it did not
	// recognise this CPU, re-execute with OPENBLAS_CORETYPE set (see blasenv).
	if err := blasenv.Ensure(faissidx.BLASCoreName); err != nil {
		fmt.Fprintln(os.Stderr, "facesearch: warning:", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// Errors quote names from the dataset: escape control characters
		// (line by line: a few messages are two lines on purpose).
		lines := strings.Split(cli.Message(err, os.Getenv), "\n")
		for i, l := range lines {
			lines[i] = textout.Escape(l)
		}
		fmt.Fprintln(os.Stderr, "facesearch:", strings.Join(lines, "\n"))
		os.Exit(cli.ExitCode(err))
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Run(ctx, args, stdout, stderr)
}
