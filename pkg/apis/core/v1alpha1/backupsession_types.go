package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// BackupSessionSpec says which configuration and session a run belongs to.
type BackupSessionSpec struct {
	// Invoker is the BackupConfiguration that this run belongs to.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="invoker is immutable"
	Invoker common.TypedLocalObjectReference `json:"invoker"`
	// Session is the name of the invoker's session.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="session is immutable"
	Session string `json:"session"`
	// RetryLeft is how many retries remain after this run.
	// +kubebuilder:validation:Minimum=0
	// +optional
	RetryLeft int32 `json:"retryLeft,omitempty"`
}

// BackupSessionPhase is the overall state of a BackupSession.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Skipped
type BackupSessionPhase string

const (
	// BackupSessionPending means the run has not started its Jobs.
	BackupSessionPending BackupSessionPhase = "Pending"
	// BackupSessionRunning means Jobs are running.
	BackupSessionRunning BackupSessionPhase = "Running"
	// BackupSessionSucceeded means every snapshot succeeded.
	BackupSessionSucceeded BackupSessionPhase = "Succeeded"
	// BackupSessionFailed means a snapshot, a hook or the deadline failed.
	BackupSessionFailed BackupSessionPhase = "Failed"
	// BackupSessionSkipped means the run did not happen (paused, or another
	// run was in progress under the Forbid concurrency policy).
	BackupSessionSkipped BackupSessionPhase = "Skipped"
)

// Condition types of a BackupSession.
const (
	// ConditionSessionSkipped is True when the run was skipped; the reason says why.
	ConditionSessionSkipped = "Skipped"
	// ConditionSnapshotsCreated is True once a Snapshot exists per repository.
	ConditionSnapshotsCreated = "SnapshotsCreated"
	// ConditionBackupJobsCreated is True once the data mover Jobs exist.
	ConditionBackupJobsCreated = "BackupJobsCreated"
	// ConditionDeadlineExceeded is True when the backup timeout passed.
	ConditionDeadlineExceeded = "DeadlineExceeded"
	// ConditionRetentionPolicyApplied is True when old snapshots were cleaned up.
	ConditionRetentionPolicyApplied = "RetentionPolicyApplied"
)

// SnapshotStatus is the state of one Snapshot that a session produces.
type SnapshotStatus struct {
	// Name of the Snapshot object.
	Name string `json:"name"`
	// Phase of the Snapshot.
	// +optional
	Phase storagev1alpha1.SnapshotPhase `json:"phase,omitempty"`
	// AppRef is the backed-up target.
	// +optional
	AppRef *common.TypedObjectReference `json:"appRef,omitempty"`
	// Repository the Snapshot is in.
	// +optional
	Repository string `json:"repository,omitempty"`
}

// RetentionPolicyPhase is the outcome of applying a retention policy.
// +kubebuilder:validation:Enum=Pending;Applied;FailedToApply
type RetentionPolicyPhase string

const (
	// RetentionPolicyPending means the policy has not been applied.
	RetentionPolicyPending RetentionPolicyPhase = "Pending"
	// RetentionPolicyApplied means old snapshots were removed.
	RetentionPolicyApplied RetentionPolicyPhase = "Applied"
	// RetentionPolicyFailedToApply means cleanup failed; the error says why.
	RetentionPolicyFailedToApply RetentionPolicyPhase = "FailedToApply"
)

// RetentionPolicyApplyStatus records the cleanup of one repository.
type RetentionPolicyApplyStatus struct {
	// Ref is the RetentionPolicy applied.
	Ref common.ObjectReference `json:"ref"`
	// Repository cleaned up.
	Repository string `json:"repository"`
	// Phase of the cleanup.
	// +optional
	Phase RetentionPolicyPhase `json:"phase,omitempty"`
	// Error says why it failed.
	// +optional
	Error string `json:"error,omitempty"`
}

// BackupSessionStatus is what the operator and the Jobs observed of a run.
type BackupSessionStatus struct {
	// Phase is computed from snapshots, hooks and the deadline.
	// +optional
	Phase BackupSessionPhase `json:"phase,omitempty"`
	// Duration of the run, as a Go duration string.
	// +optional
	Duration string `json:"duration,omitempty"`
	// Deadline after which the run fails.
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`
	// TotalSnapshots the run will produce.
	// +optional
	TotalSnapshots int32 `json:"totalSnapshots,omitempty"`
	// Snapshots produced by the run.
	// +optional
	Snapshots []SnapshotStatus `json:"snapshots,omitempty"`
	// Hooks run by the session.
	// +optional
	Hooks HookStatus `json:"hooks,omitempty"`
	// RetentionPolicy results, one per repository.
	// +optional
	RetentionPolicy []RetentionPolicyApplyStatus `json:"retentionPolicy,omitempty"`
	// Retried is true when a retry session was created for this failed run.
	// +optional
	Retried *bool `json:"retried,omitempty"`
	// NextRetry is when the retry will be created.
	// +optional
	NextRetry *metav1.Time `json:"nextRetry,omitempty"`
	// Conditions explain the phase.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// BackupSession is one run of a BackupConfiguration's session.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bks,categories=cairn;backup
// +kubebuilder:printcolumn:name="Invoker-Kind",type=string,JSONPath=`.spec.invoker.kind`
// +kubebuilder:printcolumn:name="Invoker-Name",type=string,JSONPath=`.spec.invoker.name`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Duration",type=string,JSONPath=`.status.duration`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BackupSession struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the configuration and session.
	Spec BackupSessionSpec `json:"spec"`
	// Status is what was observed.
	// +optional
	Status BackupSessionStatus `json:"status,omitempty"`
}

// BackupSessionList is a list of BackupSessions.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type BackupSessionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the BackupSessions.
	Items []BackupSession `json:"items"`
}
