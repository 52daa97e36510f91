// Package secretcache reads Secrets for the controllers that need their
// data (credentials, repository passwords) without watching their data:
// the operator watches Secrets as metadata only, and this cache keeps the
// last Secret it read under the resourceVersion that metadata informer
// reports, so a thousand Repositories sharing one password Secret cost one
// GET, and a changed Secret is read again at once. Secret data never
// leaves the process and is never logged.
package secretcache

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/cairnbackup/cairn/pkg/controller"
)

// Reader reads Secrets, from its cache while their resourceVersion holds.
type Reader struct {
	kube kubernetes.Interface
	meta cache.GenericLister

	mu    sync.Mutex
	known map[cache.ObjectName]*corev1.Secret
}

// New makes a Reader on d's metadata-only Secret informer.
func New(d controller.Deps) *Reader {
	inf := d.Informers.Metadata.ForResource(corev1.SchemeGroupVersion.WithResource("secrets"))
	return &Reader{kube: d.Kube, meta: inf.Lister(), known: map[cache.ObjectName]*corev1.Secret{}}
}

// Get returns the Secret namespace/name. It answers from the cache when the
// metadata informer reports the resourceVersion of the copy it holds, and
// otherwise reads it from the API server (NotFound is the API's error).
func (r *Reader) Get(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	key := cache.ObjectName{Namespace: namespace, Name: name}
	current := ""
	if obj, err := r.meta.ByNamespace(namespace).Get(name); err == nil {
		if m, ok := obj.(metav1.Object); ok {
			current = m.GetResourceVersion()
		}
	}
	r.mu.Lock()
	s, ok := r.known[key]
	r.mu.Unlock()
	if ok && current != "" && s.ResourceVersion == current {
		return s, nil
	}
	s, err := r.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		delete(r.known, key)
		return nil, err
	}
	r.known[key] = s
	return s, nil
}
