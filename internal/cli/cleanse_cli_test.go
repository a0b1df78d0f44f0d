package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/report/reporttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

// lfwPeople are the LFW people with the most photos.
var lfwPeople = []string{"George_W_Bush", "Colin_Powell", "Tony_Blair", "Donald_Rumsfeld", "Gerhard_Schroeder",
	"Ariel_Sharon", "Hugo_Chavez", "Junichiro_Koizumi", "Jean_Chretien", "John_Ashcroft"}

// lfwSubset copies the first perPerson photos of each of lfwPeople to dir.
func lfwSubset(tb testing.TB, lfw, dir string, perPerson int) {
	tb.Helper()
	for _, p := range lfwPeople {
		names, err := filepath.Glob(filepath.Join(lfw, p, "*.jpg"))
		if err != nil || len(names) == 0 {
			testenv.Missing(tb, "LFW person %s not found under %s", p, lfw)
		}
		sort.Strings(names)
		for _, n := range names[:min(perPerson, len(names))] {
			testenv.CopyFile(tb, n, filepath.Join(dir, p, filepath.Base(n)))
		}
	}
}

// runCLI runs a facesearch command and returns its stdout.
func runCLI(tb testing.TB, args ...string) string {
	tb.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{Stdout: &out, Stderr: &errb, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Getenv: os.Getenv}
	if err := runEnv(context.Background(), env, args); err != nil {
		tb.Fatalf("facesearch %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	tb.Logf("facesearch %s:\n%s", args[0], errb.String())
	return out.String()
}

type auditFinding struct {
	Key       string   `json:"key"`
	Dismissed bool     `json:"dismissed"`
	Kind      string   `json:"kind"`
	Severity  string   `json:"severity"`
	Persons   []string `json:"persons"`
	Files     []string `json:"files"`
	Reason    string   `json:"reason"`
}

type auditJSON struct {
	Schema   string         `json:"schema"`
	Findings []auditFinding `json:"findings"`
}

func bases(files []string) []string {
	var out []string
	for _, f := range files {
		out = append(out, filepath.Base(f))
	}
	slices.Sort(out)
	return out
}

// TestAuditLFW indexes a small LFW subset with the real models twice, as is
// and with planted problems, and checks that audit reports every planted
// problem near the top and nothing alarming in the untouched copy.
func TestAuditLFW(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes real photos with the real models")
	}
	orttest.Manifest(t)
	lfw := filepath.Join(testenv.Faces(t), "lfw")
	tmp := t.TempDir()
	clean, dirty := filepath.Join(tmp, "clean"), filepath.Join(tmp, "dirty")
	lfwSubset(t, lfw, clean, 15)
	lfwSubset(t, lfw, dirty, 15)

	// Plant: two of Colin Powell's photos filed under Tony Blair.
	for _, n := range []string{"Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg"} {
		if err := os.Rename(filepath.Join(dirty, "Colin_Powell", n), filepath.Join(dirty, "Tony_Blair", n)); err != nil {
			t.Fatal(err)
		}
	}
	// Plant: Hugo Chavez's folder copied under another name.
	const twin = "Chávez, Hugo"
	chavez, _ := filepath.Glob(filepath.Join(dirty, "Hugo_Chavez", "*.jpg"))
	for _, n := range chavez {
		testenv.CopyFile(t, n, filepath.Join(dirty, twin, "hc "+filepath.Base(n)))
	}
	// Plant: two photos twice in their own folder.
	dups := [][2]string{{"George_W_Bush", "George_W_Bush_0001"}, {"Ariel_Sharon", "Ariel_Sharon_0003"}}
	for _, d := range dups {
		testenv.CopyFile(t, filepath.Join(dirty, d[0], d[1]+".jpg"), filepath.Join(dirty, d[0], d[1]+" (copy).jpg"))
	}

	audit := func(root, name string) (*auditJSON, string, string) {
		lib := filepath.Join(tmp, name+".lib")
		runCLI(t, "index", "--library", lib, root)
		html, script := filepath.Join(tmp, name+".html"), filepath.Join(tmp, name+".sh")
		out := runCLI(t, "audit", "--library", lib, "--json", "--top", "0", "--html", html, "--script", script)
		var a auditJSON
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("audit json: %v\n%s", err, out)
		}
		for k, f := range a.Findings {
			t.Logf("%s %2d %-6s %-11s %s", name, k+1, f.Severity, f.Kind, f.Reason)
		}
		return &a, html, lib
	}

	ca, _, _ := audit(clean, "clean")
	for _, f := range ca.Findings {
		if f.Severity == cleanse.High.String() {
			t.Errorf("clean LFW subset: alarming finding: %s", f.Reason)
		}
	}

	da, html, lib := audit(dirty, "dirty")
	type want struct {
		name string
		sev  []string
		ok   func(kind string, persons, files []string) bool
	}
	high, med := []string{"high"}, []string{"high", "medium"}
	wants := []want{
		{"Hugo_Chavez copied as " + twin, high, func(k string, p, _ []string) bool {
			return k == "same-person" && slices.Equal(p, []string{twin, "Hugo_Chavez"})
		}},
	}
	for _, n := range []string{"Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg"} {
		wants = append(wants, want{n + " misfiled", high, func(k string, p, f []string) bool {
			return k == "misfiled" && slices.Equal(p, []string{"Tony_Blair", "Colin_Powell"}) && slices.Equal(bases(f), []string{n})
		}})
	}
	for _, d := range dups {
		wants = append(wants, want{d[1] + " duplicated", med, func(k string, _, f []string) bool {
			return k == "duplicate" && slices.Equal(bases(f), []string{d[1] + " (copy).jpg", d[1] + ".jpg"})
		}})
	}
	const top = 10
	found := 0
	for _, w := range wants {
		hit := false
		for _, f := range da.Findings[:min(top, len(da.Findings))] {
			if slices.Contains(w.sev, f.Severity) && w.ok(f.Kind, f.Persons, f.Files) {
				hit = true
			}
		}
		if hit {
			found++
		} else {
			t.Errorf("planted %s: not among the top %d findings at severity %v", w.name, top, w.sev)
		}
	}
	alarming := 0
	for _, f := range da.Findings {
		if f.Severity != "low" {
			alarming++
		}
	}
	t.Logf("planted problems found in the top %d: recall %d/%d; precision %d/%d findings at medium or high",
		top, found, len(wants), found, alarming)

	reporttest.Check(t, html, "Hugo_Chavez", twin, "Colin_Powell_0001.jpg", "Tony_Blair")
	script, err := os.ReadFile(filepath.Join(tmp, "dirty.sh"))
	if err != nil {
		t.Fatal(err)
	}
	wantMove := "# mv -n -- '" + filepath.Join(dirty, "Tony_Blair", "Colin_Powell_0001.jpg") + "' '" + filepath.Join(dirty, "Colin_Powell") + "/'"
	if !strings.Contains(string(script), wantMove) {
		t.Errorf("script lacks %q:\n%s", wantMove, script)
	}

	// pairs: CSV, never within a folder, sorted.
	recs, err := csv.NewReader(strings.NewReader(runCLI(t, "pairs", "--library", lib, "--faces", "--top", "20"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || !slices.Equal(recs[0], cleanse.PairsCSVHeader()) {
		t.Fatalf("pairs csv: %q", recs)
	}
	for _, r := range recs[1:] {
		if r[1] == r[3] {
			t.Errorf("pairs lists a pair inside folder %q", r[1])
		}
	}
	// lookalikes: the copied folder is not a look-alike of its original.
	var lk struct {
		Schema     string `json:"schema"`
		Lookalikes []struct {
			A string `json:"person_a"`
			B string `json:"person_b"`
		} `json:"lookalikes"`
	}
	if err := json.Unmarshal([]byte(runCLI(t, "lookalikes", "--library", lib, "--json")), &lk); err != nil {
		t.Fatal(err)
	}
	if lk.Schema != LookalikesSchema {
		t.Errorf("lookalikes schema %q", lk.Schema)
	}
	looks := lk.Lookalikes
	for _, l := range looks {
		if l.A == twin && l.B == "Hugo_Chavez" {
			t.Errorf("lookalikes lists the copied folder %q ~ %q", l.A, l.B)
		}
	}
	if len(looks) == 0 {
		t.Errorf("lookalikes: empty")
	}
}
