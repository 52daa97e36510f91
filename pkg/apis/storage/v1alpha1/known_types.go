package v1alpha1

import "k8s.io/apimachinery/pkg/runtime"

// knownTypes are registered with the scheme under SchemeGroupVersion.
var knownTypes = []runtime.Object{
	&BackupStorage{}, &BackupStorageList{},
	&Repository{}, &RepositoryList{},
	&Snapshot{}, &SnapshotList{},
	&RetentionPolicy{}, &RetentionPolicyList{},
}
