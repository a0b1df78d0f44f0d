package cli

import (
	"context"
	"errors"
)

func cmdPairs(ctx context.Context, env *Env, args []string) error {
	return errors.New("pairs: not implemented yet")
}
