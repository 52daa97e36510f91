package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// Driver names the mechanism a task uses to capture or restore data.
// +kubebuilder:validation:Enum=Cairn;VolumeSnapshotter
type Driver string

const (
	// DriverCairn moves file data through Cairn's own deduplicating engine.
	DriverCairn Driver = "Cairn"
	// DriverVolumeSnapshotter takes CSI VolumeSnapshots instead of copying data.
	DriverVolumeSnapshotter Driver = "VolumeSnapshotter"
)

// TaskExecutor says how a task runs.
// +kubebuilder:validation:Enum=Job
type TaskExecutor string

const (
	// ExecutorJob runs the task in a Kubernetes Job.
	ExecutorJob TaskExecutor = "Job"
)

// VolumeTemplate declares a volume a task needs (for example scratch space),
// with ${VAR} parameters resolved per session.
type VolumeTemplate struct {
	// Name of the volume.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Usage tells a user what the volume is for.
	// +optional
	Usage string `json:"usage,omitempty"`
	// Source of the volume.
	Source corev1.VolumeSource `json:"source"`
}

// Task is one step an Addon knows how to do: back up or restore one kind of
// data with one Function.
type Task struct {
	// Name of the task, unique within its list.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Function (cluster-scoped) whose container runs the task.
	// +kubebuilder:validation:MinLength=1
	Function string `json:"function"`
	// Driver is the data mechanism.
	// +kubebuilder:default=Cairn
	// +optional
	Driver Driver `json:"driver,omitempty"`
	// Executor says how the task runs.
	// +kubebuilder:default=Job
	// +optional
	Executor TaskExecutor `json:"executor,omitempty"`
	// Singleton tasks run once per session, not once per target pod.
	// +optional
	Singleton bool `json:"singleton,omitempty"`
	// Parameters the task accepts, with defaults.
	// +optional
	// +listType=map
	// +listMapKey=name
	Parameters []common.ParameterDefinition `json:"parameters,omitempty"`
	// VolumeTemplate lists volumes the task's pod needs.
	// +optional
	VolumeTemplate []VolumeTemplate `json:"volumeTemplate,omitempty"`
	// VolumeMounts of those volumes in the task's container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
}

// AddonSpec lists the backup and restore tasks of an Addon.
type AddonSpec struct {
	// BackupTasks the Addon offers.
	// +optional
	// +listType=map
	// +listMapKey=name
	BackupTasks []Task `json:"backupTasks,omitempty"`
	// RestoreTasks the Addon offers.
	// +optional
	// +listType=map
	// +listMapKey=name
	RestoreTasks []Task `json:"restoreTasks,omitempty"`
}

// Addon is the catalogue entry for backing up and restoring one kind of
// target, for example workload volumes or a PVC.
//
// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=cairn;backup
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Addon struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec lists the tasks.
	Spec AddonSpec `json:"spec"`
}

// AddonList is a list of Addons.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type AddonList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Addons.
	Items []Addon `json:"items"`
}
