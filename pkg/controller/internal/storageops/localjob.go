package storageops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
)

// The operator cannot mount a local BackupStorage's volume (NFS, a PVC, a
// hostPath), so what it does to one runs in a short Job that mounts it:
// `cairn storage init|record|wipe` from the runner image, whose result
// comes back in the pod's termination message.

// Labels of a local storage Job: its verb, and for a Repository's Job the
// Repository it works for (the Job runs in the storage's namespace, owned
// by the storage, so an owner reference cannot name the Repository).
const (
	LabelStorageVerb         = "cairn.dev/storage-job"
	LabelRepositoryNamespace = "cairn.dev/repository-namespace"
	LabelRepositoryName      = "cairn.dev/repository"
)

// Bounds of a storage Job: it lists or deletes files and is done in
// seconds to minutes; a volume that never mounts fails it, not hangs it.
const (
	localJobDeadline = 5 * 60  // seconds, well within GiveUpAfter
	localJobTTL      = 10 * 60 // seconds after it finished
	volumeName       = "storage"
)

// LocalJobPoll is how often a running storage Job is looked at besides its
// own events: a pod that can never start changes no Job status.
const LocalJobPoll = 30 * time.Second

// LocalJob is one `cairn storage` run on a local BackupStorage.
type LocalJob struct {
	// Storage is mounted, gives the namespace and owns the Job.
	Storage *storagev1.BackupStorage
	// Verb is init, record or wipe; Args follow it (after --url).
	Verb string
	Args []string
	// Key makes the name: the same Key gives the same Job, so a restart
	// or a stale cache never runs a second one.
	Key string
	// Labels are added to the Job's and its pod's.
	Labels map[string]string
}

// Name is the Job's deterministic name: the verb, the storage's name (as
// far as it fits) and a hash of the key.
func (j LocalJob) Name() string {
	sum := sha256.Sum256([]byte(j.Key))
	base := "cairn-storage-" + j.Verb + "-" + j.Storage.Name
	if len(base) > 63-11 {
		base = strings.TrimRight(base[:63-11], "-.")
	}
	return base + "-" + hex.EncodeToString(sum[:])[:10]
}

// Build is the Job: the runner image, non-root with a read-only root file
// system and no capabilities, no API token, the volume at its mountPath
// (and subPath), the storage's runtimeSettings on the pod.
func (j LocalJob) Build(image string) *batchv1.Job {
	bs, local := j.Storage, j.Storage.Spec.Storage.Local
	mount := path.Clean(local.MountPath)
	labels := map[string]string{controller.LabelManagedBy: controller.ManagedByValue, LabelStorageVerb: j.Verb}
	for k, v := range j.Labels {
		labels[k] = v
	}
	pod := corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Volumes: []corev1.Volume{{Name: volumeName, VolumeSource: *local.VolumeSource.DeepCopy()}},
		Containers: []corev1.Container{{
			Name:  "storage",
			Image: image,
			Args:  append([]string{"storage", j.Verb, "--url", "file://" + mount}, j.Args...),
			VolumeMounts: []corev1.VolumeMount{{Name: volumeName, MountPath: mount, SubPath: local.SubPath,
				ReadOnly: false}},
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			SecurityContext: &corev1.SecurityContext{
				RunAsNonRoot: ptr.To(true), ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
		}},
	}
	if rs := bs.Spec.RuntimeSettings; rs != nil {
		pod.NodeSelector = rs.NodeSelector
		pod.Tolerations = rs.Tolerations
		pod.Affinity = rs.Affinity
		pod.PriorityClassName = rs.PriorityClassName
		pod.ImagePullSecrets = rs.ImagePullSecrets
		pod.ServiceAccountName = rs.ServiceAccountName
		if rs.SecurityContext != nil {
			// e.g. runAsUser/fsGroup the volume's owner needs.
			pod.SecurityContext = rs.SecurityContext.DeepCopy()
		}
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: bs.Namespace, Name: j.Name(), Labels: labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(bs, storagev1.SchemeGroupVersion.WithKind("BackupStorage"))}},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To[int64](localJobDeadline),
			TTLSecondsAfterFinished: ptr.To[int32](localJobTTL),
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
}

// LocalJobs runs storage Jobs and reads their results.
type LocalJobs struct {
	Kube  kubernetes.Interface
	Jobs  batchlisters.JobLister
	Image string
}

