package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// LatestSnapshot in RestoreSession.spec.dataSource.snapshot restores the
// newest successful snapshot of the repository.
const LatestSnapshot = "latest"

// RestoreDataSource says what to restore from.
type RestoreDataSource struct {
	// Repository (same namespace) holding the snapshot.
	// +kubebuilder:validation:MinLength=1
	Repository string `json:"repository"`
	// Snapshot is a Snapshot object name, or "latest" for the newest
	// successful snapshot in the repository.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == 'latest' || self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",message="snapshot must be a Snapshot name (lower-case letters, digits, '-' and '.') or \"latest\""
	Snapshot string `json:"snapshot"`
	// EncryptionSecret holds the repository password (key CAIRN_PASSWORD).
	EncryptionSecret common.ObjectReference `json:"encryptionSecret"`
	// Components of the snapshot to restore; empty means all.
	// +optional
	// +listType=set
	Components []string `json:"components,omitempty"`
	// IncludePaths restores only these paths (glob patterns).
	// +optional
	IncludePaths []string `json:"includePaths,omitempty"`
	// ExcludePaths skips these paths (glob patterns).
	// +optional
	ExcludePaths []string `json:"excludePaths,omitempty"`
}

// RestoreSessionSpec says what to restore, into what, and how.
type RestoreSessionSpec struct {
	// Target receives the data: a Deployment, StatefulSet, DaemonSet or PVC.
	// Empty when the addon creates PVCs from volumeClaimTemplates.
	// +optional
	Target *common.TypedObjectReference `json:"target,omitempty"`
	// DataSource is the snapshot to restore.
	DataSource RestoreDataSource `json:"dataSource"`
	// Addon moves the data.
	Addon AddonInfo `json:"addon"`
	// Hooks run around the restore.
	// +optional
	Hooks *RestoreHooks `json:"hooks,omitempty"`
	// RestoreTimeout fails a restore that runs longer.
	// +optional
	RestoreTimeout *metav1.Duration `json:"restoreTimeout,omitempty"`
}

// RestorePhase is the overall state of a RestoreSession.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Invalid
type RestorePhase string

const (
	// RestorePending means the restore has not started its Jobs.
	RestorePending RestorePhase = "Pending"
	// RestoreRunning means Jobs are running.
	RestoreRunning RestorePhase = "Running"
	// RestoreSucceeded means every component was restored.
	RestoreSucceeded RestorePhase = "Succeeded"
	// RestoreFailed means a component, a hook or the deadline failed.
	RestoreFailed RestorePhase = "Failed"
	// RestoreInvalid means the spec cannot work; see the Valid condition.
	RestoreInvalid RestorePhase = "Invalid"
)

// Condition types of a RestoreSession.
const (
	// ConditionSnapshotFound is False when the data source does not resolve.
	ConditionSnapshotFound = "SnapshotFound"
	// ConditionRestoreJobsCreated is True once the restore Jobs exist.
	ConditionRestoreJobsCreated = "RestoreJobsCreated"
	// ConditionBackupsPaused is True while the backups of the restore's
	// target (status.pausedBackups) are held, and False (reason
	// BackupsResumed) once the restore finished and they run again.
	ConditionBackupsPaused = "BackupsPaused"
)

// ComponentRestoreStatus is the state of one restored component.
type ComponentRestoreStatus struct {
	// Phase of the component.
	// +optional
	Phase storagev1alpha1.ComponentPhase `json:"phase,omitempty"`
	// Duration it took, as a Go duration string.
	// +optional
	Duration string `json:"duration,omitempty"`
	// Error says why it failed.
	// +optional
	Error string `json:"error,omitempty"`
	// Progress while it runs.
	// +optional
	Progress *storagev1alpha1.Progress `json:"progress,omitempty"`
	// Claims are the PersistentVolumeClaims a VolumeSnapshot restore
	// created for the component, with their sources and phases.
	// +optional
	Claims []RestoredClaim `json:"claims,omitempty"`
}

// RestoredClaim is one claim a VolumeSnapshot restore created.
type RestoredClaim struct {
	// Name of the PersistentVolumeClaim.
	Name string `json:"name"`
	// VolumeSnapshot it was restored from (its spec.dataSourceRef).
	// +optional
	VolumeSnapshot string `json:"volumeSnapshot,omitempty"`
	// Phase of the claim when the restore ended: Bound, or Pending for a
	// class that binds when a pod first uses the claim.
	// +optional
	Phase string `json:"phase,omitempty"`
}

// RestoreSessionStatus is what the operator and the Jobs observed.
type RestoreSessionStatus struct {
	// Phase is computed from the components, hooks and the deadline.
	// +optional
	Phase RestorePhase `json:"phase,omitempty"`
	// Duration of the restore, as a Go duration string.
	// +optional
	Duration string `json:"duration,omitempty"`
	// Deadline after which the restore fails.
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`
	// TotalComponents to restore.
	// +optional
	TotalComponents int32 `json:"totalComponents,omitempty"`
	// Components by name.
	// +optional
	Components map[string]ComponentRestoreStatus `json:"components,omitempty"`
	// Hooks run by the restore.
	// +optional
	Hooks HookStatus `json:"hooks,omitempty"`
	// PausedBackups are the BackupConfigurations of the restore's target
	// whose backups are held while the restore runs, so no backup reads a
	// half-restored volume: a BackupSession of one of them is Skipped and
	// `cairn trigger` creates none until the restore has finished. Their
	// spec.paused is never touched (GitOps would fight it, and a resume
	// would unpause a config its owner had paused).
	// +optional
	PausedBackups []common.TypedObjectReference `json:"pausedBackups,omitempty"`
	// Conditions explain the phase.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// RestoreSession restores a snapshot into a target.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rs,categories=cairn;backup
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.spec.dataSource.repository`
// +kubebuilder:printcolumn:name="Snapshot",type=string,JSONPath=`.spec.dataSource.snapshot`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Duration",type=string,JSONPath=`.status.duration`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RestoreSession struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the restore to run.
	Spec RestoreSessionSpec `json:"spec"`
	// Status is what was observed.
	// +optional
	Status RestoreSessionStatus `json:"status,omitempty"`
}

// HoldsBackupsOf reports whether this restore currently holds the backups
// of BackupConfiguration namespace/config: it lists the config in
// status.pausedBackups and has not finished.
func (rs *RestoreSession) HoldsBackupsOf(namespace, config string) bool {
	if rs.Status.Phase.IsFinished() || rs.Namespace != namespace {
		return false
	}
	for _, ref := range rs.Status.PausedBackups {
		if ref.Kind == "BackupConfiguration" && ref.Name == config && (ref.Namespace == "" || ref.Namespace == namespace) {
			return true
		}
	}
	return false
}

// RestoreSessionList is a list of RestoreSessions.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type RestoreSessionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the RestoreSessions.
	Items []RestoreSession `json:"items"`
}
