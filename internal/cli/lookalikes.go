package cli

import (
	"context"
	"errors"
)

func cmdLookalikes(ctx context.Context, env *Env, args []string) error {
	return errors.New("lookalikes: not implemented yet")
}
