package cli

import (
	"flag"
	"fmt"
	"math"
	"strconv"
)

// flagRule is the range a numeric flag's value must lie in, by flag name
// (the same name means the same thing in every command).
type flagRule struct {
	min, max float64
	allowed  string // the message: what is allowed
}

// maxK bounds -k: more results than any library holds faces is a mistake
// (and a value near 2^63 overflowed inside the search).
const maxK = 1_000_000

// flagRules returns the rules by flag name (a new map on each call: no
// mutable package state).
func flagRules() map[string]flagRule {
	return map[string]flagRule{
		"workers":    {0, 4096, "0 (the default: CPUs / threads) to 4096"},
		"threads":    {1, 1024, "1 to 1024"},
		"batch":      {1, 1 << 20, "1 to 1048576 images per transaction"},
		"nprobe":     {0, 1 << 20, "0 (the index's default) or a positive count"},
		"ef-search":  {0, 1 << 20, "0 (the index's default) or a positive count"},
		"searches":   {0, 4096, "0 (the default: CPUs / threads) to 4096"},
		"top":        {0, math.MaxInt32, "0 (all) or a positive count"},
		"k":          {1, maxK, fmt.Sprintf("1 to %d", maxK)},
		"min":        {-1, 1, "a cosine similarity from -1 to 1"},
		"far":        {math.SmallestNonzeroFloat64, 0.5, "a rate above 0 and at most 0.5, e.g. 1e-3"},
		"min-score":  {0, 1, "a detector score from 0 to 1 (0: the default 0.7)"},
		"min-size":   {0, 1 << 20, "0 (the default) or a face size in pixels"},
		"min-faces":  {1, 1 << 20, "1 or more"},
		"candidates": {1, 1 << 20, "1 or more"},
		"max-upload": {1, 1 << 23, "1 to 8388608 MiB"}, // << 20 must not overflow int64
		"max-pixels": {1, 1 << 40, "1 or more pixels"},
	}
}

// checkFlagValues refuses a numeric flag given a value outside its range,
// or not finite (NaN, Inf), naming what is allowed. Only flags set on the
// command line are checked: defaults are in range by construction.
func checkFlagValues(fs *flag.FlagSet) error {
	var err error
	rules := flagRules()
	fs.Visit(func(f *flag.Flag) {
		rule, ok := rules[f.Name]
		if !ok || err != nil {
			return
		}
		v, perr := strconv.ParseFloat(f.Value.String(), 64)
		if perr != nil {
			return // not a number flag
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < rule.min || v > rule.max {
			err = usageError{fmt.Sprintf("%s: --%s %s: allowed: %s", fs.Name(), f.Name, f.Value.String(), rule.allowed)}
		}
	})
	return err
}
