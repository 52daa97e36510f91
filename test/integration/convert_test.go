//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/pkg/convert"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/crs"
)

// TestConvertedKubeStashObjectsApplyStrictly sends every Cairn object of
// `kubectl cairn convert`'s golden outputs (KubeStash's documented YAML,
// converted) to the real API server with strict field validation, as a
// server-side dry run: a field the converter writes that Cairn's schema
// does not know, a value its validation (OpenAPI, CEL) refuses, or a value
// the server would not keep fails the test.
func TestConvertedKubeStashObjectsApplyStrictly(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resources, err := crs.Install(ctx, c.RESTConfig(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: crs.FieldManager,
		FieldValidation: metav1.FieldValidationStrict}

	files, err := filepath.Glob(filepath.Join(crs.Root(), "pkg", "convert", "testdata", "golden", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden outputs in pkg/convert/testdata/golden")
	}
	kinds := map[string]bool{}
	for _, f := range files {
		for _, s := range cairnObjects(t, f) {
			kinds[s.Object.GetKind()] = true
			t.Run(filepath.Base(f)+"/"+s.Name(), func(t *testing.T) {
				s.Object.SetNamespace(ns)
				ri, err := crs.Resource(c.Dynamic(), resources, s, ns)
				if err != nil {
					t.Fatal(err)
				}
				stored, err := ri.Create(ctx, s.Object, dryRun)
				if err != nil {
					t.Fatalf("the API server refused the converted object: %v", err)
				}
				if lost := crs.Dropped(s.Object.Object, stored.Object); len(lost) > 0 {
					t.Errorf("the API server did not keep everything the converter wrote:\n  %s", strings.Join(lost, "\n  "))
				}
			})
		}
	}
	for _, k := range []string{"BackupStorage", "RetentionPolicy", "Repository", "BackupConfiguration", "RestoreSession", "HookTemplate"} {
		if !kinds[k] {
			t.Errorf("no golden output holds a converted %s", k)
		}
	}
}

// cairnObjects are the Cairn objects of one converted stream (objects of
// other groups, passed through by the converter, are left out).
func cairnObjects(t *testing.T, path string) []crs.Sample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs, errs := convert.Decode(path, f)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var out []crs.Sample
	for _, d := range docs {
		if !strings.Contains(d.APIVersion(), ".cairn.dev/") {
			continue
		}
		var buf bytes.Buffer
		if err := (&convert.Result{Objects: []convert.Object{{Node: d.Node}}}).WriteYAML(&buf); err != nil {
			t.Fatal(err)
		}
		js, err := yaml.YAMLToJSON(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", d.Source, err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: %v", d.Source, err)
		}
		out = append(out, crs.Sample{JSON: js, Object: obj})
	}
	return out
}
