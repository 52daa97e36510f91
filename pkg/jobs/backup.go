package jobs

import (
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
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
	Session    *corev1alpha1.BackupSession
	Config     *corev1alpha1.BackupConfiguration
	Addon      *corev1alpha1.AddonInfo
	Task       *addonsv1alpha1.Task
	TaskRef    *corev1alpha1.TaskReference
	Function   *addonsv1alpha1.Function
	Snapshot   string // the Snapshot object the runner reports to
	Repository string
	// Storage is the repository's BackupStorage: a local one's volume is
	// mounted into the Job (read-write) at its mountPath.
	Storage        *storagev1alpha1.BackupStorage
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
	return taskJob(taskJobSpec{
		name: names.BackupJob(bs.Name, in.Repository, in.Component.Name), namespace: bs.Namespace,
		owner:  metav1.NewControllerRef(bs, corev1alpha1.SchemeGroupVersion.WithKind("BackupSession")),
		labels: SessionLabels(bs, in.Repository, in.Component.Name), container: "backup",
		vars: vars, extraArgs: []string{"--snapshot=" + in.Snapshot, "--component=" + in.Component.Name},
		function: in.Function, task: in.Task, addon: in.Addon, component: in.Component, readOnly: true,
		serviceAccount: in.ServiceAccount, deadline: in.DeadlineSeconds, storage: in.Storage,
	})
}

// LocalStorageVolume is the Job volume of a local BackupStorage (NFS, a
// PVC...): the runner opens the repository at its mountPath.
const LocalStorageVolume = "cairn-storage"

// taskJobSpec is what a task's Job is made of, for backups and restores.
type taskJobSpec struct {
	name, namespace string
	owner           *metav1.OwnerReference
	labels          map[string]string
	container       string
	vars            map[string]string
	extraArgs       []string
	function        *addonsv1alpha1.Function
	task            *addonsv1alpha1.Task
	addon           *corev1alpha1.AddonInfo
	component       Component
	readOnly        bool
	serviceAccount  string
	deadline        *int64
	storage         *storagev1alpha1.BackupStorage
	// ownerRights: a restore that sets other users' owners (grantOwnerRights).
	ownerRights bool
}

// taskJob builds a task's Job: the Function's container with its
// placeholders filled and extraArgs appended, the component's volumes at
// the application's mount paths, the task's scratch volumes, Cairn's
// restricted security context run as the target's user, the addon's
// runtime settings, and no retries.
func taskJob(s taskJobSpec) (*batchv1.Job, error) {
	fn := s.function.Spec
	image, err := subst.Expand(fn.Image, s.vars)
	if err != nil {
		return nil, fmt.Errorf("Function %s image: %w", s.function.Name, err)
	}
	command, err := subst.ExpandAll(fn.Command, s.vars)
	if err != nil {
		return nil, fmt.Errorf("Function %s command: %w", s.function.Name, err)
	}
	args, err := subst.ExpandAll(fn.Args, s.vars)
	if err != nil {
		return nil, fmt.Errorf("Function %s args: %w", s.function.Name, err)
	}
	container := corev1.Container{
		Name: s.container, Image: image, Command: command, Args: append(args, s.extraArgs...), WorkingDir: fn.WorkingDir,
		Env: []corev1.EnvVar{
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "HOME", Value: "/tmp"},
		},
		ImagePullPolicy:          corev1.PullIfNotPresent,
		SecurityContext:          RestrictedContainerSecurity(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		VolumeMounts:             append(append([]corev1.VolumeMount{}, fn.VolumeMounts...), s.task.VolumeMounts...),
	}
	pod := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: s.serviceAccount,
		NodeName:           s.component.NodeName,
		SecurityContext:    runnerPodSecurity(s.component.PodSecurity),
	}
	if s.ownerRights {
		grantOwnerRights(&container, &pod)
	}
	for _, tv := range s.component.Volumes {
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: tv.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: tv.ClaimName, ReadOnly: s.readOnly}}})
		for _, m := range tv.Mounts {
			m.ReadOnly = s.readOnly
			container.VolumeMounts = append(container.VolumeMounts, m)
		}
	}
	if st := s.storage; st != nil && st.Spec.Storage.Provider == storagev1alpha1.ProviderLocal && st.Spec.Storage.Local != nil {
		local := st.Spec.Storage.Local
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: LocalStorageVolume, VolumeSource: local.VolumeSource})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{Name: LocalStorageVolume, MountPath: local.MountPath, SubPath: local.SubPath})
	}
	for _, vt := range s.task.VolumeTemplate {
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: vt.Name, VolumeSource: vt.Source})
	}
	if rs := fn.RuntimeSettings; rs != nil {
		applyContainerSettings(&container, rs.Resources, rs.SecurityContext, rs.Env, rs.EnvFrom)
	}
	if rs := s.addon.ContainerRuntimeSettings; rs != nil {
		applyContainerSettings(&container, rs.Resources, rs.SecurityContext, rs.Env, rs.EnvFrom)
	}
	pod.Containers = []corev1.Container{container}
	if jt := s.addon.JobTemplate; jt != nil {
		ApplyRuntimeSettings(&pod, &jt.Spec)
	}
	backoff := int32(0)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.namespace, Labels: s.labels, OwnerReferences: []metav1.OwnerReference{*s.owner}},
		Spec: batchv1.JobSpec{
			BackoffLimit:          &backoff,
			ActiveDeadlineSeconds: s.deadline,
			Template:              corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: s.labels}, Spec: pod},
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
