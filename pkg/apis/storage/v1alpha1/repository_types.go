package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// RepositoryDeletionPolicy says what happens to a repository's data and
// Snapshot objects when the Repository is deleted.
// +kubebuilder:validation:Enum=Delete;WipeOut
type RepositoryDeletionPolicy string

const (
	// RepositoryDeletionDelete removes the Repository and its Snapshot objects
	// and keeps the data in the backend.
	RepositoryDeletionDelete RepositoryDeletionPolicy = "Delete"
	// RepositoryDeletionWipeOut also deletes the repository's data.
	RepositoryDeletionWipeOut RepositoryDeletionPolicy = "WipeOut"
)

// RepositorySpec says which application a repository holds backups of and
// where in which storage it lives.
type RepositorySpec struct {
	// AppRef is the backed-up target. It cannot change: a repository holds the
	// history of one application.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="appRef is immutable: create a new Repository for another target"
	AppRef common.TypedObjectReference `json:"appRef"`
	// StorageRef is the BackupStorage the repository lives in. It cannot change:
	// moving data between storages is a copy, not an edit.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="storageRef is immutable: create a new Repository in the other storage"
	StorageRef common.ObjectReference `json:"storageRef"`
	// Path of the repository inside the storage.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="path must not contain '..'"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="path is immutable"
	Path string `json:"path"`
	// EncryptionSecret holds the repository password under the key
	// CAIRN_PASSWORD. Data is always encrypted at rest.
	EncryptionSecret common.ObjectReference `json:"encryptionSecret"`
	// DeletionPolicy says what happens to the data when the Repository is deleted.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy RepositoryDeletionPolicy `json:"deletionPolicy,omitempty"`
	// Paused stops new backups into this repository.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// RepositoryPhase is the overall state of a Repository.
// +kubebuilder:validation:Enum=Ready;NotReady
type RepositoryPhase string

const (
	// RepositoryReady means the repository is initialised in the backend.
	RepositoryReady RepositoryPhase = "Ready"
	// RepositoryNotReady means it is not usable yet; see conditions.
	RepositoryNotReady RepositoryPhase = "NotReady"
)

// Condition types of a Repository.
const (
	// ConditionRepositoryInitialized is True once the repository exists in the backend.
	ConditionRepositoryInitialized = "RepositoryInitialized"
	// ConditionStorageFound is False when storageRef does not resolve or is not allowed.
	ConditionStorageFound = "StorageFound"
	// ConditionIntegrityVerified is True when the last integrity check found
	// no damage, and False when it found some or could not run.
	ConditionIntegrityVerified = "IntegrityVerified"
)

// SnapshotInfo is a short record of a recent snapshot, kept in the
// Repository's status so that `kubectl get repository -o yaml` tells the story.
type SnapshotInfo struct {
	// Name of the Snapshot object.
	Name string `json:"name"`
	// Phase of the Snapshot.
	// +optional
	Phase SnapshotPhase `json:"phase,omitempty"`
	// Session that produced the snapshot.
	// +optional
	Session string `json:"session,omitempty"`
	// Size of the snapshot.
	// +optional
	Size string `json:"size,omitempty"`
	// SnapshotTime is when the snapshot was taken.
	// +optional
	SnapshotTime *metav1.Time `json:"snapshotTime,omitempty"`
}

// RepositoryStatus is what the operator observed of a Repository.
type RepositoryStatus struct {
	// Phase is Ready or NotReady.
	// +optional
	Phase RepositoryPhase `json:"phase,omitempty"`
	// LastBackupTime is when the last finished (Succeeded or Failed)
	// snapshot was taken.
	// +optional
	LastBackupTime *metav1.Time `json:"lastBackupTime,omitempty"`
	// LastSuccessfulBackupTime is when the newest Succeeded snapshot was
	// taken: the age of the newest backup a restore can use.
	// +optional
	LastSuccessfulBackupTime *metav1.Time `json:"lastSuccessfulBackupTime,omitempty"`
	// Integrity is false when a check found damaged data, true when the
	// last check found none; unset before the first check.
	// +optional
	Integrity *bool `json:"integrity,omitempty"`
	// LastIntegrityCheckTime is when the last integrity check finished
	// (with a verdict or not); the next one is due a check interval later.
	// +optional
	LastIntegrityCheckTime *metav1.Time `json:"lastIntegrityCheckTime,omitempty"`
	// SnapshotCount is the number of Succeeded snapshots in the repository.
	// +optional
	SnapshotCount *int32 `json:"snapshotCount,omitempty"`
	// Size of the data the repository's Succeeded snapshots stored (the
	// new, deduplicated and compressed bytes each backup added).
	// +optional
	Size string `json:"size,omitempty"`
	// RecentSnapshots are the newest finished (Succeeded or Failed)
	// snapshots, newest first. A snapshot being taken shows on its
	// BackupSession and joins this list when it ends.
	// +optional
	RecentSnapshots []SnapshotInfo `json:"recentSnapshots,omitempty"`
	// Conditions explain the phase.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Repository is one deduplicated, encrypted store of snapshots of one
// application, inside a BackupStorage.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=repo,categories=cairn;backup
// +kubebuilder:printcolumn:name="Integrity",type=boolean,JSONPath=`.status.integrity`
// +kubebuilder:printcolumn:name="Snapshot-Count",type=integer,JSONPath=`.status.snapshotCount`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Last-Backup",type=date,JSONPath=`.status.lastBackupTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Repository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired repository.
	Spec RepositorySpec `json:"spec"`
	// Status is what the operator observed.
	// +optional
	Status RepositoryStatus `json:"status,omitempty"`
}

// RepositoryList is a list of Repositories.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type RepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Repositories.
	Items []Repository `json:"items"`
}
