package blasenv

import "testing"

func TestDecide(t *testing.T) {
	avx512 := Features{AVX512: true, AVX2: true, FMA: true}
	avx2 := Features{AVX2: true, FMA: true}
	old := Features{}
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	none := env(nil)
	tests := []struct {
		name   string
		getenv func(string) string
		core   string
		f      Features
		want   string
	}{
		{"prescott fallback with avx512", none, "Prescott", avx512, "SkylakeX"},
		{"prescott fallback with avx2", none, "Prescott", avx2, "Haswell"},
		{"case and space insensitive", none, " prescott\n", avx512, "SkylakeX"},
		{"core2 fallback", none, "Core2", avx2, "Haswell"},
		{"nehalem fallback", none, "Nehalem", avx512, "SkylakeX"},
		{"sandybridge on avx2 cpu", none, "Sandybridge", avx2, "Haswell"},
		{"old cpu really is old", none, "Prescott", old, ""},
		{"avx2 without fma", none, "Prescott", Features{AVX2: true}, ""},
		{"known haswell left alone", none, "Haswell", avx512, ""},
		{"known skylakex left alone", none, "SkylakeX", avx512, ""},
		{"zen left alone", none, "Zen", avx2, ""},
		{"unknown library name", none, "", avx512, ""},
		{"variable already set", env(map[string]string{CoreTypeVar: "Haswell"}), "Prescott", avx512, ""},
		{"other variables ignored", env(map[string]string{"OPENBLAS_L2_SIZE": "1048576"}), "Prescott", avx512, "SkylakeX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.getenv, tt.core, tt.f); got != tt.want {
				t.Errorf("Decide(%q, %+v) = %q, want %q", tt.core, tt.f, got, tt.want)
			}
		})
	}
}

func TestEnsureNoopWhenGuarded(t *testing.T) {
	t.Setenv(GuardVar, "1")
	called := false
	if err := Ensure(func() string { called = true; return "Prescott" }); err != nil {
		t.Fatal(err)
	}
	if called {
		t.Error("Ensure asked for the core name although the guard variable is set")
	}
}

func TestEnsureNoopWhenKnownCore(t *testing.T) {
	t.Setenv(GuardVar, "")
	// A known core: Ensure must return instead of re-executing the test binary.
	if err := Ensure(func() string { return "SkylakeX" }); err != nil {
		t.Fatal(err)
	}
}

func TestHostFeaturesConsistent(t *testing.T) {
	f := HostFeatures()
	if f.AVX512 && !f.AVX2 {
		t.Errorf("HostFeatures() = %+v: AVX-512 without AVX2", f)
	}
}
