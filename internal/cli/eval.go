package cli

import (
	"context"
	"errors"
)

func cmdEval(ctx context.Context, env *Env, args []string) error {
	return errors.New("eval: not implemented yet")
}
