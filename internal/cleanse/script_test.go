package cleanse

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "'plain'"},
		{"it's", `'it'\''s'`},
		{"山田 太郎/写真.jpg", "'山田 太郎/写真.jpg'"},
		{"-rf", "'-rf'"},
		{"a\nb", `$'a\x0ab'`},
		{"x'\\\n", `$'x\'\\\x0a'`},
	}
	for _, tc := range tests {
		if got := ShellQuote(tc.in); got != tc.want {
			t.Errorf("ShellQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestMoveScript writes the script for a dataset of real files with awkward
// names, checks that running it as written changes nothing, and that enabling
// its commands performs exactly the suggested moves.
func TestMoveScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	root := t.TempDir()
	s := newSynth(9)
	folders := []string{"山田 太郎", "O'Brien", "-dash", "new\nline", "Zoë"}
	centres := map[string][]float32{}
	for _, f := range folders {
		centres[f] = s.unit()
		for range 6 {
			s.add(f, s.sampleFace(centres[f]))
		}
	}
	mis := s.add("Zoë", s.sampleFace(centres["O'Brien"]))
	for k := range 6 { // "O'Brien (2)" is O'Brien again
		s.add("O'Brien (2)", s.sampleFace(centres["O'Brien"]))
		_ = k
	}
	for i := range s.faces {
		f := &s.faces[i]
		f.File = filepath.Join(root, f.Person, strings.ReplaceAll(filepath.Base(f.File), "_", " '$(x)` "))
		if err := os.MkdirAll(filepath.Dir(f.File), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.File, []byte(f.File), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := s.prepare(t)
	r, err := d.Audit(context.Background(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteMoveScript(&buf, d, r, Medium); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "fix.sh")
	run := func(text string) {
		t.Helper()
		if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bash, script).CombinedOutput(); err != nil {
			t.Fatalf("bash %s: %v\n%s\n%s", script, err, out, text)
		}
	}
	run(buf.String())
	for _, f := range s.faces {
		if _, err := os.Stat(f.File); err != nil {
			t.Fatalf("running the script as written moved %q: %v", f.File, err)
		}
	}
	// Enable every command.
	var lines []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(l, "# mv ") || strings.HasPrefix(l, "# rmdir ") {
			l = strings.TrimPrefix(l, "# ")
		}
		lines = append(lines, l)
	}
	run(strings.Join(lines, "\n"))
	moved := filepath.Join(root, "O'Brien", filepath.Base(s.faces[mis].File))
	if _, err := os.Stat(moved); err != nil {
		t.Errorf("misfiled face not moved to %s: %v", moved, err)
	}
	if _, err := os.Stat(filepath.Join(root, "O'Brien (2)")); !os.IsNotExist(err) {
		t.Errorf("folder \"O'Brien (2)\" not merged and removed: %v\n%s", err, buf.String())
	}
	for _, f := range folders {
		if f == "O'Brien" || f == "Zoë" {
			continue
		}
		if n, _ := filepath.Glob(filepath.Join(root, f, "*")); len(n) != 6 {
			t.Errorf("folder %q has %d files after the moves, want 6", f, len(n))
		}
	}
}
