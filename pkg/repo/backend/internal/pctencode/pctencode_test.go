package pctencode

import "testing"

func TestEscape(t *testing.T) {
	if got := Escape("a b/c~d+e"); got != "a%20b%2Fc~d%2Be" {
		t.Errorf("Escape = %q", got)
	}
	if got := EscapePath("dir/a b$"); got != "dir/a%20b%24" {
		t.Errorf("EscapePath = %q", got)
	}
	if got := Escape("ü&="); got != "%C3%BC%26%3D" {
		t.Errorf("Escape of UTF-8 and reserved bytes = %q", got)
	}
}
