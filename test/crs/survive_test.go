package crs

import (
	"reflect"
	"testing"
)

// TestDropped checks that every kind of loss is reported with its path and
// that what the server adds is not.
func TestDropped(t *testing.T) {
	sent := map[string]any{
		"metadata": map[string]any{"name": "a"},
		"spec": map[string]any{
			"keep":    "x",
			"gone":    int64(1),
			"changed": "old",
			"list":    []any{map[string]any{"name": "n", "meta": map[string]any{"name": "claim"}}},
			"short":   []any{"a", "b"},
		},
	}
	stored := map[string]any{
		"metadata": map[string]any{"name": "a", "uid": "u"},
		"spec": map[string]any{
			"keep":    "x",
			"changed": "new",
			"added":   true,
			"list":    []any{map[string]any{"name": "n", "meta": map[string]any{}}},
			"short":   []any{"a"},
		},
		"status": map[string]any{},
	}
	want := []string{
		".spec.changed: sent old, stored new",
		".spec.gone: missing",
		".spec.list[0].meta.name: missing",
		".spec.short: sent 2 items, stored [a]",
	}
	if got := Dropped(sent, stored); !reflect.DeepEqual(got, want) {
		t.Errorf("Dropped:\n got %q\nwant %q", got, want)
	}
	if got := Dropped(sent, sent); len(got) != 0 {
		t.Errorf("an object compared with itself lost %q", got)
	}
}
