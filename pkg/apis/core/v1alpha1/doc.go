// Package v1alpha1 is the core.cairn.dev API: what to back up and when
// (BackupConfiguration), one run of a backup (BackupSession), a restore
// (RestoreSession) and reusable hooks (HookTemplate).
//
// +k8s:deepcopy-gen=package
// +groupName=core.cairn.dev
package v1alpha1
