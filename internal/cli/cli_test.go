package cli

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

func TestNewEnvDebugLevelFromGetenv(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		debug bool
	}{
		{"unset", nil, false},
		{"empty", map[string]string{"FACESEARCH_DEBUG": ""}, false},
		{"set", map[string]string{"FACESEARCH_DEBUG": "1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			getenv := func(k string) string {
				asked = asked || k == "FACESEARCH_DEBUG"
				return tc.env[k]
			}
			env := newEnv(io.Discard, io.Discard, getenv)
			if !asked {
				t.Error("newEnv did not read FACESEARCH_DEBUG through getenv")
			}
			if got := env.Log.Enabled(context.Background(), slog.LevelDebug); got != tc.debug {
				t.Errorf("debug enabled = %v, want %v", got, tc.debug)
			}
			if env.Getenv == nil || env.Getenv("FACESEARCH_DEBUG") != tc.env["FACESEARCH_DEBUG"] {
				t.Error("cmdEnv.Getenv is not the getenv given")
			}
		})
	}
}
