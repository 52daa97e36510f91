// Package common holds the API types that every Cairn API group shares:
// object references, usage policies, runtime settings for the pods Cairn
// creates, and the parameter definitions that Addons, Functions and
// HookTemplates declare. Keeping them in one place means a KubeStash user sees
// the same shape wherever a reference or a policy appears.
//
// +k8s:deepcopy-gen=package
package common
