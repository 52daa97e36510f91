package jobs

import (
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/pkg/subst"
)

// Labels of session Jobs and their pods.
const (
	// LabelBackupSession names the BackupSession a Job or pod works for.
	LabelBackupSession = "cairn.dev/backup-session"
	// LabelRepository names the Repository a backup Job writes to.
	LabelRepository = "cairn.dev/repository"
	// LabelDataComponent names the target component a Job moves.
	LabelDataComponent = "cairn.dev/component"
	// ComponentBackup is the app.kubernetes.io/component of backup Jobs.
	ComponentBackup = "backup"
)

// BackupJobInput is everything one backup Job is made from.
type BackupJobInput struct {
	Session        *corev1alpha1.BackupSession
	Config         *corev1alpha1.BackupConfiguration
	Addon          *corev1alpha1.AddonInfo
	Task           *addonsv1alpha1.Task
	TaskRef        *corev1alpha1.TaskReference
	Function       *addonsv1alpha1.Function
	Snapshot       string // the Snapshot object the runner reports to
	Repository     string
	Component      Component
	Image          string // the runner image (${CAIRN_IMAGE})
	ServiceAccount string // the session's ServiceAccount
	// DeadlineSeconds bounds the Job (the session's backupTimeout); nil: none.
	DeadlineSeconds *int64
}

// SessionLabels are the labels of a BackupSession's Jobs and pods.
func SessionLabels(bs *corev1alpha1.BackupSession, repository, component string) map[string]string {
	l := map[string]string{
		labels.ManagedBy: labels.ManagedByValue, labels.Component: ComponentBackup,
		LabelBackupSession: bs.Name,
		labels.Config:      bs.Spec.Invoker.Name, labels.Session: bs.Spec.Session,
	}
	if repository != "" {
		l[LabelRepository] = repository
	}
	if component != "" {
		l[LabelDataComponent] = component
	}
	return l
}

// TaskVars are the ${VAR} values of a task's Function: the task's params
// (or their defaults) and what the operator provides.
func TaskVars(task *addonsv1alpha1.Task, ref *corev1alpha1.TaskReference, fixed map[string]string) map[string]string {
	vars := map[string]string{}
	for _, p := range task.Parameters {
		vars[p.Name] = p.Default
	}
	if ref != nil {
		for k, v := range ref.Params {
			vars[k] = v
		}
	}
	for k, v := range fixed {
		vars[k] = v
	}
	return vars
}

// BackupJob builds the Job that backs up one component of the target into
// one repository: the task's Function container with its placeholders
// filled, the target's volumes mounted read-only where the application
// mounts them, the runner's identity, no retries (a retry is the session's
// retryConfig) and the session's deadline.
func BackupJob(in BackupJobInput) (*batchv1.Job, error) {
	bs := in.Session
	vars := TaskVars(in.Task, in.TaskRef, map[string]string{
		"CAIRN_IMAGE": in.Image, "NAMESPACE": bs.Namespace, "BACKUP_SESSION": bs.Name,
	})
	if vars["paths"] == "" {
		vars["paths"] = defaultPaths(in.Component.Volumes)
	}
	fn := in.Function.Spec
	image, err := subst.Expand(fn.Image, vars)
	if err != nil {
		return nil, fmt.Errorf("Function %s image: %w", in.Function.Name, err)
	}
	command, err := subst.ExpandAll(fn.Command, vars)
	if err != nil {
		return nil, fmt.Errorf("Function %s command: %w", in.Function.Name, err)
	}
	args, err := subst.ExpandAll(fn.Args, vars)
	if err != nil {
		return nil, fmt.Errorf("Function %s args: %w", in.Function.Name, err)
	}
	args = append(args, "--snapshot="+in.Snapshot, "--component="+in.Component.Name)

	podLabels := SessionLabels(bs, in.Repository, in.Component.Name)
	container := corev1.Container{
		Name: "backup", Image: image, Command: command, Args: args, WorkingDir: fn.WorkingDir,
		Env: []corev1.EnvVar{
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "HOME", Value: "/tmp"},
		},
		ImagePullPolicy:          corev1.PullIfNotPresent,
		SecurityContext:          RestrictedContainerSecurity(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		VolumeMounts:             append([]corev1.VolumeMount{}, fn.VolumeMounts...),
	}
	container.VolumeMounts = append(container.VolumeMounts, in.Task.VolumeMounts...)
	pod := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: in.ServiceAccount,
		NodeName:           in.Component.NodeName,
		SecurityContext:    runnerPodSecurity(in.Component.PodSecurity),
	}
	for _, tv := range in.Component.Volumes {
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: tv.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: tv.ClaimName, ReadOnly: true}}})
		container.VolumeMounts = append(container.VolumeMounts, tv.Mounts...)
	}
	for _, vt := range in.Task.VolumeTemplate {
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: vt.Name, VolumeSource: vt.Source})
	}
	if rs := fn.RuntimeSettings; rs != nil {
		applyContainerSettings(&container, rs.Resources, rs.SecurityContext, rs.Env, rs.EnvFrom)
	}
	if rs := in.Addon.ContainerRuntimeSettings; rs != nil {
		applyContainerSettings(&container, rs.Resources, rs.SecurityContext, rs.Env, rs.EnvFrom)
	}
	pod.Containers = []corev1.Container{container}
	backoff := int32(0)
	if jt := in.Addon.JobTemplate; jt != nil {
		ApplyRuntimeSettings(&pod, &jt.Spec)
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:      names.BackupJob(bs.Name, in.Repository, in.Component.Name),
			Namespace: bs.Namespace, Labels: podLabels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(bs, corev1alpha1.SchemeGroupVersion.WithKind("BackupSession"))},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          &backoff,
			ActiveDeadlineSeconds: in.DeadlineSeconds,
			Template:              corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: pod},
		},
	}, nil
}

// defaultPaths are the mount paths of every target volume, comma-separated:
// a task without `paths` backs up everything the target mounts.
func defaultPaths(vols []TargetVolume) string {
	var paths []string
	for _, v := range vols {
		for _, m := range v.Mounts {
			paths = append(paths, m.MountPath)
		}
	}
	sort.Strings(paths)
	out := ""
	for i, p := range paths {
		if i > 0 {
			out += ","
		}
		out += p
	}
	return out
}

// runnerPodSecurity runs the runner as the target's user and groups, so it
// reads what the application wrote; a target without them gets Cairn's
// non-root default. Never root unless the target itself asks for a user 0.
func runnerPodSecurity(target *corev1.PodSecurityContext) *corev1.PodSecurityContext {
	sc := RestrictedPodSecurity()
	if target == nil {
		return sc
	}
	if target.RunAsUser != nil {
		sc.RunAsUser = target.RunAsUser
		sc.RunAsNonRoot = ptr(*target.RunAsUser != 0)
	}
	if target.RunAsGroup != nil {
		sc.RunAsGroup = target.RunAsGroup
	}
	sc.FSGroup = target.FSGroup
	sc.SupplementalGroups = target.SupplementalGroups
	return sc
}

func applyContainerSettings(c *corev1.Container, res corev1.ResourceRequirements, sec *corev1.SecurityContext, env []corev1.EnvVar, envFrom []corev1.EnvFromSource) {
	if len(res.Limits) > 0 || len(res.Requests) > 0 {
		c.Resources = res
	}
	if sec != nil {
		c.SecurityContext = sec
	}
	c.Env = append(c.Env, env...)
	c.EnvFrom = append(c.EnvFrom, envFrom...)
}