// ReasonJobFailed: a storage Job ended without a result (it could not
// mount the volume, was out of time, or crashed).
const ReasonJobFailed = "StorageJobFailed"

// Run creates the Job if it does not exist and returns its result once it
// finished; running says what it waits for while it has not. A failed
// result's Job is deleted, so the next Run (after a backoff) tries again.
func (l LocalJobs) Run(ctx context.Context, j LocalJob) (res *blob.JobResult, running string, err error) {
	want := j.Build(l.Image)
	job, err := l.Jobs.Jobs(want.Namespace).Get(want.Name)
	if apierrors.IsNotFound(err) {
		_, err = l.Kube.BatchV1().Jobs(want.Namespace).Create(ctx, want, metav1.CreateOptions{FieldManager: controller.FieldManager})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, "", fmt.Errorf("creating Job %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil, fmt.Sprintf("Job %s/%s was started", want.Namespace, want.Name), nil
	}
	if err != nil {
		return nil, "", err
	}
	finished, failure := jobFinished(job)
	if !finished {
		running, stuck, err := l.progress(ctx, job)
		if err != nil || stuck == "" {
			return nil, running, err
		}
		res = &blob.JobResult{Reason: ReasonJobFailed, Message: fmt.Sprintf("Job %s/%s cannot run: its %s; fix that (spec.runtimeSettings, the operator's --runner-image), and a new Job is started", job.Namespace, job.Name, stuck)}
	} else if res, err = l.result(ctx, job, failure); err != nil {
		return nil, "", err
	}
	if res.Reason != "" {
		err := l.Kube.BatchV1().Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("deleting failed Job %s/%s: %w", job.Namespace, job.Name, err)
		}
	}
	return res, "", nil
}

// progress says what a Job that has not finished waits for, and what
// stops it for good (a container that cannot start: an image that cannot
// be pulled, a missing Secret), so that fails at once rather than at the
// deadline.
func (l LocalJobs) progress(ctx context.Context, job *batchv1.Job) (running, stuck string, err error) {
	running = fmt.Sprintf("Job %s/%s is running", job.Namespace, job.Name)
	pods, err := l.Kube.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + job.Name})
	if err != nil {
		return "", "", fmt.Errorf("listing the pods of Job %s/%s: %w", job.Namespace, job.Name, err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if why := jobwatch.PodStuck(p); why != "" {
			return running, "pod " + p.Name + ": " + why, nil
		}
		if _, why := jobwatch.Unscheduled(p); why != "" {
			running += "; its pod is not scheduled yet: " + why
		}
	}
	return running, "", nil
}

func jobFinished(job *batchv1.Job) (finished bool, failure string) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, ""
		case batchv1.JobFailed:
			return true, c.Reason + ": " + c.Message
		}
	}
	return false, ""
}

// result reads the termination message of the Job's pod. The pods are
// listed from the API once, when the Job finished: the operator does not
// cache them.
func (l LocalJobs) result(ctx context.Context, job *batchv1.Job, failure string) (*blob.JobResult, error) {
	pods, err := l.Kube.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + job.Name})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of Job %s/%s: %w", job.Namespace, job.Name, err)
	}
	var last string
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			t := cs.State.Terminated
			if t == nil || t.Message == "" {
				continue
			}
			r, perr := blob.ParseJobResult([]byte(t.Message))
			if perr == nil {
				return r, nil
			}
			last = strings.TrimSpace(t.Message)
		}
	}
	msg := fmt.Sprintf("Job %s/%s ended without a result", job.Namespace, job.Name)
	if failure != "" {
		msg += " (" + failure + ")"
	}
	if last != "" {
		msg += ": " + last
	}
	return &blob.JobResult{Reason: ReasonJobFailed, Message: msg + "; check that the volume mounts and is writable by the pod's user (spec.runtimeSettings.securityContext), and `kubectl logs -n " + job.Namespace + " job/" + job.Name + "`"}, nil
}

// JobObject is the object of a Job informer event, tombstones unwrapped;
// ok is false for anything else.
func JobObject(obj any) (job metav1.Object, ok bool) {
	if d, isTomb := obj.(cache.DeletedFinalStateUnknown); isTomb {
		obj = d.Obj
	}
	job, ok = obj.(metav1.Object)
	return job, ok
}
