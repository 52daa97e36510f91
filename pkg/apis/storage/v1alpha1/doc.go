// Package v1alpha1 is the storage.cairn.dev API: where backed-up data lives
// (BackupStorage), the repositories inside it (Repository), the snapshots in a
// repository (Snapshot) and how long they are kept (RetentionPolicy).
//
// +k8s:deepcopy-gen=package
// +groupName=storage.cairn.dev
package v1alpha1
