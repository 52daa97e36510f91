package crs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// kustomization is the part of a kustomization.yaml these checks read.
type kustomization struct {
	Resources  []string `json:"resources"`
	Components []string `json:"components"`
}

func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root(), dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	return k
}

// TestLocalOverlayInstallsTheBase keeps deploy/overlays/local in step with
// deploy/: kustomize refuses an overlay that includes the directory it lives
// in, so the overlay lists the base's directories itself, and a directory
// added to one must be added to the other.
func TestLocalOverlayInstallsTheBase(t *testing.T) {
	base := readKustomization(t, "deploy")
	local := readKustomization(t, filepath.Join("deploy", "overlays", "local"))
	var want []string
	for _, r := range base.Resources {
		want = append(want, "../../"+r)
	}
	if !reflect.DeepEqual(local.Resources, want) {
		t.Errorf("deploy/overlays/local resources %q; want the base's %q", local.Resources, want)
	}
	if !reflect.DeepEqual(local.Components, []string{"image"}) {
		t.Errorf("deploy/overlays/local components %q; want [image] (the tag `make image` writes)", local.Components)
	}
}

// TestRBACRulesSayWhy enforces the install's RBAC conventions on the
// manifests themselves: every rule is preceded by a comment saying why it is
// needed, and no rule uses a wildcard or a verb that grants more than the
// operator holds (escalate, bind, impersonate).
func TestRBACRulesSayWhy(t *testing.T) {
	for _, f := range []string{"clusterrole.yaml", "leader-election-role.yaml"} {
		b, err := os.ReadFile(filepath.Join(Root(), "deploy", "operator", f))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		rules := 0
		for i, line := range lines {
			trimmed := strings.TrimSpace(line)
			if strings.Contains(line, "*") && !strings.HasPrefix(trimmed, "#") {
				t.Errorf("%s:%d: wildcard: %s", f, i+1, trimmed)
			}
			for _, verb := range []string{"escalate", "bind", "impersonate"} {
				if strings.HasPrefix(trimmed, "verbs:") && strings.Contains(trimmed, verb) {
					t.Errorf("%s:%d: verb %s", f, i+1, verb)
				}
			}
			if !strings.HasPrefix(trimmed, "- apiGroups:") {
				continue
			}
			rules++
			if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
				t.Errorf("%s:%d: rule without a comment above it saying why the operator needs it", f, i+1)
			}
		}
		if rules == 0 {
			t.Errorf("%s: no rules found (each rule must start with `- apiGroups:`)", f)
		}
	}
}
