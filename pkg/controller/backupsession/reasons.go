package backupsession

// Condition and Event reasons of BackupSessions.
const (
	ReasonInvalid            = "Invalid"
	ReasonConfigNotFound     = "ConfigNotFound"
	ReasonConfigNotReady     = "ConfigNotReady"
	ReasonRepositoryNotReady = "RepositoryNotReady"
	ReasonSkippedConcurrent  = "ConcurrentSessionRunning"
	ReasonSkippedPaused      = "ConfigPaused"
	ReasonSkippedRestore     = "RestoreRunning"
	ReasonSnapshotsCreated   = "SnapshotsCreated"
	ReasonJobsCreated        = "BackupJobsCreated"
	ReasonJobFailed          = "BackupJobFailed"
	ReasonJobDeleted         = "BackupJobDeleted"
	ReasonPodFailed          = "RunnerPodFailed"
	ReasonImagePull          = "ImagePullFailed"
	ReasonUnschedulable      = "RunnerUnschedulable"
	ReasonDeadlineExceeded   = "DeadlineExceeded"
	ReasonSucceeded          = "Succeeded"
	ReasonFailed             = "Failed"
	ReasonReplaced           = "ReplacedByNewerSession"
)
