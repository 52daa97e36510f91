// Package labels holds the label keys Cairn puts on what it creates, in one
// place for the operator, the job specs, the runner and the CLI, so they all
// find the same objects.
package labels

const (
	// ManagedBy marks objects the operator created; its informers for
	// Jobs, CronJobs, Pods and RBAC objects watch only these.
	ManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is ManagedBy's value.
	ManagedByValue = "cairn"
	// ManagedSelector selects the objects the operator created.
	ManagedSelector = ManagedBy + "=" + ManagedByValue
	// Component names what an object does for Cairn ("trigger", ...).
	Component = "app.kubernetes.io/component"
	// Config names the BackupConfiguration an object belongs to
	// (Repositories, BackupSessions, trigger CronJobs and their RBAC).
	// Repositories carry it instead of an owner reference, so deleting a
	// schedule never garbage-collects backups.
	Config = "cairn.dev/backup-configuration"
	// Session names the BackupConfiguration session an object serves.
	Session = "cairn.dev/session"
)
