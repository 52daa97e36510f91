//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/crs"
)

// installCRDs applies deploy/crds with server-side apply (what `kubectl apply
// --server-side` does) and waits until every CRD is Established, returning
// the resource of each kind.
func installCRDs(ctx context.Context, t *testing.T, c *cluster.Cluster) map[string]schema.GroupVersionResource {
	t.Helper()
	client, err := apiextensionsclient.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	defs, err := crs.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	resources := map[string]schema.GroupVersionResource{}
	for _, crd := range defs {
		crd.APIVersion, crd.Kind = "apiextensions.k8s.io/v1", "CustomResourceDefinition"
		body, err := json.Marshal(crd)
		if err != nil {
			t.Fatal(err)
		}
		force := true
		_, err = client.ApiextensionsV1().CustomResourceDefinitions().Patch(ctx, crd.Name, types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: "cairn-tests", Force: &force})
		if err != nil {
			t.Fatalf("the API server rejected CRD %s: %v", crd.Name, err)
		}
		resources[crd.Spec.Names.Kind] = schema.GroupVersionResource{Group: crd.Spec.Group, Version: crd.Spec.Versions[0].Name, Resource: crd.Spec.Names.Plural}
	}
	for _, crd := range defs {
		var last string
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			last = conditionsString(got.Status.Conditions)
			return false, nil
		})
		if err != nil {
			t.Fatalf("CRD %s not Established within a minute; last seen: %s", crd.Name, last)
		}
	}
	// Discovery of new resources lags Established a little; wait until a list works.
	dyn := c.Dynamic()
	for kind, gvr := range resources {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("%s (%s) not served within a minute", kind, gvr)
		}
	}
	return resources
}

func conditionsString(conds []apiextensionsv1.CustomResourceDefinitionCondition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, string(c.Type)+"="+string(c.Status)+" ("+c.Message+")")
	}
	if len(parts) == 0 {
		return "no conditions"
	}
	return strings.Join(parts, ", ")
}

func resourceFor(dyn dynamic.Interface, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, ns string) dynamic.ResourceInterface {
	if obj.GetAPIVersion() == "addons.cairn.dev/v1alpha1" {
		return dyn.Resource(gvr)
	}
	return dyn.Resource(gvr).Namespace(ns)
}

// TestCRDValidation proves on a real API server that the CRDs accept what a
// user should be able to write and reject common mistakes with a message that
// says what to fix.
func TestCRDValidation(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resources := installCRDs(ctx, t, c)
	dyn := c.Dynamic()
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "cairn-tests"}

	valid, err := crs.Samples("valid")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, s := range valid {
		kinds[s.Object.GetKind()] = true
		t.Run("valid/"+s.Name(), func(t *testing.T) {
			gvr, ok := resources[s.Object.GetKind()]
			if !ok {
				t.Fatalf("no CRD for kind %s", s.Object.GetKind())
			}
			if _, err := resourceFor(dyn, gvr, s.Object, ns).Create(ctx, s.Object, dryRun); err != nil {
				t.Fatalf("a valid %s was rejected: %v", s.Name(), err)
			}
		})
	}
	if len(kinds) != len(resources) {
		t.Errorf("valid samples cover %d kinds, the CRDs define %d: add a sample for each kind", len(kinds), len(resources))
	}

	invalid, err := crs.Samples("invalid")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range invalid {
		t.Run("invalid/"+s.Name(), func(t *testing.T) {
			want := s.ExpectedError()
			if want == "" {
				t.Fatalf("sample %s has no %s annotation", s.Name(), crs.ExpectErrorAnnotation)
			}
			_, err := resourceFor(dyn, resources[s.Object.GetKind()], s.Object, ns).Create(ctx, s.Object, dryRun)
			if err == nil {
				t.Fatalf("the API server accepted %s; want an error containing %q", s.Name(), want)
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
				t.Fatalf("error for %s:\n  %v\nwant an Invalid error containing:\n  %s", s.Name(), err, want)
			}
		})
	}

	t.Run("repository target and storage are immutable", func(t *testing.T) {
		var repo *unstructured.Unstructured
		for _, s := range valid {
			if s.Object.GetKind() == "Repository" {
				repo = s.Object.DeepCopy()
			}
		}
		if repo == nil {
			t.Fatal("no Repository among the valid samples")
		}
		ri := dyn.Resource(resources["Repository"]).Namespace(ns)
		created, err := ri.Create(ctx, repo, metav1.CreateOptions{FieldManager: "cairn-tests"})
		if err != nil {
			t.Fatal(err)
		}
		for field, msg := range map[string]string{"storageRef": "storageRef is immutable", "appRef": "appRef is immutable"} {
			changed := created.DeepCopy()
			if err := unstructured.SetNestedField(changed.Object, "something-else", "spec", field, "name"); err != nil {
				t.Fatal(err)
			}
			_, err := ri.Update(ctx, changed, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("changing spec.%s.name: error %v, want one containing %q", field, err, msg)
			}
		}
		paused := created.DeepCopy()
		if err := unstructured.SetNestedField(paused.Object, true, "spec", "paused"); err != nil {
			t.Fatal(err)
		}
		if _, err := ri.Update(ctx, paused, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("pausing a Repository must be allowed: %v", err)
		}
	})
}
