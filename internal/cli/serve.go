package cli

import (
	"context"
	"errors"
)

func cmdServe(ctx context.Context, env *Env, args []string) error {
	return errors.New("serve: not implemented yet")
}
