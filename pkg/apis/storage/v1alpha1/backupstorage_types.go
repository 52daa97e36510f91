package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// StorageProvider names the kind of object store a BackupStorage uses.
// +kubebuilder:validation:Enum=s3;gcs;azure;local
type StorageProvider string

const (
	// ProviderS3 is Amazon S3 or any S3-compatible store (MinIO, Ceph RGW...).
	ProviderS3 StorageProvider = "s3"
	// ProviderGCS is Google Cloud Storage.
	ProviderGCS StorageProvider = "gcs"
	// ProviderAzure is Azure Blob Storage.
	ProviderAzure StorageProvider = "azure"
	// ProviderLocal is a volume (NFS, hostPath, a PVC) mounted into the Jobs.
	ProviderLocal StorageProvider = "local"
)

// BackupStorageDeletionPolicy says what happens to the backed-up data when a
// BackupStorage is deleted.
// +kubebuilder:validation:Enum=Delete;WipeOut
type BackupStorageDeletionPolicy string

const (
	// DeletionPolicyDelete removes the Kubernetes objects and keeps the data in
	// the backend, so it can be re-attached later.
	DeletionPolicyDelete BackupStorageDeletionPolicy = "Delete"
	// DeletionPolicyWipeOut also deletes the backed-up data from the backend.
	DeletionPolicyWipeOut BackupStorageDeletionPolicy = "WipeOut"
)

// S3Spec locates a bucket in S3 or an S3-compatible store.
type S3Spec struct {
	// Endpoint of the S3 service, for example https://s3.amazonaws.com or
	// http://minio.storage:9000. Empty means AWS for the region.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Bucket name.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket"`
	// Prefix inside the bucket under which Cairn stores everything.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// Region of the bucket.
	// +optional
	Region string `json:"region,omitempty"`
	// SecretName holds AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
	// optionally CA_CERT_DATA) in the BackupStorage's namespace.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// InsecureTLS skips TLS certificate verification. Only for testing.
	// +optional
	InsecureTLS bool `json:"insecureTLS,omitempty"`
	// MaxConnections bounds parallel requests to the store.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxConnections int32 `json:"maxConnections,omitempty"`
}

// GCSSpec locates a Google Cloud Storage bucket.
type GCSSpec struct {
	// Bucket name.
	// +kubebuilder:validation:MinLength=3
	Bucket string `json:"bucket"`
	// Prefix inside the bucket.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// SecretName holds GOOGLE_SERVICE_ACCOUNT_JSON_KEY and GOOGLE_PROJECT_ID.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// MaxConnections bounds parallel requests to the store.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxConnections int32 `json:"maxConnections,omitempty"`
}

// AzureSpec locates an Azure Blob Storage container.
type AzureSpec struct {
	// StorageAccount is the Azure storage account name.
	// +kubebuilder:validation:MinLength=3
	StorageAccount string `json:"storageAccount"`
	// Container name.
	// +kubebuilder:validation:MinLength=3
	Container string `json:"container"`
	// Prefix inside the container.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// Endpoint overrides the blob service URL (Azurite, sovereign clouds).
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// SecretName holds AZURE_ACCOUNT_KEY.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// MaxConnections bounds parallel requests to the store.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxConnections int32 `json:"maxConnections,omitempty"`
}

// LocalSpec is a volume mounted into every Job that touches the storage.
type LocalSpec struct {
	// VolumeSource is the volume to mount: an NFS export, a PVC, a hostPath.
	corev1.VolumeSource `json:",inline"`
	// MountPath where the volume is mounted in the Jobs.
	// +kubebuilder:validation:Pattern=`^/`
	MountPath string `json:"mountPath"`
	// SubPath inside the volume.
	// +optional
	SubPath string `json:"subPath,omitempty"`
}

