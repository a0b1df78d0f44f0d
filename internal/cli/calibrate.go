package cli

import (
	"context"
	"errors"
)

func cmdCalibrate(ctx context.Context, env *Env, args []string) error {
	return errors.New("calibrate: not implemented yet")
}
