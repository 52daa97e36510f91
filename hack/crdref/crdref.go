// Command crdref writes docs/crd-reference.md, the reference of every field
// of every Cairn CRD, from the generated CRDs in deploy/crds (whose
// descriptions are the API types' doc comments). Its test fails when the
// committed reference differs from what the CRDs say, so the reference can
// never drift from the types: run `go run ./hack/crdref` after
// hack/update-codegen.sh.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	out, err := render(filepath.Join(root, "deploy", "crds"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "crdref: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(root, "docs", "crd-reference.md"), []byte(out), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "crdref: %v\n", err)
		os.Exit(1)
	}
}

// render reads every CRD in dir and returns the reference page.
func render(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	var b strings.Builder
	b.WriteString("# CRD reference\n\n")
	b.WriteString("Every field of every Cairn custom resource, generated from the CRDs in `deploy/crds` (which carry\n")
	b.WriteString("the API types' doc comments) by `go run ./hack/crdref`; a test fails when this page is stale.\n")
	b.WriteString("`kubectl explain <kind>.<field>` shows the same text on a cluster. Concepts: [concepts.md](concepts.md).\n")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			fmt.Fprintf(&b, "\n## %s (%s/%s)\n\n", crd.Spec.Names.Kind, crd.Spec.Group, v.Name)
			if d := v.Schema.OpenAPIV3Schema.Description; d != "" {
				b.WriteString(oneLine(d) + "\n\n")
			}
			b.WriteString("| field | type | description |\n|---|---|---|\n")
			root := v.Schema.OpenAPIV3Schema
			for _, top := range []string{"spec", "status"} {
				if p, ok := root.Properties[top]; ok {
					walk(&b, top, p, contains(root.Required, top))
				}
			}
		}
	}
	return b.String(), nil
}

// walk writes one row per field below path, depth first in name order.
func walk(w io.Writer, path string, s apiextensionsv1.JSONSchemaProps, required bool) {
	typ := s.Type
	if typ == "array" && s.Items != nil && s.Items.Schema != nil {
		typ = "[]" + orObject(s.Items.Schema.Type)
	}
	if typ == "" {
		typ = "object"
	}
	var notes []string
	if required {
		notes = append(notes, "**required**")
	}
	if len(s.Enum) > 0 {
		vals := make([]string, 0, len(s.Enum))
		for _, e := range s.Enum {
			vals = append(vals, "`"+strings.Trim(string(e.Raw), `"`)+"`")
		}
		notes = append(notes, "one of "+strings.Join(vals, ", "))
	}
	if s.Default != nil {
		notes = append(notes, "default `"+strings.Trim(string(s.Default.Raw), `"`)+"`")
	}
	desc := oneLine(s.Description)
	if len(notes) > 0 {
		desc = strings.TrimSpace(strings.Join(notes, "; ") + ". " + desc)
	}
	fmt.Fprintf(w, "| `%s` | %s | %s |\n", path, typ, desc)
	props := s.Properties
	req := s.Required
	prefix := path
	if typ[0] == '[' && s.Items.Schema != nil {
		props, req, prefix = s.Items.Schema.Properties, s.Items.Schema.Required, path+"[]"
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		walk(w, prefix+"."+n, props[n], contains(req, n))
	}
}

func orObject(t string) string {
	if t == "" {
		return "object"
	}
	return t
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// oneLine makes a description fit a table cell.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
