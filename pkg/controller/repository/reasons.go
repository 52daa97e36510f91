package repository

import (
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
)

// ConditionEncryptionSecretFound is False when the password Secret or its
// key is missing: the first backup could not initialise the repository.
const ConditionEncryptionSecretFound = "EncryptionSecretFound"

// Password keys, in the order they are looked for.
const (
	KeyPassword       = "CAIRN_PASSWORD"
	KeyResticPassword = "RESTIC_PASSWORD"
)

// Condition reasons. A bucket's failures are pkg/blob's reasons.
const (
	ReasonStorageFound      = "StorageFound"
	ReasonStorageNotFound   = "StorageNotFound"
	ReasonStorageNotAllowed = "StorageNotAllowed"
	ReasonStorageNotReady   = "StorageNotReady"
	ReasonInvalidPath       = string(blob.ReasonInvalid)
	ReasonSecretFound       = "SecretFound"
	ReasonSecretMissing     = string(blob.ReasonSecretMissing)
	ReasonKeyMissing        = string(blob.ReasonKeyMissing)
	ReasonInitialized       = "Initialized"
	ReasonAdopted           = "Adopted"
	ReasonDirectoryOwned    = "DirectoryOwned"
	ReasonRecordUnreadable  = "RecordUnreadable"
	ReasonWaitingForStorage = "WaitingForStorage"
)

// Event reasons.
const (
	EventRecorded         = "DirectoryRecorded"
	EventAdopted          = "DirectoryAdopted"
	EventDataKept         = storageops.EventDataKept
	EventWiped            = storageops.EventWiped
	EventWipeFailed       = storageops.EventWipeFailed
	EventCleanupAbandoned = storageops.EventCleanupAbandoned
)

// Reasons of the IntegrityVerified condition, and the Events of a check.
const (
	// ReasonCheckPassed: the last check found no damage.
	ReasonCheckPassed = "CheckPassed"
	// ReasonDamageFound: the last check found damaged or missing data.
	ReasonDamageFound = "DamageFound"
	// ReasonCheckFailed: the last check could not run to a verdict.
	ReasonCheckFailed = "CheckFailed"

	// EventCheckPassed (Normal): a check found no damage.
	EventCheckPassed = "IntegrityCheckPassed"
	// EventDamageFound (Warning): a check found damage, naming the objects.
	EventDamageFound = "IntegrityDamageFound"
	// EventCheckFailed (Warning): a check could not run to a verdict.
	EventCheckFailed = "IntegrityCheckFailed"
)
