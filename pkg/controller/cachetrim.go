package controller

import (
	"k8s.io/apimachinery/pkg/api/meta"
)

// TrimForCache is the informers' transform: it drops each object's
// managedFields before the object enters a cache. Server-side apply's field
// ownership records are often as large as the spec itself, no controller reads
// them, and an Update built from a cached copy without them leaves the
// server's records as they are (nil means "unchanged"), so dropping them cuts
// the operator's memory at no cost in behaviour. Objects that are not
// Kubernetes objects (tombstones) pass through untouched.
func TrimForCache(obj any) (any, error) {
	if a, err := meta.Accessor(obj); err == nil {
		a.SetManagedFields(nil)
	}
	return obj, nil
}
