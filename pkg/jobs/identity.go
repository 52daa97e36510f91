package jobs

import (
	"fmt"
	"sort"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// AnnotationConflictError means two BackupStorages of one session ask for
// different values of the same annotation on the session's ServiceAccount
// (two IAM roles, say): one account cannot carry both.
type AnnotationConflictError struct {
	Key            string
	First, Second  string // the storages, namespace/name
	Value1, Value2 string
}

func (e *AnnotationConflictError) Error() string {
	return fmt.Sprintf("BackupStorages %s and %s set different values of %q in runtimeSettings.serviceAccountAnnotations (%q and %q): one session's ServiceAccount cannot carry both",
		e.First, e.Second, e.Key, e.Value1, e.Value2)
}

// AccountAnnotations merges the runtimeSettings.serviceAccountAnnotations
// of the storages a session uses: the annotations its runner ServiceAccount
// gets, so a cloud identity bound to an account (IRSA, GKE or Azure
// workload identity) reaches the bucket without a Secret. Nil when there
// are none.
func AccountAnnotations(storages ...*storagev1alpha1.BackupStorage) (map[string]string, error) {
	sorted := append([]*storagev1alpha1.BackupStorage(nil), storages...)
	sort.Slice(sorted, func(i, j int) bool {
		return sorted[i].Namespace+"/"+sorted[i].Name < sorted[j].Namespace+"/"+sorted[j].Name
	})
	var out map[string]string
	from := map[string]string{}
	for _, s := range sorted {
		if s.Spec.RuntimeSettings == nil {
			continue
		}
		id := s.Namespace + "/" + s.Name
		for k, v := range s.Spec.RuntimeSettings.ServiceAccountAnnotations {
			if old, ok := out[k]; ok && old != v {
				return nil, &AnnotationConflictError{Key: k, First: from[k], Second: id, Value1: old, Value2: v}
			}
			if out == nil {
				out = map[string]string{}
			}
			out[k], from[k] = v, id
		}
	}
	return out, nil
}
