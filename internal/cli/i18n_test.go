package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/facesearch/facesearch/internal/testenv"
)

var verbRe = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?(\[\d+\])?[a-zA-Z%]`)

// verbs lists the verb letters of a format string, sorted (a translation
// may reorder its arguments with %[n]).
func verbs(f string) []string {
	var out []string
	for _, m := range verbRe.FindAllString(f, -1) {
		out = append(out, m[len(m)-1:])
	}
	slices.Sort(out)
	return out
}

// TestCatalogueVerbs checks that each translation formats the same
// arguments as its English key.
func TestCatalogueVerbs(t *testing.T) {
	for k, v := range messagesJA {
		if !slices.Equal(verbs(k), verbs(v)) {
			t.Errorf("%q: verbs %v, translation %q has %v", k, verbs(k), v, verbs(v))
		}
	}
	for k, v := range pluralsEN {
		if !slices.Equal(verbs(k), verbs(v.one)) || !slices.Equal(verbs(k), verbs(v.other)) {
			t.Errorf("plural %q: verbs differ", k)
		}
	}
}

func TestPluralsEN(t *testing.T) {
	p := printer(&cmdEnv{Getenv: func(string) string { return "" }})
	if got := p.Sprintf("%s: %dx%d", "a.jpg", 970, 2204); got != "a.jpg: 970x2204" {
		t.Errorf("numbers are localised: %q", got)
	}
	tests := []struct {
		n    int
		want string
	}{{0, "0 folder pairs that look like one person"}, {1, "1 folder pair that looks like one person"}, {2, "2 folder pairs that look like one person"}}
	for _, tc := range tests {
		if got := p.Sprintf("%d folder pairs that look like one person", tc.n); got != tc.want {
			t.Errorf("%d: %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestLangTag(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "en"},
		{map[string]string{"LANG": "ja_JP.UTF-8"}, "ja"},
		{map[string]string{"LANG": "ja_JP.UTF-8", "LC_ALL": "C"}, "en"},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP"}, "ja"},
	}
	for _, tc := range tests {
		got := "en"
		if japanese(func(k string) string { return tc.env[k] }) {
			got = "ja"
		}
		if got != tc.want {
			t.Errorf("%v: %s, want %s", tc.env, got, tc.want)
		}
	}
}

func TestDispWidth(t *testing.T) {
	nfc := "ガッキー"
	nfd := norm.NFD.String(nfc)
	if nfd == nfc {
		t.Fatal("NFD did not decompose")
	}
	tests := []struct {
		s    string
		want int
	}{{"abc", 3}, {nfc, 8}, {nfd, 8}, {"佐藤", 4}, {"e\u0301", 1}, {"👩‍👩‍👧", 2}}
	for _, tc := range tests {
		if got := dispWidth(tc.s); got != tc.want {
			t.Errorf("dispWidth(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
	var b bytes.Buffer
	printTable(&b, [][]string{{"name", "n"}, {nfd, "1"}, {nfc, "2"}, {"x", "3"}})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	col := -1
	for _, l := range lines {
		// the second column starts at the same display column everywhere
		i := strings.LastIndex(l, " ")
		if c := dispWidth(l[:i+1]); col < 0 {
			col = c
		} else if c != col {
			t.Errorf("misaligned: %q (column %d, want %d)", l, c, col)
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		lang string
		args []string
		want string
	}{
		{"", []string{"serch"}, `unknown command "serch": did you mean "search"?`},
		{"", []string{"frobnicate"}, `unknown command "frobnicate" (see 'facesearch help')`},
		{"", []string{"help", "audti"}, `unknown command "audti": did you mean "audit"?`},
		{"", []string{"search", "--jsn", "x.jpg"}, "search: unknown flag --jsn: did you mean --json?"},
		{"", []string{"stats", "--zzz"}, "stats: unknown flag --zzz (see 'facesearch help stats')"},
		{"", []string{"search", "--k", "abc", "x.jpg"}, `invalid value "abc" for flag --k`},
		{"", []string{"search", "--csv", "--by-person", "x.jpg"}, "search: --csv writes face rows and cannot show the --by-person ranking"},
		{"ja_JP.UTF-8", []string{"stats", "--jsn"}, "不明なフラグ --jsn です。--json のことですか？"},
		{"ja_JP.UTF-8", []string{"stats", "extra"}, "stats: 引数は取りません"},
		{"ja_JP.UTF-8", []string{"serch"}, `不明なコマンド "serch" です。"search" のことですか？`},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		env := &cmdEnv{Stdout: &out, Stderr: &out, Log: slog.New(slog.DiscardHandler), Getenv: func(k string) string {
			if k == "LANG" {
				return tc.lang
			}
			return ""
		}}
		err := runEnv(context.Background(), env, tc.args)
		if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v (exit %d), want %q", tc.lang, tc.args, err, ExitCode(err), tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed %q besides the error", tc.args, out.String())
		}
	}
}

func TestHelpFlagSpelling(t *testing.T) {
	var out bytes.Buffer
	env := &cmdEnv{Stdout: &out, Stderr: &out, Log: slog.New(slog.DiscardHandler), Getenv: func(string) string { return "" }}
	if err := runEnv(context.Background(), env, []string{"help", "search"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "  --json\n") || !strings.Contains(out.String(), "  --k int\n") || regexp.MustCompile(`(?m)^  -[a-z]`).MatchString(out.String()) {
		t.Errorf("help:\n%s", out.String())
	}
	out.Reset()
	if err := runEnv(context.Background(), env, []string{"--version"}); err != nil || !strings.HasPrefix(out.String(), "facesearch ") {
		t.Errorf("--version: %v %q", err, out.String())
	}
}

// TestJapaneseCommands runs index, search, stats, audit and calibrate with
// LANG=ja_JP.UTF-8 on real photos and checks they speak Japanese.
func TestJapaneseCommands(t *testing.T) {
	env, out := libEnv(t)
	g := env.Getenv
	env.Getenv = func(k string) string {
		if k == "LANG" {
			return "ja_JP.UTF-8"
		}
		return g(k)
	}
	var errb bytes.Buffer
	env.Stderr = &errb
	src := testenv.FacesSet(t, "face_recognition")
	root := t.TempDir()
	for _, p := range []string{"biden", "obama", "alex_lacamoire"} {
		files, _ := os.ReadDir(filepath.Join(src, p))
		for _, f := range files {
			testenv.CopyFile(t, filepath.Join(src, p, f.Name()), filepath.Join(root, p, f.Name()))
		}
	}
	lib := filepath.Join(t.TempDir(), "lib")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"index", "--library", lib, root}, []string{"インデックス完了", "書き込んだ顔"}},
		{[]string{"search", "--library", lib, filepath.Join(src, "biden", "knn_train_biden.jpg")}, []string{"順位", "類似度", "しきい値"}},
		{[]string{"stats", "--library", lib}, []string{"ライブラリ", "人物", "画像"}},
		{[]string{"audit", "--library", lib}, []string{"指摘"}},
		{[]string{"calibrate", "--library", lib, "--dry-run"}, []string{"試行のみ", "しきい値"}},
	}
	for _, tc := range tests {
		out.Reset()
		errb.Reset()
		err := runEnv(context.Background(), env, tc.args)
		text := out.String() + errb.String()
		if err != nil {
			t.Errorf("%s: %v\n%s", tc.args[0], err, text)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: no %q in\n%s", tc.args[0], w, text)
			}
		}
	}
	_ = io.Discard
}

func TestClosest(t *testing.T) {
	names := []string{"index", "search", "stats", "audit", "pairs", "serve", "import-npz"}
	tests := []struct{ in, want string }{
		{"serch", "search"}, {"audti", "audit"}, {"stat", "stats"}, {"imp", "import-npz"},
		{"xyz", ""}, {"s", ""}, {"INDEX", "index"},
	}
	for _, tc := range tests {
		if got := closest(tc.in, names); got != tc.want {
			t.Errorf("closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
