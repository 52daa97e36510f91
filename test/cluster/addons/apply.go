package addons

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnbackup/cairn/test/internal/proc"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// fieldManager owns the fields the add-ons apply.
const fieldManager = "cairn-test-addons"

// Client applies manifests to a cluster with server-side apply.
type Client struct {
	// Config is the admin REST configuration read from the kubeconfig.
	Config *rest.Config
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
}

// NewClient reads kubeconfig and connects.
func NewClient(kubeconfig string) (*Client, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig %s: %w", kubeconfig, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{Config: cfg, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}, nil
}

// Apply server-side-applies every object of a multi-document YAML stream.
// Kinds unknown to the API server (a CRD just created) are retried after
// refreshing discovery until ctx ends.
func (c *Client) Apply(ctx context.Context, manifest []byte) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("decode manifest: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if err := c.applyOne(ctx, obj); err != nil {
			return err
		}
	}
}

// applyOne applies obj, waiting for its kind to appear in discovery.
func (c *Client) applyOne(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	what := fmt.Sprintf("%s %s", gvk.Kind, obj.GetName())
	return proc.Wait(ctx, time.Minute, "apply "+what, nil, func(ctx context.Context) (bool, string, error) {
		m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			c.mapper.Reset()
			return false, "kind not served yet", nil
		}
		if err != nil {
			return false, "", err
		}
		body, err := obj.MarshalJSON()
		if err != nil {
			return false, "", err
		}
		var ri dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = c.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
		}
		_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: fieldManager, Force: ptr(true)})
		if apierrors.IsNotFound(err) {
			return false, err.Error(), nil // e.g. its namespace is still being created
		}
		return err == nil, "", err
	})
}

// Dynamic returns the dynamic client, for waits on custom resources.
func (c *Client) Dynamic() dynamic.Interface { return c.dyn }

func ptr[T any](v T) *T { return &v }

// CacheDir returns the tool cache: $CAIRN_CACHE or ~/.cache/cairn, the same
// place hack/mk/storage.mk builds into.
func CacheDir() (string, error) {
	if d := os.Getenv("CAIRN_CACHE"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot locate the tool cache: set CAIRN_CACHE or HOME (%v)", err)
	}
	return filepath.Join(home, ".cache", "cairn"), nil
}

// Tool returns the cached file rel (e.g. "bin/csi-snapshotter-v8.7.0") or a
// one-line error telling the user to build it.
func Tool(rel string) (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is not built (%s missing): run `make tools-storage` (or `make tools`)", filepath.Base(rel), p)
	}
	return p, nil
}
