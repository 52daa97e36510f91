// Package e2e holds end-to-end stories that need nothing but a kubeconfig:
// a cluster with Cairn's operator installed (`make deploy`, or the kind
// script in test/e2e/kind), a CSI driver with snapshot support, and a
// BackupStorage the stories may write to. The local cluster's integration
// tests (test/integration) and the kind suite (test/e2e/kind) run the same
// stories, each building an Env for its cluster, so the kind suite, which
// cannot run on machines without Docker, is compiled and exercised by the
// code that runs everywhere.
package e2e

import (
	"context"
	"testing"
	"time"

	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// Env is one cluster as the stories see it.
type Env struct {
	Kube      kubernetes.Interface
	Cairn     cairnclient.Interface
	Snapshots snapclient.Interface
	// Namespace is the story's own namespace, already created; it holds
	// PasswordSecret and, unless the storage is cluster-wide, the default
	// BackupStorage and RetentionPolicy the configurations fall back to.
	Namespace string
	// StorageClass is served by a CSI driver that can snapshot, and
	// SnapshotClass is that driver's default VolumeSnapshotClass.
	StorageClass, SnapshotClass string
	// Storage is the namespace's BackupStorage, and PasswordSecret holds
	// the repositories' CAIRN_PASSWORD.
	Storage, PasswordSecret string
	// ShellImage runs the stories' /bin/sh scripts, pulled with PullPolicy.
	ShellImage string
	PullPolicy corev1.PullPolicy
	// Diagnose describes the pods matching a selector when a step fails
	// (nil: only the objects' status is printed).
	Diagnose func(ctx context.Context, ns, selector string) string
}

// Clients connects Env's clients through cfg.
func (e *Env) Clients(cfg *rest.Config) error {
	var err error
	if e.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if e.Cairn, err = cairnclient.NewForConfig(cfg); err != nil {
		return err
	}
	e.Snapshots, err = snapclient.NewForConfig(cfg)
	return err
}

func (e *Env) diagnose(ctx context.Context, selector string) string {
	if e.Diagnose == nil {
		return ""
	}
	return e.Diagnose(ctx, e.Namespace, selector)
}

// shell runs script in a one-off Job with the claims mounted at
// /mnt/<claim>, as root (to prepare and inspect volumes), and waits for it.
func (e *Env) shell(ctx context.Context, t *testing.T, name, script string, claims ...string) {
	t.Helper()
	spec := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, AutomountServiceAccountToken: ptr.To(false),
		Containers: []corev1.Container{{Name: "sh", Image: e.ShellImage, ImagePullPolicy: e.PullPolicy, Command: []string{"/bin/sh", "-ec", script}}}}
	for _, c := range claims {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
		spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: c, MountPath: "/mnt/" + c})
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0),
		ActiveDeadlineSeconds: ptr.To[int64](240), Template: corev1.PodTemplateSpec{Spec: spec}}}
	if _, err := e.Kube.BatchV1().Jobs(e.Namespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Job %s: %v", name, err)
	}
	var done *batchv1.Job
	err := wait.PollUntilContextTimeout(ctx, time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		j, err := e.Kube.BatchV1().Jobs(e.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range j.Status.Conditions {
			if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
				done = j
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil || done == nil || done.Status.Succeeded == 0 {
		t.Fatalf("Job %s (%q) did not succeed: %v\n%s", name, script, err, e.diagnose(ctx, "job-name="+name))
	}
}

// waitBackup waits until BackupSession name is final and returns it.
func (e *Env) waitBackup(ctx context.Context, t *testing.T, name string) *corev1alpha1.BackupSession {
	t.Helper()
	var last *corev1alpha1.BackupSession
	err := wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		bs, err := e.Cairn.CoreV1alpha1().BackupSessions(e.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = bs
		return bs.Status.Phase.IsFinished(), nil
	})
	if err != nil {
		t.Fatalf("BackupSession %s did not finish: %v\nstatus %+v\n%s", name, err, last.Status, e.diagnose(ctx, jobs.LabelBackupSession+"="+name))
	}
	return last
}

// waitRestore waits until RestoreSession name is final and returns it.
func (e *Env) waitRestore(ctx context.Context, t *testing.T, name string) *corev1alpha1.RestoreSession {
	t.Helper()
	var last *corev1alpha1.RestoreSession
	err := wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		rs, err := e.Cairn.CoreV1alpha1().RestoreSessions(e.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = rs
		return rs.Status.Phase.IsFinished(), nil
	})
	if err != nil {
		t.Fatalf("RestoreSession %s did not finish: %v\nstatus %+v\n%s", name, err, last.Status, e.diagnose(ctx, jobs.LabelRestoreSession+"="+name))
	}
	return last
}

// waitConfigReady waits until BackupConfiguration name is Ready.
func (e *Env) waitConfigReady(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	var last *corev1alpha1.BackupConfiguration
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		bc, err := e.Cairn.CoreV1alpha1().BackupConfigurations(e.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = bc
		return bc.Status.Phase == corev1alpha1.BackupConfigurationReady && bc.Status.ObservedGeneration == bc.Generation, nil
	})
	if err != nil {
		t.Fatalf("BackupConfiguration %s not Ready: %v\nstatus %+v", name, err, last.Status)
	}
}

// check fails the test with msg when ok is false.
func check(t *testing.T, ok bool, format string, a ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, a...)
	}
}
