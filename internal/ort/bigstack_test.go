package ort_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/ort/orttest"
)

const manyArgsChild = "FACESEARCH_TEST_MANY_ARGS_CHILD"

// TestInitManyArgsChild is the subprocess of TestInitWithManyArgs: it
// opens the runtime with the long command line it was started with.
func TestInitManyArgsChild(t *testing.T) {
	if os.Getenv(manyArgsChild) == "" {
		t.Skip("subprocess of TestInitWithManyArgs")
	}
	rt := orttest.Runtime(t)
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ORT-INIT-OK")
}

// TestInitWithManyArgs: onnxruntime's environment set-up matched the
// process's command line with a recursive regex and overflowed the C stack
// (SIGSEGV) past about 29 KB of arguments (issue 15 item 9). A child with
// 2,000 photo-like paths on its command line (~130 KB) must open and close
// the runtime.
func TestInitWithManyArgs(t *testing.T) {
	orttest.Runtime(t) // skips without the library
	args := []string{"-test.run=^TestInitManyArgsChild$", "-test.count=1", "-test.v", "--"}
	for i := range 2000 {
		args = append(args, fmt.Sprintf("/work/shared/faces/lfw/Some_Person_Name/Some_Person_Name_%04d.jpg", i))
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), manyArgsChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ORT-INIT-OK") {
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[:2000]
		}
		t.Fatalf("runtime init with 2,000 arguments: %v\n%s", err, tail)
	}
}
