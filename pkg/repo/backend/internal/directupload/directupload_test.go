package directupload

import "testing"

func TestAnswer(t *testing.T) {
	var m Marker
	if !Answer(&m) || !bool(m) {
		t.Fatalf("Answer(*Marker) left the marker %v", m)
	}
	var other bool
	if Answer(&other) || other {
		t.Fatal("Answer accepted a *bool")
	}
	if Answer(nil) {
		t.Fatal("Answer accepted nil")
	}
}
