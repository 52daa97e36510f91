package common

// ParameterDefinition declares a parameter that an Addon task, a Function or
// a HookTemplate accepts, so that the operator can fill defaults and reject
// a session that misses a required one before any Job starts.
type ParameterDefinition struct {
	// Name of the parameter, used as ${NAME} in Function arguments.
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`
	// Usage tells a user what the parameter does.
	// +optional
	Usage string `json:"usage,omitempty"`
	// Required parameters must be given a value when the task is used.
	// +optional
	Required bool `json:"required,omitempty"`
	// Default is used when no value is given.
	// +optional
	Default string `json:"default,omitempty"`
}
