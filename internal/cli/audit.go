package cli

import (
	"context"
	"errors"
)

func cmdAudit(ctx context.Context, env *Env, args []string) error {
	return errors.New("audit: not implemented yet")
}
