package cli

import (
	"context"
	"errors"
)

func cmdStats(ctx context.Context, env *Env, args []string) error {
	return errors.New("stats: not implemented yet")
}
