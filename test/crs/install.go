package crs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// FieldManager is the server-side apply manager of objects the tests and the
// demo write.
const FieldManager = "cairn-tests"

// Install applies every CRD of deploy/crds with server-side apply (what
// `kubectl apply --server-side` does), waits until each is Established and
// served, and returns the resource of each kind. Each wait is bounded by
// timeout and reports the last state it saw.
func Install(ctx context.Context, cfg *rest.Config, timeout time.Duration) (map[string]schema.GroupVersionResource, error) {
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	defs, err := CRDs()
	if err != nil {
		return nil, err
	}
	resources := map[string]schema.GroupVersionResource{}
	force := true
	for _, crd := range defs {
		crd.APIVersion, crd.Kind = "apiextensions.k8s.io/v1", "CustomResourceDefinition"
		body, err := json.Marshal(crd)
		if err != nil {
			return nil, err
		}
		_, err = client.ApiextensionsV1().CustomResourceDefinitions().Patch(ctx, crd.Name, types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
		if err != nil {
			return nil, fmt.Errorf("the API server rejected CRD %s: %w", crd.Name, err)
		}
		resources[crd.Spec.Names.Kind] = schema.GroupVersionResource{Group: crd.Spec.Group, Version: crd.Spec.Versions[0].Name, Resource: crd.Spec.Names.Plural}
	}
	for _, crd := range defs {
		last := "not read yet"
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
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
			return nil, fmt.Errorf("CRD %s not Established within %s; last seen: %s", crd.Name, timeout, last)
		}
	}
	// Serving lags Established a little: wait until a list works.
	for kind, gvr := range resources {
		last := "not listed yet"
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s (%s) not served within %s; last error: %s", kind, gvr, timeout, last)
		}
	}
	return resources, nil
}

// Resource returns the client for a sample's resource: cluster-scoped for
// the addons group, in namespace ns otherwise.
func Resource(dyn dynamic.Interface, resources map[string]schema.GroupVersionResource, s Sample, ns string) (dynamic.ResourceInterface, error) {
	gvr, ok := resources[s.Object.GetKind()]
	if !ok {
		return nil, fmt.Errorf("no CRD for kind %s", s.Object.GetKind())
	}
	if gvr.Group == "addons.cairn.dev" {
		return dyn.Resource(gvr), nil
	}
	return dyn.Resource(gvr).Namespace(ns), nil
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
