package cli

import (
	"context"
	"errors"
)

func cmdSearch(ctx context.Context, env *Env, args []string) error {
	return errors.New("search: not implemented yet")
}
