package cli

import (
	"context"
	"errors"
)

func cmdIndex(ctx context.Context, env *Env, args []string) error {
	return errors.New("index: not implemented yet")
}
