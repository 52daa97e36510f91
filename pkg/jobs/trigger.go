package jobs

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
)

// ComponentTrigger is the component label of trigger CronJobs and their
// ServiceAccount and Role.
const ComponentTrigger = "trigger"

// triggerDeadline bounds one trigger pod: it makes one API call.
const triggerDeadline = 120

// TriggerLabels are the labels of a config's trigger CronJob; with config
// empty, those of a namespace's trigger ServiceAccount, Role and binding.
func TriggerLabels(config, session string) map[string]string {
	l := map[string]string{labels.ManagedBy: labels.ManagedByValue, labels.Component: ComponentTrigger}
	if config != "" {
		l[labels.Config] = config
	}
	if session != "" {
		l[labels.Session] = session
	}
	return l
}

// TriggerServiceAccount is the account trigger pods run as: one per
// namespace, shared by the namespace's configs, so a thousand configs cost
// three RBAC objects, not three thousand.
const TriggerServiceAccount = "cairn-trigger"

func ownedBy(bc *corev1alpha1.BackupConfiguration) []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(bc, corev1alpha1.SchemeGroupVersion.WithKind("BackupConfiguration"))}
}

// TriggerRBAC returns the ServiceAccount, Role and RoleBinding that let
// trigger pods in namespace create BackupSessions, read BackupConfigurations
// and list RestoreSessions (a restore holds its target's backups) there,
// and nothing else (no Secrets, no other kinds, no other namespace). They
// belong to no single config; the operator removes them when the
// namespace's last config goes.
func TriggerRBAC(namespace string) (*corev1.ServiceAccount, *rbacv1.Role, *rbacv1.RoleBinding) {
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: TriggerServiceAccount, Namespace: namespace, Labels: TriggerLabels("", "")}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: meta(), AutomountServiceAccountToken: ptr(true)}
	role := &rbacv1.Role{ObjectMeta: meta(), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{corev1alpha1.GroupName}, Resources: []string{"backupsessions"}, Verbs: []string{"create"}},
		{APIGroups: []string{corev1alpha1.GroupName}, Resources: []string{"backupconfigurations"}, Verbs: []string{"get"}},
		// A restore of a config's target holds its backups
		// (status.pausedBackups): the trigger looks before creating one.
		{APIGroups: []string{corev1alpha1.GroupName}, Resources: []string{"restoresessions"}, Verbs: []string{"list"}},
	}}
	binding := &rbacv1.RoleBinding{ObjectMeta: meta(),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: TriggerServiceAccount},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: TriggerServiceAccount, Namespace: namespace}},
	}
	return sa, role, binding
}

// TriggerCronJob is the CronJob that creates a BackupSession of session s
// of bc on its schedule, by running `cairn trigger` from image. It is
// suspended while the config is paused or the session's scheduler says so.
// The SpecHashAnnotation says which spec it holds.
func TriggerCronJob(bc *corev1alpha1.BackupConfiguration, s *corev1alpha1.Session, image string) *batchv1.CronJob {
	sched := s.Scheduler
	pod := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: TriggerServiceAccount,
		SecurityContext:    RestrictedPodSecurity(),
		Containers: []corev1.Container{{
			Name:  "trigger",
			Image: image,
			Args:  []string{"trigger", "--backup-configuration", bc.Name, "--session", s.Name},
			Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}},
			ImagePullPolicy:          corev1.PullIfNotPresent,
			SecurityContext:          RestrictedContainerSecurity(),
			Resources:                SmallResources(),
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		}},
	}
	ApplyRuntimeSettings(&pod, &sched.JobTemplate.Spec)
	backoff := sched.JobTemplate.BackoffLimit
	if backoff == nil {
		backoff = ptr(int32(2))
	}
	concurrency := batchv1.ConcurrencyPolicy(sched.ConcurrencyPolicy)
	if concurrency == "" {
		concurrency = batchv1.AllowConcurrent
	}
	podLabels := TriggerLabels(bc.Name, s.Name)
	spec := batchv1.CronJobSpec{
		Schedule:                   sched.Schedule,
		TimeZone:                   sched.TimeZone,
		StartingDeadlineSeconds:    sched.StartingDeadlineSeconds,
		ConcurrencyPolicy:          concurrency,
		Suspend:                    ptr(bc.Spec.Paused || sched.Suspend),
		SuccessfulJobsHistoryLimit: sched.SuccessfulJobsHistoryLimit,
		FailedJobsHistoryLimit:     sched.FailedJobsHistoryLimit,
		JobTemplate: batchv1.JobTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
			Spec: batchv1.JobSpec{
				BackoffLimit:          backoff,
				ActiveDeadlineSeconds: ptr(int64(triggerDeadline)),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
					Spec:       pod,
				},
			},
		},
	}
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{
			Name: names.TriggerCronJob(bc.Name, s.Name), Namespace: bc.Namespace,
			Labels: podLabels, OwnerReferences: ownedBy(bc),
			Annotations: map[string]string{SpecHashAnnotation: Hash(spec)},
		},
		Spec: spec,
	}
}
