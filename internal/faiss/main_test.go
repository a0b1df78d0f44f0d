package faiss

import (
	"fmt"
	"os"
	"testing"

	"github.com/facesearch/facesearch/internal/blasenv"
)

// TestMain re-executes the test binary with OPENBLAS_CORETYPE set when
// OpenBLAS fell back to kernels that are slow (and have crashed) on this CPU.
func TestMain(m *testing.M) {
	if err := blasenv.Ensure(BLASCoreName); err != nil {
		fmt.Fprintln(os.Stderr, "faiss test:", err)
	}
	os.Exit(m.Run())
}
