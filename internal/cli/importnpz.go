package cli

import (
	"context"
	"errors"
)

func cmdImportNpz(ctx context.Context, env *Env, args []string) error {
	return errors.New("import-npz: not implemented yet")
}
