package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// ComponentsAnnotation lists, on a Snapshot, the components its session
// backs up (comma-separated), from its creation on: the Jobs the session
// expects to exist, and for a runner whether its component is the only one
// (it then writes the Snapshot's phase itself).
const ComponentsAnnotation = "cairn.dev/components"

// SnapshotType says whether a snapshot holds everything or only changes.
// +kubebuilder:validation:Enum=FullBackup;IncrementalBackup
type SnapshotType string

const (
	// FullBackup snapshots are self-contained.
	FullBackup SnapshotType = "FullBackup"
	// IncrementalBackup snapshots build on earlier data (deduplicated).
	IncrementalBackup SnapshotType = "IncrementalBackup"
)

// SnapshotPhase is the overall state of a Snapshot.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type SnapshotPhase string

const (
	// SnapshotPending means no component has started.
	SnapshotPending SnapshotPhase = "Pending"
	// SnapshotRunning means some component is still being backed up.
	SnapshotRunning SnapshotPhase = "Running"
	// SnapshotSucceeded means every component was backed up.
	SnapshotSucceeded SnapshotPhase = "Succeeded"
	// SnapshotFailed means at least one component failed.
	SnapshotFailed SnapshotPhase = "Failed"
)

// ComponentPhase is the state of one component (one volume, one dump) of a
// snapshot or a restore.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type ComponentPhase string

const (
	// ComponentPending means the component has not started.
	ComponentPending ComponentPhase = "Pending"
	// ComponentRunning means the component is in progress.
	ComponentRunning ComponentPhase = "Running"
	// ComponentSucceeded means the component finished.
	ComponentSucceeded ComponentPhase = "Succeeded"
	// ComponentFailed means the component failed; see its error.
	ComponentFailed ComponentPhase = "Failed"
)

