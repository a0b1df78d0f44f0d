package library

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const unprivEnv = "FACESEARCH_TEST_UNPRIVILEGED"

// asUnprivileged makes a permission test honest when the tests run as root
// (root reads a chmod 000 folder): it re-runs the calling test in a child
// process as the unprivileged user 65534 through setpriv(1), with TMPDIR in
// a world-writable folder, and reports the child's result. It returns true
// when the caller must return (the child ran the test); false when the
// caller runs it itself (not root, or already the child). Without setpriv
// the test is skipped with the reason.
func asUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	if os.Getenv(unprivEnv) != "" {
		t.Fatal("still root inside the unprivileged child")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("running as root without setpriv(1): a permission test needs an unprivileged user")
	}
	tmp, err := os.MkdirTemp("", "facesearch-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	// The test binary may sit in a folder only root can enter: copy it.
	bin := filepath.Join(tmp, "test.bin")
	copyFile(t, os.Args[0], bin, 0o755)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), unprivEnv+"=1", "TMPDIR="+tmp, "HOME="+tmp)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	t.Logf("ran as uid 65534 (setpriv):\n%s", out)
	if err != nil {
		t.Fatalf("unprivileged run failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the unprivileged run did not pass %s", t.Name())
	}
	return true
}

func copyFile(t testing.TB, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
