// Package apis_test checks the generated CRD manifests the way the API server
// will: each must decode, pass the server's own CRD validation (structural
// schema, CEL rules that compile within the cost budget, printer columns),
// and stay small enough for client-side `kubectl apply`.
package apis_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// lastAppliedLimit is the API server's limit on all annotations of an object;
// client-side apply stores the whole CRD in one of them.
const lastAppliedLimit = 256 * 1024

func loadCRDs(t *testing.T) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	files, err := filepath.Glob("../../deploy/crds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs found in deploy/crds (run make generate): %v", err)
	}
	out := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[crd.Spec.Names.Kind] = crd
	}
	return out
}

func TestCRDsPassServerValidation(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensions.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for kind, crd := range loadCRDs(t) {
		t.Run(kind, func(t *testing.T) {
			internal := &apiextensions.CustomResourceDefinition{}
			if err := scheme.Convert(crd, internal, nil); err != nil {
				t.Fatal(err)
			}
			// The API server records the storage version on create.
			for _, v := range internal.Spec.Versions {
				if v.Storage {
					internal.Status.StoredVersions = append(internal.Status.StoredVersions, v.Name)
				}
			}
			if errs := validation.ValidateCustomResourceDefinition(context.Background(), internal); len(errs) > 0 {
				t.Fatalf("the API server would reject the %s CRD: %v", kind, errs.ToAggregate())
			}
			compact, err := json.Marshal(crd)
			if err != nil {
				t.Fatal(err)
			}
			if len(compact) > lastAppliedLimit*9/10 {
				t.Fatalf("%s CRD is %d bytes as JSON; over 90%% of the %d bytes client-side kubectl apply can store", kind, len(compact), lastAppliedLimit)
			}
		})
	}
}

func TestCRDsHaveTheExpectedShape(t *testing.T) {
	crds := loadCRDs(t)
	want := map[string]struct {
		group, scope, short string
		status              bool
	}{
		"BackupStorage":       {"storage.cairn.dev", "Namespaced", "bs", true},
		"Repository":          {"storage.cairn.dev", "Namespaced", "repo", true},
		"Snapshot":            {"storage.cairn.dev", "Namespaced", "snap", true},
		"RetentionPolicy":     {"storage.cairn.dev", "Namespaced", "rp", false},
		"BackupConfiguration": {"core.cairn.dev", "Namespaced", "bc", true},
		"BackupSession":       {"core.cairn.dev", "Namespaced", "bks", true},
		"RestoreSession":      {"core.cairn.dev", "Namespaced", "rs", true},
		"HookTemplate":        {"core.cairn.dev", "Namespaced", "ht", false},
		"Addon":               {"addons.cairn.dev", "Cluster", "", false},
		"Function":            {"addons.cairn.dev", "Cluster", "", false},
	}
	if len(crds) != len(want) {
		t.Errorf("deploy/crds has %d CRDs, want %d", len(crds), len(want))
	}
	for kind, w := range want {
		crd, ok := crds[kind]
		if !ok {
			t.Errorf("no CRD for %s", kind)
			continue
		}
		if crd.Spec.Group != w.group || string(crd.Spec.Scope) != w.scope {
			t.Errorf("%s: group %s scope %s, want %s %s", kind, crd.Spec.Group, crd.Spec.Scope, w.group, w.scope)
		}
		if w.short != "" && !contains(crd.Spec.Names.ShortNames, w.short) {
			t.Errorf("%s: short names %v, want %q among them", kind, crd.Spec.Names.ShortNames, w.short)
		}
		if !contains(crd.Spec.Names.Categories, "cairn") {
			t.Errorf("%s: not in the cairn category, so `kubectl get cairn` would miss it", kind)
		}
		v := crd.Spec.Versions[0]
		if (v.Subresources != nil && v.Subresources.Status != nil) != w.status {
			t.Errorf("%s: status subresource present = %v, want %v", kind, !w.status, w.status)
		}
		if w.status {
			cols := map[string]bool{}
			for _, c := range v.AdditionalPrinterColumns {
				cols[c.Name] = true
			}
			if !cols["Phase"] || !cols["Age"] {
				t.Errorf("%s: printer columns %v lack Phase or Age", kind, v.AdditionalPrinterColumns)
			}
			st := v.Schema.OpenAPIV3Schema.Properties["status"].Properties
			for _, f := range []string{"phase", "conditions", "observedGeneration"} {
				if _, ok := st[f]; !ok {
					t.Errorf("%s: status has no %s", kind, f)
				}
			}
		}
	}
}

func TestCRDsCarryUserFacingRules(t *testing.T) {
	crds := loadCRDs(t)
	var all strings.Builder
	for _, kind := range []string{"BackupStorage", "Repository", "BackupConfiguration", "RestoreSession", "HookTemplate"} {
		data, err := json.Marshal(crds[kind])
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
	}
	for _, msg := range []string{
		"set exactly one of storage.s3, storage.gcs, storage.azure, storage.local",
		"appRef is immutable",
		"storageRef is immutable",
		"every sessions[].repositories[].backend must name an entry of spec.backends",
		"snapshot must be a Snapshot name",
		"set exactly one of action.exec, action.httpGet, action.httpPost",
		"target must be an apps Deployment, StatefulSet or DaemonSet",
	} {
		if !strings.Contains(all.String(), msg) {
			t.Errorf("no CEL rule with message %q", msg)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
