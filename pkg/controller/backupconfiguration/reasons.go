package backupconfiguration

// Condition reasons and Event reasons. Each says, in one CamelCase word,
// what a user reads about in the message beside it.
const (
	ReasonTargetFound    = "TargetFound"
	ReasonTargetNotFound = "TargetNotFound"
	ReasonTargetInvalid  = "TargetInvalid"

	ReasonAddonReady       = "AddonReady"
	ReasonAddonNotFound    = "AddonNotFound"
	ReasonTaskNotFound     = "TaskNotFound"
	ReasonFunctionNotFound = "FunctionNotFound"
	ReasonParamMissing     = "ParamMissing"
	ReasonParamUnknown     = "ParamUnknown"

	ReasonHooksReady             = "HooksReady"
	ReasonHookTemplateNotFound   = "HookTemplateNotFound"
	ReasonHookTemplateNotAllowed = "HookTemplateNotAllowed"
	ReasonHookTemplateCannotRun  = "HookTemplateCannotRun"
	ReasonHookInvalid            = "HookInvalid"

	ReasonBackendsReady     = "BackendsReady"
	ReasonBackendInvalid    = "BackendInvalid"
	ReasonNoDefault         = "NoDefault"
	ReasonSeveralDefaults   = "SeveralDefaults"
	ReasonStorageNotFound   = "StorageNotFound"
	ReasonStorageNotReady   = "StorageNotReady"
	ReasonStorageNotAllowed = "StorageNotAllowed"
	ReasonPolicyNotFound    = "RetentionPolicyNotFound"
	ReasonPolicyInvalid     = "RetentionPolicyInvalid"
	ReasonPolicyNotAllowed  = "RetentionPolicyNotAllowed"

	ReasonRepositoriesReady    = "RepositoriesReady"
	ReasonRepositoryConflict   = "RepositoryConflict"
	ReasonRepositoryNotReady   = "RepositoryNotReady"
	ReasonRepositoryCreated    = "RepositoryCreated"
	ReasonRepositoryWaiting    = "RepositoryWaiting"
	ReasonSchedulersReady      = "SchedulersReady"
	ReasonSchedulersPaused     = "Paused"
	ReasonScheduleInvalid      = "ScheduleInvalid"
	ReasonSchedulerCreated     = "SchedulerCreated"
	ReasonSchedulerUpdated     = "SchedulerUpdated"
	ReasonSchedulerRemoved     = "SchedulerRemoved"
	ReasonSchedulersNotCreated = "SchedulersNotCreated"
)
