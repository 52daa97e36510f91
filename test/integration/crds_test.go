//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/crs"
)

// TestCRDValidation proves on a real API server that the CRDs accept what a
// user should be able to write and reject common mistakes with a message that
// says what to fix.
func TestCRDValidation(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resources, err := crs.Install(ctx, c.RESTConfig(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	dyn := c.Dynamic()
	// Strict, as kubectl applies by default: a field the schema does not know
	// (and would prune) is an error, not a warning.
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: crs.FieldManager,
		FieldValidation: metav1.FieldValidationStrict}

	valid, err := crs.Samples("valid")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, s := range valid {
		kinds[s.Object.GetKind()] = true
		t.Run("valid/"+s.Name(), func(t *testing.T) {
			ri, err := crs.Resource(dyn, resources, s, ns)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := ri.Create(ctx, s.Object, dryRun)
			if err != nil {
				t.Fatalf("a valid %s was rejected: %v", s.Name(), err)
			}
			// Strict validation refuses unknown fields; this also catches a
			// value the server replaced.
			if lost := crs.Dropped(s.Object.Object, stored.Object); len(lost) > 0 {
				t.Errorf("the API server did not keep everything %s says:\n  %s", s.Name(), strings.Join(lost, "\n  "))
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
			ri, err := crs.Resource(dyn, resources, s, ns)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ri.Create(ctx, s.Object, dryRun)
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
		created, err := ri.Create(ctx, repo, metav1.CreateOptions{FieldManager: crs.FieldManager, FieldValidation: metav1.FieldValidationStrict})
		if err != nil {
			t.Fatal(err)
		}
		for field, msg := range map[string]string{"storageRef": "storageRef is immutable", "appRef": "appRef is immutable"} {
			err := dryRunUpdate(ctx, ri, created.GetName(), func(u *unstructured.Unstructured) error {
				return unstructured.SetNestedField(u.Object, "something-else", "spec", field, "name")
			})
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("changing spec.%s.name: error %v, want one containing %q", field, err, msg)
			}
		}
		err = dryRunUpdate(ctx, ri, created.GetName(), func(u *unstructured.Unstructured) error {
			return unstructured.SetNestedField(u.Object, true, "spec", "paused")
		})
		if err != nil {
			t.Errorf("pausing a Repository must be allowed: %v", err)
		}
	})
}

// dryRunUpdate changes the latest version of an object with change and sends
// it as a dry-run update. The operator deployed in the cluster writes the
// object too (finalizers, status), so a conflict means "read it again".
func dryRunUpdate(ctx context.Context, ri dynamic.ResourceInterface, name string, change func(*unstructured.Unstructured) error) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := change(latest); err != nil {
			return err
		}
		_, err = ri.Update(ctx, latest, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict})
		return err
	})
}

// TestCRDsApplyWithKubectl applies deploy/crds the way a user does, with
// kubectl's client-side apply, which stores each CRD whole in the
// last-applied annotation (the API server refuses one over 256 KiB); then
// the client and server dry runs must accept the result.
func TestCRDsApplyWithKubectl(t *testing.T) {
	c := cluster.Shared(t)
	kubectl, err := cluster.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	defs, err := crs.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(crs.Root(), "deploy", "crds")
	for _, mode := range []string{"none", "client", "server"} {
		cmd := exec.CommandContext(ctx, kubectl, "apply", "--dry-run="+mode, "-f", dir)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl apply --dry-run=%s -f deploy/crds: %v\n%s", mode, err, out)
		}
		if got := strings.Count(string(out), "customresourcedefinition.apiextensions.k8s.io/"); got != len(defs) {
			t.Fatalf("kubectl apply --dry-run=%s reported %d CRDs, want %d:\n%s", mode, got, len(defs), out)
		}
	}
}
