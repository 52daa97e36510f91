package convert

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		kinds []string
		errs  []string
	}{
		{name: "multi-document with empty documents", in: "---\napiVersion: v1\nkind: A\n---\n---\napiVersion: v1\nkind: B\n", kinds: []string{"A", "B"}},
		{name: "JSON", in: `{"apiVersion": "v1", "kind": "A"}`, kinds: []string{"A"}},
		{name: "List and typed List, nested", in: "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: A\n- apiVersion: x/v1\n  kind: BList\n  items:\n  - {apiVersion: x/v1, kind: B}\n", kinds: []string{"A", "B"}},
		{name: "a List item without kind", in: "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n", errs: []string{"f:4: an object without apiVersion or kind"}},
		{name: "items not a list", in: "apiVersion: v1\nkind: List\nitems: 3\n", errs: []string{"List.items is not a list"}},
		{name: "not a mapping", in: "- a\n- b\n", errs: []string{"f:1: a document is not an object"}},
		{name: "syntax error ends the file", in: "apiVersion: v1\nkind: A\n---\nkind: [\n---\napiVersion: v1\nkind: C\n", kinds: []string{"A"}, errs: []string{"not YAML or JSON"}},
		{name: "empty", in: "", kinds: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, errs := Decode("f", strings.NewReader(tc.in))
			var kinds []string
			for _, d := range docs {
				kinds = append(kinds, d.Kind())
			}
			if strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") {
				t.Errorf("kinds %v, want %v", kinds, tc.kinds)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %v, want %d", errs, len(tc.errs))
			}
			for i, e := range errs {
				var de *DecodeError
				if !errors.As(e, &de) || !strings.Contains(e.Error(), tc.errs[i]) {
					t.Errorf("error %v, want a DecodeError with %q", e, tc.errs[i])
				}
			}
		})
	}
}

func TestDecodeRefusesOversizedInput(t *testing.T) {
	_, errs := Decode("big", strings.NewReader(strings.Repeat("#", MaxInputBytes+1)))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "larger than") {
		t.Fatalf("errs = %v", errs)
	}
}
