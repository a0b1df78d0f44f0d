package library

import (
	"context"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/facesearch/facesearch/internal/catalog"
)

// defaultBatchInterval is how long a partial batch waits before it is
// committed (index and import-npz alike).
const defaultBatchInterval = 2 * time.Second

// pipeline is the one fan-out/writer of 'index' and 'import-npz': a bounded
// pool of workers turns work items into results, and one writer goroutine
// adds each result's catalog changes to a batch and commits the batch in
// one transaction when it reaches Size (by the weight add returns) or
// Interval has passed, whichever comes first, and at the end. A result's
// changes are never split between transactions, so a run killed at any
// point leaves the catalog as some prefix of the results, and the next run
// resumes from there.
type pipeline[W, R any] struct {
	Workers  int           // items processed at once (default NumCPU)
	Size     int           // commit when the batch weighs this much
	Interval time.Duration // commit a partial batch after this long (default 2s)
	Progress Progress      // Start(len(todo)), Add(1) per result, Finish; may be nil

	// Do processes one item. An error stops the run (the results received
	// until then are still committed).
	Do func(ctx context.Context, w W) (R, error)
	// Add adds r's changes to b and returns their weight (what Size counts).
	Add func(b *catalog.Batch, r R) int
	// Committed is called by the writer after each commit with the results
	// the batch held, in order (the run's report is updated here).
	Committed func(b *catalog.Batch, rs []R)
}

// run processes todo. On cancellation every completed item is still
// committed; a catalog error cancels the workers. It returns the first
// worker or catalog error, else ctx's error.
func (p pipeline[W, R]) run(ctx context.Context, cat *catalog.Catalog, todo []W) error {
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	if p.Progress != nil {
		p.Progress.Start(len(todo))
		defer p.Progress.Finish()
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make(chan R, 2*workers)
	writeErr := make(chan error, 1)
	go func() { writeErr <- p.write(context.WithoutCancel(ctx), cat, results, cancel) }()

	g, gctx := errgroup.WithContext(wctx)
	g.SetLimit(workers)
	for _, w := range todo {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			r, err := p.Do(gctx, w)
			if err != nil {
				return err
			}
			// The writer reads until results is closed (it drains after a
			// failure too), so this send never blocks forever and a
			// completed result is never dropped.
			results <- r
			return nil
		})
	}
	err := g.Wait()
	close(results)
	if werr := <-writeErr; werr != nil {
		return werr
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// write commits results in batches; on a catalog error it cancels the
// workers and drains the channel.
func (p pipeline[W, R]) write(ctx context.Context, cat *catalog.Catalog, results <-chan R, cancel context.CancelCauseFunc) error {
	interval := p.Interval
	if interval <= 0 {
		interval = defaultBatchInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var b catalog.Batch
	var pending []R
	weight := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := cat.Apply(ctx, &b); err != nil {
			return err
		}
		p.Committed(&b, pending)
		b, pending, weight = catalog.Batch{}, nil, 0
		return nil
	}
	fail := func(err error) error {
		cancel(err)
		for range results {
		}
		return err
	}
	for {
		select {
		case r, ok := <-results:
			if !ok {
				return flush()
			}
			weight += p.Add(&b, r)
			pending = append(pending, r)
			if p.Progress != nil {
				p.Progress.Add(1)
			}
			if weight >= p.Size {
				if err := flush(); err != nil {
					return fail(err)
				}
			}
		case <-tick.C:
			if err := flush(); err != nil {
				return fail(err)
			}
		}
	}
}
