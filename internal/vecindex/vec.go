package vecindex

import (
	"errors"
	"fmt"
	"math"
)

// Errors of Normalize.
var (
	ErrZero      = errors.New("vector is zero")
	ErrNotFinite = errors.New("vector is not finite")
)

// Normalize scales v to unit length in place (the squared norm summed in
// float64). It fails, leaving v unchanged, on a zero vector (ErrZero) or
// one whose norm is NaN or infinite (ErrNotFinite).
func Normalize(v []float32) error {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return ErrZero
	}
	if math.IsNaN(ss) || math.IsInf(ss, 0) {
		return fmt.Errorf("%w (norm %v)", ErrNotFinite, math.Sqrt(ss))
	}
	// Scale in float64: for a tiny vector (norm below about 1e-38) 1/norm
	// overflows float32 and the product would be Inf or NaN.
	inv := 1 / math.Sqrt(ss)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return nil
}

// Dot returns the inner product of a and b over the shorter length, in
// float32 with four partial sums (the loop the brute-force searches run).
func Dot(a, b []float32) float32 {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
