package cli

import (
	"context"
	"errors"
)

func cmdFaces(ctx context.Context, env *Env, args []string) error {
	return errors.New("faces: not implemented yet")
}
