package common

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FromNamespaces says which namespaces may use a shared object.
// +kubebuilder:validation:Enum=Same;All;Selector
type FromNamespaces string

const (
	// NamespacesFromSame allows only the object's own namespace.
	NamespacesFromSame FromNamespaces = "Same"
	// NamespacesFromAll allows every namespace.
	NamespacesFromAll FromNamespaces = "All"
	// NamespacesFromSelector allows the namespaces whose labels match a selector.
	NamespacesFromSelector FromNamespaces = "Selector"
)

// AllowedNamespaces restricts which namespaces may refer to a BackupStorage,
// RetentionPolicy or HookTemplate, so that one team's storage cannot be used
// by another team by accident.
// +kubebuilder:validation:XValidation:rule="self.from != 'Selector' || has(self.selector)",message="allowedNamespaces.selector is required when from is Selector"
type AllowedNamespaces struct {
	// From says where the allowed namespaces come from: Same (default), All, or
	// Selector.
	// +kubebuilder:default=Same
	// +optional
	From *FromNamespaces `json:"from,omitempty"`
	// Selector picks the allowed namespaces by label when From is Selector.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// UsagePolicy is the usage restriction shared by BackupStorage,
// RetentionPolicy and HookTemplate.
type UsagePolicy struct {
	// AllowedNamespaces lists the namespaces that may use this object.
	// +optional
	AllowedNamespaces AllowedNamespaces `json:"allowedNamespaces,omitempty"`
}
