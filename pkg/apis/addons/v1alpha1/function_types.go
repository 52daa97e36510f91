package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// FunctionSpec is the container a task or hook runs. Command and Args may use
// ${VAR} and ${VAR:=default}; the operator fills them from task parameters and
// session facts (namespace, target, repository...) before creating the Job.
type FunctionSpec struct {
	// Image of the container.
	// +kubebuilder:validation:MinLength=1
	Image string `json:"image"`
	// Command of the container.
	// +optional
	Command []string `json:"command,omitempty"`
	// Args of the container, with ${VAR:=default} substitution.
	// +optional
	Args []string `json:"args,omitempty"`
	// WorkingDir of the container.
	// +optional
	WorkingDir string `json:"workingDir,omitempty"`
	// Ports the container exposes.
	// +optional
	Ports []corev1.ContainerPort `json:"ports,omitempty"`
	// VolumeMounts of the container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// RuntimeSettings of the container (resources, security context, env).
	// +optional
	RuntimeSettings *common.ContainerRuntimeSettings `json:"runtimeSettings,omitempty"`
}

// Function is a container definition that Addon tasks and hooks run.
//
// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=cairn;backup
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Function struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the container.
	Spec FunctionSpec `json:"spec"`
}

// FunctionList is a list of Functions.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type FunctionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Functions.
	Items []Function `json:"items"`
}
