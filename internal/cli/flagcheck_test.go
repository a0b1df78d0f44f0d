package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagValuesValidated: out-of-range numeric flags are usage errors
// naming what is allowed (issue 15 item 16: --workers -5 and --batch -1
// were accepted silently, -k 2^63-1 overflowed inside the search, --min NaN
// was ignored and --min Inf failed in the JSON encoder).
func TestFlagValuesValidated(t *testing.T) {
	lib := filepath.Join(t.TempDir(), "lib")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"index", "--workers", "-5", "ROOT"}, "-workers -5: allowed: 0"},
		{[]string{"index", "--batch", "-1", "ROOT"}, "-batch -1: allowed: 1 to"},
		{[]string{"index", "--threads", "0", "ROOT"}, "-threads 0: allowed: 1 to"},
		{[]string{"import-npz", "--workers", "-1", "ROOT"}, "-workers -1"},
		{[]string{"search", "-k", "9223372036854775807", "--vector", "x.npy"}, "-k 9223372036854775807: allowed: 1 to 1000000"},
		{[]string{"search", "-k", "0", "--vector", "x.npy"}, "-k 0: allowed"},
		{[]string{"search", "--min", "NaN", "--vector", "x.npy"}, "-min NaN: allowed: a cosine similarity from -1 to 1"},
		{[]string{"search", "--min", "Inf", "--json", "--vector", "x.npy"}, "-min +Inf: allowed"},
		{[]string{"search", "--min", "1.5", "--vector", "x.npy"}, "-min 1.5"},
		{[]string{"pairs", "--min", "-Inf"}, "-min -Inf"},
		{[]string{"audit", "--top", "-3"}, "-top -3"},
		{[]string{"calibrate", "--far", "0"}, "-far 0: allowed"},
		{[]string{"calibrate", "--far", "NaN"}, "-far NaN"},
		{[]string{"lookalikes", "--min-faces", "0"}, "-min-faces 0"},
		{[]string{"serve", "--max-upload", "9223372036854775807"}, "-max-upload 9223372036854775807: allowed: 1 to"},
	}
	for _, tc := range tests {
		args := append([]string{tc.args[0], "--library", lib}, tc.args[1:]...)
		_, err := npzRun(t, args...)
		if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v (exit %d), want a usage error containing %q", tc.args, err, ExitCode(err), tc.want)
		}
	}
}
