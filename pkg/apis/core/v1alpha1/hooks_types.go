package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// HookExecutionPolicy says after which outcomes a post hook runs.
// +kubebuilder:validation:Enum=Always;OnSuccess;OnFailure
type HookExecutionPolicy string

const (
	// ExecuteAlways runs the hook whatever the outcome.
	ExecuteAlways HookExecutionPolicy = "Always"
	// ExecuteOnSuccess runs the hook only when the backup or restore succeeded.
	ExecuteOnSuccess HookExecutionPolicy = "OnSuccess"
	// ExecuteOnFailure runs the hook only when the backup or restore failed.
	ExecuteOnFailure HookExecutionPolicy = "OnFailure"
)

// HookInfo attaches a HookTemplate to a session, with its parameter values.
type HookInfo struct {
	// Name of the hook, unique within its list.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// HookTemplate to run.
	HookTemplate common.ObjectReference `json:"hookTemplate"`
	// Params are values for the template's parameters.
	// +optional
	Params map[string]string `json:"params,omitempty"`
	// MaxRetry is how often a failed hook is retried.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxRetry int32 `json:"maxRetry,omitempty"`
	// Timeout of one hook run.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// ExecutionPolicy decides when a post hook runs. Pre hooks always run.
	// +kubebuilder:default=Always
	// +optional
	ExecutionPolicy HookExecutionPolicy `json:"executionPolicy,omitempty"`
	// Variables are extra environment variables for the hook.
	// +optional
	Variables []corev1.EnvVar `json:"variables,omitempty"`
}

// BackupHooks run before and after a backup.
type BackupHooks struct {
	// PreBackup hooks run before data is read; a failure fails the session.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	PreBackup []HookInfo `json:"preBackup,omitempty"`
	// PostBackup hooks run after the backup, subject to their execution policy.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	PostBackup []HookInfo `json:"postBackup,omitempty"`
}

// RestoreHooks run before and after a restore.
type RestoreHooks struct {
	// PreRestore hooks run before data is written.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	PreRestore []HookInfo `json:"preRestore,omitempty"`
	// PostRestore hooks run after the restore.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	PostRestore []HookInfo `json:"postRestore,omitempty"`
}

// HookPhase is the outcome of one hook.
// +kubebuilder:validation:Enum=Pending;Succeeded;Failed;Skipped
type HookPhase string

const (
	// HookPending means the hook has not finished.
	HookPending HookPhase = "Pending"
	// HookSucceeded means the hook ran and succeeded.
	HookSucceeded HookPhase = "Succeeded"
	// HookFailed means the hook failed after its retries.
	HookFailed HookPhase = "Failed"
	// HookSkipped means the hook's execution policy did not match the outcome.
	HookSkipped HookPhase = "Skipped"
)

// HookExecutionStatus records one hook run.
type HookExecutionStatus struct {
	// Name of the hook.
	Name string `json:"name"`
	// Phase of the hook.
	// +optional
	Phase HookPhase `json:"phase,omitempty"`
	// Error says why it failed.
	// +optional
	Error string `json:"error,omitempty"`
}

// HookStatus records the hooks of a session.
type HookStatus struct {
	// PreHooks are the hooks run before the data step.
	// +optional
	PreHooks []HookExecutionStatus `json:"preHooks,omitempty"`
	// PostHooks are the hooks run after the data step.
	// +optional
	PostHooks []HookExecutionStatus `json:"postHooks,omitempty"`
}

// AddonInfo selects the Addon and the tasks that move the data.
type AddonInfo struct {
	// Name of the Addon (cluster-scoped).
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Tasks of the Addon to run, in order.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	Tasks []TaskReference `json:"tasks"`
	// ContainerRuntimeSettings of the data mover container.
	// +optional
	ContainerRuntimeSettings *common.ContainerRuntimeSettings `json:"containerRuntimeSettings,omitempty"`
	// JobTemplate shapes the data mover Job.
	// +optional
	JobTemplate *common.JobTemplate `json:"jobTemplate,omitempty"`
}

// TaskReference names one task of an Addon and gives it parameter values.
type TaskReference struct {
	// Name of the task in the Addon.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Params are values for the task's parameters.
	// +optional
	Params map[string]string `json:"params,omitempty"`
	// TargetVolumes are the volumes the task reads or writes.
	// +optional
	TargetVolumes *TargetVolumeInfo `json:"targetVolumes,omitempty"`
}

// TargetVolumeInfo lists the volumes a task works on.
type TargetVolumeInfo struct {
	// Volumes to add to the task's pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`
	// VolumeMounts of those volumes in the task's container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// VolumeClaimTemplates create PVCs to restore into.
	// +optional
	VolumeClaimTemplates []corev1.PersistentVolumeClaimTemplate `json:"volumeClaimTemplates,omitempty"`
}
