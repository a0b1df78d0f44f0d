package cli

import (
	"context"
	"errors"
)

func cmdModels(ctx context.Context, env *Env, args []string) error {
	return errors.New("models: not implemented yet")
}