// SnapshotSpec identifies a snapshot: its repository, the session that made
// it and the application it belongs to.
type SnapshotSpec struct {
	// Repository is the name of the Repository (same namespace) holding the data.
	// +kubebuilder:validation:MinLength=1
	Repository string `json:"repository"`
	// Session is the name of the BackupConfiguration session that made it.
	// +optional
	Session string `json:"session,omitempty"`
	// BackupSession is the name of the BackupSession that made it.
	// +optional
	BackupSession string `json:"backupSession,omitempty"`
	// AppRef is the backed-up application.
	AppRef common.TypedObjectReference `json:"appRef"`
	// SnapshotID is the unique ID of the snapshot, a ULID-like sortable string.
	// +optional
	SnapshotID string `json:"snapshotID,omitempty"`
	// Type is FullBackup or IncrementalBackup.
	// +optional
	Type SnapshotType `json:"type,omitempty"`
	// Version of the snapshot layout.
	// +optional
	Version string `json:"version,omitempty"`
	// DeletionPolicy says whether deleting this object deletes its data.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy RepositoryDeletionPolicy `json:"deletionPolicy,omitempty"`
	// Paused keeps retention policies from removing this snapshot.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// FileStats counts what a data-mover backup of one component saw and stored.
type FileStats struct {
	// TotalFiles is the number of files in the component.
	// +optional
	TotalFiles int64 `json:"totalFiles,omitempty"`
	// NewFiles were not in the parent snapshot.
	// +optional
	NewFiles int64 `json:"newFiles,omitempty"`
	// ModifiedFiles changed since the parent snapshot.
	// +optional
	ModifiedFiles int64 `json:"modifiedFiles,omitempty"`
	// UnmodifiedFiles were reused from the parent snapshot without reading.
	// +optional
	UnmodifiedFiles int64 `json:"unmodifiedFiles,omitempty"`
	// TotalBytes is the logical size of the component.
	// +optional
	TotalBytes int64 `json:"totalBytes,omitempty"`
	// UploadedBytes is what this backup added to the repository.
	// +optional
	UploadedBytes int64 `json:"uploadedBytes,omitempty"`
}

// Progress of a running component.
type Progress struct {
	// BytesDone so far.
	// +optional
	BytesDone int64 `json:"bytesDone,omitempty"`
	// BytesTotal expected, when known.
	// +optional
	BytesTotal int64 `json:"bytesTotal,omitempty"`
	// FilesDone so far.
	// +optional
	FilesDone int64 `json:"filesDone,omitempty"`
	// FilesTotal expected, when known.
	// +optional
	FilesTotal int64 `json:"filesTotal,omitempty"`
	// ETA is the estimated time left, as a Go duration string.
	// +optional
	ETA string `json:"eta,omitempty"`
}

// VolumeSnapshotterStats records the CSI VolumeSnapshot taken for one PVC.
type VolumeSnapshotterStats struct {
	// PVCName is the snapshotted claim.
	PVCName string `json:"pvcName"`
	// HostName is the component name the claim maps to.
	// +optional
	HostName string `json:"hostname,omitempty"`
	// VolumeSnapshotName is the VolumeSnapshot object created for it.
	// +optional
	VolumeSnapshotName string `json:"volumeSnapshotName,omitempty"`
	// CreationTime is when the storage system took the snapshot (the
	// VolumeSnapshot's status.creationTime): the point in time its data is
	// from.
	// +optional
	CreationTime *metav1.Time `json:"creationTime,omitempty"`
	// RestoreSize is the smallest claim the snapshot restores into, as the
	// driver reported it, else the size of the snapshotted claim; a restore
	// whose volumeClaimTemplate asks for no size gets this.
	// +optional
	RestoreSize string `json:"restoreSize,omitempty"`
}

// Component is the backup of one part of a target: a volume of a pod, a PVC,
// or a VolumeSnapshot.
type Component struct {
	// Path of the component's data inside the repository.
	// +optional
	Path string `json:"path,omitempty"`
	// Phase of the component.
	// +optional
	Phase ComponentPhase `json:"phase,omitempty"`
	// Size of the component's data.
	// +optional
	Size string `json:"size,omitempty"`
	// Duration the component took, as a Go duration string.
	// +optional
	Duration string `json:"duration,omitempty"`
	// Error says why the component failed.
	// +optional
	Error string `json:"error,omitempty"`
	// Driver that produced it: Cairn (data mover) or VolumeSnapshotter.
	// +optional
	Driver string `json:"driver,omitempty"`
	// DataMoverSnapshotID is the engine's snapshot ID for this component.
	// +optional
	DataMoverSnapshotID string `json:"dataMoverSnapshotID,omitempty"`
	// Stats of the data-mover backup.
	// +optional
	Stats *FileStats `json:"stats,omitempty"`
	// Progress while the component runs.
	// +optional
	Progress *Progress `json:"progress,omitempty"`
	// VolumeSnapshotterStats for the VolumeSnapshotter driver.
	// +optional
	VolumeSnapshotterStats []VolumeSnapshotterStats `json:"volumeSnapshotterStats,omitempty"`
	// Owners are the users and groups that own the component's files, as
	// the backup runner found them. A restore reads them before it starts:
	// restoring files of a user other than the restore's own needs the
	// CHOWN and FOWNER capabilities, which its Job then asks for. Unset
	// for a snapshot taken before Cairn recorded owners.
	// +optional
	Owners *FileOwners `json:"owners,omitempty"`
}

// FileOwners is the set of file owners of a component, bounded so that a
// volume of many users keeps the Snapshot small.
type FileOwners struct {
	// UIDs are the distinct owning user IDs, ascending.
	// +optional
	// +listType=set
	UIDs []int64 `json:"uids,omitempty"`
	// GIDs are the distinct owning group IDs, ascending.
	// +optional
	// +listType=set
	GIDs []int64 `json:"gids,omitempty"`
	// Truncated means the files have more distinct users or groups than
	// the lists hold (16 each); they then hold the first 16 found.
	// +optional
	Truncated bool `json:"truncated,omitempty"`
}

// SnapshotStatus is what the backup Jobs and the operator recorded.
type SnapshotStatus struct {
	// Phase is computed from the components.
	// +optional
	Phase SnapshotPhase `json:"phase,omitempty"`
	// SnapshotTime is when the snapshot was taken.
	// +optional
	SnapshotTime *metav1.Time `json:"snapshotTime,omitempty"`
	// LastUpdateTime is when the status last changed.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`
	// Size of all components.
	// +optional
	Size string `json:"size,omitempty"`
	// Integrity is false when verification found damage.
	// +optional
	Integrity *bool `json:"integrity,omitempty"`
	// TotalComponents is how many components the snapshot will have.
	// +optional
	TotalComponents int32 `json:"totalComponents,omitempty"`
	// Components by name (for example "dump" or "pod-0").
	// +optional
	Components map[string]Component `json:"components,omitempty"`
	// Conditions explain the phase.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Snapshot is one point-in-time backup of an application in a Repository.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=snap,categories=cairn;backup
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.spec.repository`
// +kubebuilder:printcolumn:name="Session",type=string,JSONPath=`.spec.session`
// +kubebuilder:printcolumn:name="Snapshot-Time",type=date,JSONPath=`.status.snapshotTime`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Snapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec identifies the snapshot.
	Spec SnapshotSpec `json:"spec"`
	// Status is what was recorded.
	// +optional
	Status SnapshotStatus `json:"status,omitempty"`
}

// SnapshotList is a list of Snapshots.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type SnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Snapshots.
	Items []Snapshot `json:"items"`
}