// Backend is the object store behind a BackupStorage. Exactly the section that
// matches Provider is set.
// +kubebuilder:validation:XValidation:rule="self.provider != 's3' || has(self.s3)",message="storage.s3 is required when provider is s3"
// +kubebuilder:validation:XValidation:rule="self.provider != 'gcs' || has(self.gcs)",message="storage.gcs is required when provider is gcs"
// +kubebuilder:validation:XValidation:rule="self.provider != 'azure' || has(self.azure)",message="storage.azure is required when provider is azure"
// +kubebuilder:validation:XValidation:rule="self.provider != 'local' || has(self.local)",message="storage.local is required when provider is local"
// +kubebuilder:validation:XValidation:rule="[has(self.s3), has(self.gcs), has(self.azure), has(self.local)].filter(x, x).size() == 1",message="set exactly one of storage.s3, storage.gcs, storage.azure, storage.local: the one named by provider"
type Backend struct {
	// Provider is the kind of store: s3, gcs, azure or local.
	Provider StorageProvider `json:"provider"`
	// S3 settings, when Provider is s3.
	// +optional
	S3 *S3Spec `json:"s3,omitempty"`
	// GCS settings, when Provider is gcs.
	// +optional
	GCS *GCSSpec `json:"gcs,omitempty"`
	// Azure settings, when Provider is azure.
	// +optional
	Azure *AzureSpec `json:"azure,omitempty"`
	// Local settings, when Provider is local.
	// +optional
	Local *LocalSpec `json:"local,omitempty"`
}

// BackupStorageSpec says where backups go and who may use the storage.
type BackupStorageSpec struct {
	// Storage is the backend.
	Storage Backend `json:"storage"`
	// UsagePolicy restricts which namespaces' Repositories may use this storage.
	// +optional
	UsagePolicy *common.UsagePolicy `json:"usagePolicy,omitempty"`
	// Default marks the storage used when a BackupConfiguration names none.
	// +optional
	Default bool `json:"default,omitempty"`
	// DeletionPolicy says what happens to the data when the storage is deleted.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy BackupStorageDeletionPolicy `json:"deletionPolicy,omitempty"`
	// RuntimeSettings shapes the Jobs that initialise or wipe the storage.
	// +optional
	RuntimeSettings *common.PodRuntimeSettings `json:"runtimeSettings,omitempty"`
}

// BackupStoragePhase is the overall state of a BackupStorage.
// +kubebuilder:validation:Enum=Ready;NotReady
type BackupStoragePhase string

const (
	// BackupStorageReady means the backend was reached and initialised.
	BackupStorageReady BackupStoragePhase = "Ready"
	// BackupStorageNotReady means the backend is not usable yet; see conditions.
	BackupStorageNotReady BackupStoragePhase = "NotReady"
)

// Condition types of a BackupStorage.
const (
	// ConditionBackendSecretFound is False when the credentials Secret is missing.
	ConditionBackendSecretFound = "BackendSecretFound"
	// ConditionStorageInitialized is True once metadata.yaml is in the backend.
	ConditionStorageInitialized = "StorageInitialized"
)

// RepositoryInfo summarises a Repository that lives in a BackupStorage.
type RepositoryInfo struct {
	// Name of the Repository.
	Name string `json:"name"`
	// Namespace of the Repository.
	Namespace string `json:"namespace"`
	// Path of the Repository inside the storage.
	Path string `json:"path"`
	// Size of the Repository's data in the storage.
	// +optional
	Size string `json:"size,omitempty"`
	// Synced is true when the Repository object matches the backend.
	// +optional
	Synced bool `json:"synced,omitempty"`
	// Error is the last error seen for this Repository.
	// +optional
	Error string `json:"error,omitempty"`
}

// BackupStorageStatus is what the operator observed of a BackupStorage.
type BackupStorageStatus struct {
	// Phase is Ready or NotReady.
	// +optional
	Phase BackupStoragePhase `json:"phase,omitempty"`
	// TotalSize of all Repositories in the storage.
	// +optional
	TotalSize string `json:"totalSize,omitempty"`
	// Repositories stored in this storage.
	// +optional
	Repositories []RepositoryInfo `json:"repositories,omitempty"`
	// Conditions explain the phase.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// BackupStorage is a place backups are written to: a bucket or a volume.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bs,categories=cairn;backup
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.storage.provider`
// +kubebuilder:printcolumn:name="Default",type=boolean,JSONPath=`.spec.default`
// +kubebuilder:printcolumn:name="Deletion-Policy",type=string,JSONPath=`.spec.deletionPolicy`
// +kubebuilder:printcolumn:name="Total-Size",type=string,JSONPath=`.status.totalSize`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BackupStorage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired storage.
	Spec BackupStorageSpec `json:"spec"`
	// Status is what the operator observed.
	// +optional
	Status BackupStorageStatus `json:"status,omitempty"`
}

// BackupStorageList is a list of BackupStorages.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type BackupStorageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the BackupStorages.
	Items []BackupStorage `json:"items"`
}
