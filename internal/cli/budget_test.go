package cli

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestBudgetWorkers(t *testing.T) {
	tests := []struct {
		name                   string
		workers, threads, ncpu int
		want                   int
		warn                   bool
	}{
		{"default, one thread", 0, 1, 8, 8, false},
		{"default, two threads", 0, 2, 8, 4, false},
		{"default, threads beyond CPUs", 0, 4, 2, 1, false},
		{"within budget", 3, 2, 8, 3, false},
		{"exactly the CPUs", 4, 2, 8, 4, false},
		{"too many workers", 16, 1, 2, 2, true},
		{"too many workers × threads", 3, 2, 4, 2, true},
		{"one worker, threads beyond CPUs", 1, 4, 2, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			env := &cmdEnv{Stdout: io.Discard, Stderr: io.Discard, Log: slog.New(slog.NewTextHandler(&log, nil)), Getenv: func(string) string { return "" }}
			if got := budgetWorkers(env, tc.workers, tc.threads, tc.ncpu); got != tc.want {
				t.Errorf("budgetWorkers(%d, %d, %d) = %d, want %d", tc.workers, tc.threads, tc.ncpu, got, tc.want)
			}
			if warned := strings.Contains(log.String(), "reducing workers"); warned != tc.warn {
				t.Errorf("warning logged = %v, want %v (log %q)", warned, tc.warn, log.String())
			}
		})
	}
}
