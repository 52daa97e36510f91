package subst

import (
	"errors"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"NAMESPACE": "demo", "PATHS": "/data", "EMPTY": "", "A1": "x"}
	cases := []struct {
		in, want string
	}{
		{"no placeholders", "no placeholders"},
		{"--ns=${NAMESPACE}", "--ns=demo"},
		{"${NAMESPACE}/${PATHS}", "demo//data"},
		{"--exclude=${EXCLUDE:=}", "--exclude="},
		{"--level=${LEVEL:=3}", "--level=3"},
		{"--ns=${NAMESPACE:=default}", "--ns=demo"},
		{"${EMPTY:=fallback}", "fallback"},
		{"${EMPTY}", ""},
		{"cost: $5", "cost: $5"},
		{"trailing $", "trailing $"},
		{"literal $${NAMESPACE}", "literal ${NAMESPACE}"},
		{"$$$$", "$$"},
		{"${A1}", "x"},
		{"${X:=a:=b}", "a:=b"},
		{"${URL:=http://h:80/p}", "http://h:80/p"},
	}
	for _, tc := range cases {
		got, err := Expand(tc.in, vars)
		if err != nil {
			t.Errorf("Expand(%q): unexpected error %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	cases := []struct {
		in      string
		missing string
		syntax  string
	}{
		{in: "--repo=${REPOSITORY}", missing: "REPOSITORY"},
		{in: "${UNCLOSED", syntax: "missing closing"},
		{in: "${}", syntax: "not a variable name"},
		{in: "${1ABC}", syntax: "not a variable name"},
		{in: "${A-B:=x}", syntax: "not a variable name"},
	}
	for _, tc := range cases {
		_, err := Expand(tc.in, nil)
		if err == nil {
			t.Errorf("Expand(%q) succeeded, want an error", tc.in)
			continue
		}
		var me *MissingError
		var se *SyntaxError
		switch {
		case tc.missing != "":
			if !errors.As(err, &me) || me.Name != tc.missing {
				t.Errorf("Expand(%q) error %v, want MissingError for %s", tc.in, err, tc.missing)
			}
			if !strings.Contains(err.Error(), ":=value") {
				t.Errorf("missing-variable error %q does not tell how to fix it", err)
			}
		default:
			if !errors.As(err, &se) || !strings.Contains(se.Reason, tc.syntax) || se.Input != tc.in {
				t.Errorf("Expand(%q) error %v, want SyntaxError containing %q", tc.in, err, tc.syntax)
			}
		}
	}
}

func TestExpandAll(t *testing.T) {
	got, err := ExpandAll([]string{"backup", "--paths=${PATHS:=/}", "--ns=${NS}"}, map[string]string{"NS": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"backup", "--paths=/", "--ns=prod"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("ExpandAll = %q, want %q", got, want)
	}
	if _, err := ExpandAll([]string{"ok", "${MISSING}"}, nil); err == nil || !strings.HasPrefix(err.Error(), "item 1:") {
		t.Fatalf("ExpandAll error = %v, want one naming item 1", err)
	}
	if out, err := ExpandAll(nil, nil); out != nil || err != nil {
		t.Fatalf("ExpandAll(nil) = %v, %v", out, err)
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "${A}", "${A:=b}", "$$", "${", "$", "a${B:=${C}}d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vars := map[string]string{"A": "1", "B": ""}
		out, err := Expand(s, vars)
		if err == nil && !strings.Contains(s, "$") && out != s {
			t.Fatalf("input without $ changed: %q -> %q", s, out)
		}
	})
}
