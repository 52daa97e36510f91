package jobs

import (
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
)

// Labels of restore Jobs and their pods.
const (
	// LabelRestoreSession names the RestoreSession a Job or pod works for.
	LabelRestoreSession = "cairn.dev/restore-session"
	// ComponentRestore is the app.kubernetes.io/component of restore Jobs.
	ComponentRestore = "restore"
)

// RestoreLabels are the labels of a RestoreSession's Jobs and pods.
func RestoreLabels(rs *corev1alpha1.RestoreSession, component string) map[string]string {
	l := map[string]string{labels.ManagedBy: labels.ManagedByValue, labels.Component: ComponentRestore, LabelRestoreSession: rs.Name}
	if component != "" {
		l[LabelDataComponent] = component
	}
	return l
}

// RestoreJobInput is everything one restore Job is made from.
type RestoreJobInput struct {
	Session   *corev1alpha1.RestoreSession
	Task      *addonsv1alpha1.Task
	TaskRef   *corev1alpha1.TaskReference
	Function  *addonsv1alpha1.Function
	Component Component
	// Snapshot is the Snapshot object restored (`latest` resolved once by
	// the operator, so every component restores the same one).
	Snapshot string
	// Storage is the repository's BackupStorage (a local one is mounted).
	Storage        *storagev1alpha1.BackupStorage
	Image          string
	ServiceAccount string
	// DeadlineSeconds bounds the Job (the session's restoreTimeout); nil: none.
	DeadlineSeconds *int64
	// Owners are the owners of the component's files (from the Snapshot):
	// when the runner's user cannot give them (ForeignOwners), the Job
	// runs as root with only OwnerCapabilities, unless the task's
	// restoreOwners param is "false".
	Owners *storagev1alpha1.FileOwners
}

// RestoresOwners reports whether a restore Job made from in sets owners
// its runner's user cannot (and so runs as root with OwnerCapabilities),
// and which they are.
func RestoresOwners(in RestoreJobInput) (bool, string) {
	if TaskVars(in.Task, in.TaskRef, nil)[ParamRestoreOwners] == "false" {
		return false, ""
	}
	who := ForeignOwners(in.Owners, in.Component.PodSecurity)
	return who != "", who
}

// RestoreJob builds the Job that restores one component into the target:
// the restore task's Function with its placeholders filled, the target's
// volumes mounted read-write where the application mounts them, as root
// with only the capabilities CHOWN and FOWNER when the files have owners
// the target's user cannot give them (RestoresOwners).
func RestoreJob(in RestoreJobInput) (*batchv1.Job, error) {
	rs := in.Session
	vars := TaskVars(in.Task, in.TaskRef, map[string]string{
		"CAIRN_IMAGE": in.Image, "NAMESPACE": rs.Namespace, "RESTORE_SESSION": rs.Name,
	})
	owners, _ := RestoresOwners(in)
	return taskJob(taskJobSpec{ownerRights: owners,
		name: names.RestoreJob(rs.Name, in.Component.Name), namespace: rs.Namespace,
		owner:  metav1.NewControllerRef(rs, corev1alpha1.SchemeGroupVersion.WithKind("RestoreSession")),
		labels: RestoreLabels(rs, in.Component.Name), container: "restore",
		vars: vars, extraArgs: []string{"--snapshot=" + in.Snapshot, "--component=" + in.Component.Name},
		function: in.Function, task: in.Task, addon: &rs.Spec.Addon, component: in.Component, readOnly: false,
		serviceAccount: in.ServiceAccount, deadline: in.DeadlineSeconds, storage: in.Storage,
	})
}
