package directupload

import "testing"

func TestPlain(t *testing.T) {
	for key, want := range map[string]bool{
		"config": true, "data/ab/0123abcdef": true, "repo/keys/k.json": true, "a-b_c.d": true,
		"": false, "/lead": false, "trail/": false, "a//b": false, "a/../b": false, "./a": false,
		"a__0x2f__b": false, "ü": false, "a b": false, "a\nb": false, "a?b": false,
	} {
		if got := Plain(key); got != want {
			t.Errorf("Plain(%q) = %v, want %v", key, got, want)
		}
	}
}
