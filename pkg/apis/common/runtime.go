package common

import (
	corev1 "k8s.io/api/core/v1"
)

// ContainerRuntimeSettings tunes the container that runs a backup, restore or
// hook task, for clusters that require resource limits or a security context.
type ContainerRuntimeSettings struct {
	// Resources of the container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
	// SecurityContext of the container. Cairn runs as non-root by default.
	// Validated when the Job is created.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`
	// Env adds environment variables to the container.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// EnvFrom adds environment variables from ConfigMaps or Secrets.
	// +optional
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`
	// Nice is the CPU scheduling priority adjustment (-20..19) for the data
	// mover, so a backup can run without starving the application.
	// +kubebuilder:validation:Minimum=-20
	// +kubebuilder:validation:Maximum=19
	// +optional
	Nice *int32 `json:"nice,omitempty"`
}

// PodRuntimeSettings tunes the pod of a backup, restore or hook Job.
type PodRuntimeSettings struct {
	// NodeSelector of the pod.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// ServiceAccountName overrides the ServiceAccount Cairn creates for the Job.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// ServiceAccountAnnotations are put on the ServiceAccount Cairn creates
	// for a session's Jobs, for cloud identities that need no Secret: EKS
	// IRSA (`eks.amazonaws.com/role-arn`), GKE workload identity
	// (`iam.gke.io/gcp-service-account`), Azure workload identity
	// (`azure.workload.identity/client-id`). Set on a BackupStorage, they
	// reach every session that uses the storage.
	// +optional
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
	// Tolerations of the pod.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// Affinity of the pod. Validated by the API server when the Job is
	// created (its full schema would make the CRDs too large to apply).
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// PriorityClassName of the pod.
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// SecurityContext of the pod. Validated when the Job is created.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`
	// ImagePullSecrets for private registries.
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
}

// JobTemplate shapes the Kubernetes Jobs that Cairn creates for a session.
type JobTemplate struct {
	// BackoffLimit is the number of pod retries before the Job fails.
	// +kubebuilder:validation:Minimum=0
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
	// Spec holds the pod-level runtime settings.
	// +optional
	Spec PodRuntimeSettings `json:"spec,omitempty"`
}
