package textout

import "testing"

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice/1.jpg", "alice/1.jpg"},
		{"山田太郎/写真 1.jpg", "山田太郎/写真 1.jpg"},
		{"e\u0301cole", "e\u0301cole"}, // a combining mark is printable
		{"x\x1b]0;pwned\x07.jpg", `x\x1b]0;pwned\x07.jpg`},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"two\nlines\r\tx", `two\nlines\r\tx`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b31m", `c1\u009b31m`},
		{"gpj.\u202eexe", `gpj.\u202eexe`},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`},
		{"sep\u2028", `sep\u2028`},
		{"\x93\xfa\x96{", "\uFFFD\uFFFD\uFFFD{"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
