package common

// ObjectReference points at a namespaced object of a kind the field implies
// (a BackupStorage, a Secret, a RetentionPolicy...). An empty namespace means
// the namespace of the object that holds the reference.
type ObjectReference struct {
	// Name of the referenced object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the referenced object. Defaults to the referrer's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// TypedObjectReference points at an object whose kind is not implied by the
// field, such as the target of a backup (a Deployment, a StatefulSet, a
// DaemonSet or a PersistentVolumeClaim).
type TypedObjectReference struct {
	// APIGroup of the referenced object; empty for the core group (PVCs).
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`
	// Kind of the referenced object, for example StatefulSet.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Name of the referenced object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the referenced object. Defaults to the referrer's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// TypedLocalObjectReference points at an object of any kind in the same
// namespace, for example the BackupConfiguration that invoked a session.
type TypedLocalObjectReference struct {
	// APIGroup of the referenced object.
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`
	// Kind of the referenced object.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Name of the referenced object.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// WithNamespace returns the reference's namespace, or def when it is empty,
// so that callers resolve "same namespace as me" in one place.
func (r ObjectReference) WithNamespace(def string) ObjectReference {
	if r.Namespace == "" {
		r.Namespace = def
	}
	return r
}

// WithNamespace returns the reference's namespace, or def when it is empty.
func (r TypedObjectReference) WithNamespace(def string) TypedObjectReference {
	if r.Namespace == "" {
		r.Namespace = def
	}
	return r
}
