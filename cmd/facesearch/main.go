// Command facesearch finds similar faces in a face dataset.
// See the README and `facesearch help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/facesearch/facesearch/internal/blasenv"
	"github.com/facesearch/facesearch/internal/cli"
	"github.com/facesearch/facesearch/internal/faiss"
)

func main() {
	// OpenBLAS picks its kernels when it loads, before main: when it did not
	// recognise this CPU, re-execute with OPENBLAS_CORETYPE set (see blasenv).
	if err := blasenv.Ensure(faiss.BLASCoreName); err != nil {
		fmt.Fprintln(os.Stderr, "facesearch: warning:", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "facesearch:", cli.Message(err, os.Getenv))
		os.Exit(cli.ExitCode(err))
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Run(ctx, args, stdout, stderr)
}
