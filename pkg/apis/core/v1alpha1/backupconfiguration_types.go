package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// BackendReference names a BackupStorage under a short local name and the
// RetentionPolicy that prunes the repositories written to it.
type BackendReference struct {
	// Name that sessions' repositories use to pick this backend.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// StorageRef is the BackupStorage.
	StorageRef common.ObjectReference `json:"storageRef"`
	// RetentionPolicy that cleans up old snapshots in this backend.
	RetentionPolicy common.ObjectReference `json:"retentionPolicy"`
}

// ConcurrencyPolicy says what a schedule does when the previous backup is
// still running.
// +kubebuilder:validation:Enum=Allow;Forbid;Replace
type ConcurrencyPolicy string

const (
	// AllowConcurrent starts another session alongside.
	AllowConcurrent ConcurrencyPolicy = "Allow"
	// ForbidConcurrent skips the new session (it is recorded as Skipped).
	ForbidConcurrent ConcurrencyPolicy = "Forbid"
	// ReplaceConcurrent stops the running session and starts the new one.
	ReplaceConcurrent ConcurrencyPolicy = "Replace"
)

// SchedulerSpec is the CronJob that triggers a session.
type SchedulerSpec struct {
	// Schedule in cron format, for example "*/5 * * * *" or "@daily".
	// +kubebuilder:validation:MinLength=1
	Schedule string `json:"schedule"`
	// TimeZone of the schedule, an IANA name such as "Europe/Berlin".
	// +optional
	TimeZone *string `json:"timeZone,omitempty"`
	// ConcurrencyPolicy when the previous session is still running.
	// +kubebuilder:default=Forbid
	// +optional
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`
	// Suspend stops triggering new sessions.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// StartingDeadlineSeconds after a missed schedule within which it may still start.
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
	// JobTemplate shapes the trigger Job of the CronJob.
	// +optional
	JobTemplate common.JobTemplate `json:"jobTemplate,omitempty"`
	// SuccessfulJobsHistoryLimit of the trigger CronJob.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	SuccessfulJobsHistoryLimit *int32 `json:"successfulJobsHistoryLimit,omitempty"`
	// FailedJobsHistoryLimit of the trigger CronJob.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	FailedJobsHistoryLimit *int32 `json:"failedJobsHistoryLimit,omitempty"`
}

// RetryConfig retries a failed session.
type RetryConfig struct {
	// MaxRetry is how many times a failed session is retried.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	MaxRetry int32 `json:"maxRetry"`
	// Delay before a retry.
	// +optional
	Delay *metav1.Duration `json:"delay,omitempty"`
}

// RepositoryInfo is a Repository that a session writes to; the operator
// creates it from this template.
type RepositoryInfo struct {
	// Name of the Repository object to create or use.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Backend is the name of an entry of spec.backends. It may be omitted
	// when there is exactly one backend (or spec.backends is omitted and the
	// default BackupStorage is used).
	// +kubebuilder:validation:MinLength=1
	// +optional
	Backend string `json:"backend,omitempty"`
	// Directory of the repository inside the storage.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="directory must not contain '..'"
	Directory string `json:"directory"`
	// EncryptionSecret holds the repository password (key CAIRN_PASSWORD).
	EncryptionSecret common.ObjectReference `json:"encryptionSecret"`
	// DeletionPolicy of the created Repository.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy storagev1alpha1.RepositoryDeletionPolicy `json:"deletionPolicy,omitempty"`
}

// Session is one schedule of backups of the target, with how they run.
type Session struct {
	// Name of the session, unique in the BackupConfiguration.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// Scheduler triggers the session. A schedule is required.
	Scheduler SchedulerSpec `json:"scheduler"`
	// Hooks run around each backup.
	// +optional
	Hooks *BackupHooks `json:"hooks,omitempty"`
	// RetryConfig retries failed sessions.
	// +optional
	RetryConfig *RetryConfig `json:"retryConfig,omitempty"`
	// BackupTimeout fails a session that runs longer.
	// +optional
	BackupTimeout *metav1.Duration `json:"backupTimeout,omitempty"`
	// SessionHistoryLimit is how many finished BackupSessions are kept.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	SessionHistoryLimit int32 `json:"sessionHistoryLimit,omitempty"`
	// Addon moves the data.
	Addon AddonInfo `json:"addon"`
	// Repositories the session writes to, one snapshot each.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	Repositories []RepositoryInfo `json:"repositories"`
}

// BackupConfigurationSpec says what to back up, where to, and when.
// +kubebuilder:validation:XValidation:rule="!has(self.backends) || self.sessions.all(s, s.repositories.all(r, has(r.backend) ? self.backends.exists(b, b.name == r.backend) : size(self.backends) == 1))",message="every sessions[].repositories[].backend must name an entry of spec.backends (it may be omitted only when there is exactly one backend)"
// +kubebuilder:validation:XValidation:rule="has(self.backends) || self.sessions.all(s, s.repositories.all(r, !has(r.backend)))",message="sessions[].repositories[].backend names a backend, but spec.backends is omitted: add spec.backends, or drop backend to use the default BackupStorage"
type BackupConfigurationSpec struct {
	// Target to back up: a Deployment, StatefulSet or DaemonSet (apiGroup apps)
	// or a PersistentVolumeClaim (apiGroup "").
	// +kubebuilder:validation:XValidation:rule="(self.apiGroup == 'apps' && self.kind in ['Deployment', 'StatefulSet', 'DaemonSet']) || ((!has(self.apiGroup) || self.apiGroup == '') && self.kind == 'PersistentVolumeClaim')",message="target must be an apps Deployment, StatefulSet or DaemonSet, or a core PersistentVolumeClaim (apiGroup \"\")"
	Target common.TypedObjectReference `json:"target"`
	// Backends the sessions write to. When omitted, the operator uses the
	// default BackupStorage and the default RetentionPolicy (`default: true`:
	// the config's namespace first, then those whose usage policy allows it)
	// and records its choice in status.defaultBackend, so a later second
	// default does not change an existing config.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	// +optional
	Backends []BackendReference `json:"backends,omitempty"`
	// Sessions are the backup schedules.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	Sessions []Session `json:"sessions"`
	// Paused stops all sessions of this configuration.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// BackupConfigurationPhase is the overall state of a BackupConfiguration.
// +kubebuilder:validation:Enum=Ready;NotReady;Invalid
type BackupConfigurationPhase string

const (
	// BackupConfigurationReady means schedules are in place and references resolve.
	BackupConfigurationReady BackupConfigurationPhase = "Ready"
	// BackupConfigurationNotReady means something it needs is not in place yet.
	BackupConfigurationNotReady BackupConfigurationPhase = "NotReady"
	// BackupConfigurationInvalid means the spec cannot work; see the Valid condition.
	BackupConfigurationInvalid BackupConfigurationPhase = "Invalid"
)

// Condition types of a BackupConfiguration.
const (
	// ConditionTargetFound is False when the target does not exist.
	ConditionTargetFound = "TargetFound"
	// ConditionAddonReady says the addon, its tasks, their Functions and the
	// required task params are all there.
	ConditionAddonReady = "AddonReady"
	// ConditionBackendsReady is False when a BackupStorage is missing or not ready.
	ConditionBackendsReady = "BackendsReady"
	// ConditionRepositoriesReady is False when a Repository is not ready.
	ConditionRepositoriesReady = "RepositoriesReady"
	// ConditionSchedulersReady is False when a trigger CronJob is missing.
	ConditionSchedulersReady = "SchedulersReady"
	// ConditionHooksReady is False when a session's hook names a
	// HookTemplate that is missing, not allowed in this namespace or that
	// cannot run, or misses a required param: said before a session runs
	// (and fails on it).
	ConditionHooksReady = "HooksReady"
)

// SessionStatus reports one session's schedule.
type SessionStatus struct {
	// Name of the session.
	Name string `json:"name"`
	// NextSchedule is when the session will next run.
	// +optional
	NextSchedule *metav1.Time `json:"nextSchedule,omitempty"`
	// LastSchedule is when it last ran.
	// +optional
	LastSchedule *metav1.Time `json:"lastSchedule,omitempty"`
	// LastSuccessfulBackupTime is when the newest Succeeded snapshot of the
	// session was taken.
	// +optional
	LastSuccessfulBackupTime *metav1.Time `json:"lastSuccessfulBackupTime,omitempty"`
	// Conditions of the session.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BackupConfigurationStatus is what the operator observed.
// DefaultBackendName is the backend name repositories use when
// spec.backends is omitted and the operator picked the defaults.
const DefaultBackendName = "default"

// ResolvedBackend records the BackupStorage and RetentionPolicy the operator
// chose for a config that omits spec.backends. It is pinned: once set it is
// kept, so adding a second `default: true` object later breaks nothing.
type ResolvedBackend struct {
	// StorageRef is the default BackupStorage chosen.
	StorageRef common.ObjectReference `json:"storageRef"`
	// RetentionPolicy is the default RetentionPolicy chosen.
	RetentionPolicy common.ObjectReference `json:"retentionPolicy"`
}

type BackupConfigurationStatus struct {
	// Phase is Ready, NotReady or Invalid.
	// +optional
	Phase BackupConfigurationPhase `json:"phase,omitempty"`
	// TargetFound says whether the target exists.
	// +optional
	TargetFound *bool `json:"targetFound,omitempty"`
	// Sessions report each schedule.
	// +optional
	Sessions []SessionStatus `json:"sessions,omitempty"`
	// NextSchedule is the earliest next run of any session.
	// +optional
	NextSchedule *metav1.Time `json:"nextSchedule,omitempty"`
	// DefaultBackend is the default BackupStorage and RetentionPolicy pinned
	// for a config without spec.backends (backend name "default").
	// +optional
	DefaultBackend *ResolvedBackend `json:"defaultBackend,omitempty"`
	// Conditions explain the phase.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// BackupConfiguration says what to back up, where to, and on which schedules.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bc,categories=cairn;backup
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Paused",type=boolean,JSONPath=`.spec.paused`
// +kubebuilder:printcolumn:name="Next-Schedule",type=date,JSONPath=`.status.nextSchedule`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BackupConfiguration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired backup setup.
	Spec BackupConfigurationSpec `json:"spec"`
	// Status is what the operator observed.
	// +optional
	Status BackupConfigurationStatus `json:"status,omitempty"`
}

// BackupConfigurationList is a list of BackupConfigurations.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type BackupConfigurationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the BackupConfigurations.
	Items []BackupConfiguration `json:"items"`
}
