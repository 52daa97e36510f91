// Package v1alpha1 is the addons.cairn.dev API: the cluster-wide catalogue of
// how to back up and restore a kind of target (Addon) and the container each
// step runs (Function).
//
// +k8s:deepcopy-gen=package
// +groupName=addons.cairn.dev
package v1alpha1
