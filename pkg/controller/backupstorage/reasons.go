package backupstorage

import (
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
)

// ConditionRepositoriesImported is True once the Repositories recorded in
// an adopted storage exist as objects in this cluster.
const ConditionRepositoriesImported = "RepositoriesImported"

// Condition reasons. The failures of a bucket are pkg/blob's reasons.
const (
	ReasonSecretFound          = "SecretFound"
	ReasonDefaultCredentials   = "DefaultCredentials"
	ReasonSecretMissing        = string(blob.ReasonSecretMissing)
	ReasonKeyMissing           = string(blob.ReasonKeyMissing)
	ReasonCredentialsRejected  = string(blob.ReasonCredentialsRejected)
	ReasonBucketNotFound       = string(blob.ReasonBucketNotFound)
	ReasonPermissionDenied     = string(blob.ReasonPermissionDenied)
	ReasonEndpointUnreachable  = string(blob.ReasonEndpointUnreachable)
	ReasonInvalidConfiguration = string(blob.ReasonInvalid)
	ReasonStoreError           = string(blob.ReasonStoreError)
	// ReasonWaitingForSecret: the bucket is not tried without credentials.
	ReasonWaitingForSecret = "WaitingForSecret"
	// ReasonInitialized: this BackupStorage wrote metadata.yaml.
	ReasonInitialized = "Initialized"
	// ReasonAdopted: metadata.yaml was written by another cluster or
	// another BackupStorage and is kept as it is.
	ReasonAdopted = "Adopted"
	// ReasonMetadataUnreadable: metadata.yaml is there but not Cairn's.
	ReasonMetadataUnreadable = "MetadataUnreadable"
	// ReasonRepositoriesImported: every recorded Repository exists.
	ReasonRepositoriesImported = "RepositoriesImported"
	// ReasonImportIncomplete: some recorded Repositories could not be made.
	ReasonImportIncomplete = "ImportIncomplete"
)

// Event reasons.
const (
	EventInitialized         = "StorageInitialized"
	EventAdopted             = "StorageAdopted"
	EventRepositoryRecreated = "RepositoryRecreated"
	EventRepositorySkipped   = "RepositoryNotRecreated"
	EventDataKept            = storageops.EventDataKept
	EventWiped               = storageops.EventWiped
	EventWipeFailed          = storageops.EventWipeFailed
	EventCleanupAbandoned    = storageops.EventCleanupAbandoned
)
