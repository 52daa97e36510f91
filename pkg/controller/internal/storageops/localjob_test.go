package storageops

import (
	"context"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
)

func localStorage(name string) *storagev1.BackupStorage {
	return &storagev1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: "bs-uid", Generation: 3},
		Spec: storagev1.BackupStorageSpec{Storage: storagev1.Backend{Provider: storagev1.ProviderLocal, Local: &storagev1.LocalSpec{
			MountPath: "/backup/", SubPath: "cluster-a",
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "nfs"}}}}},
	}
}

func TestLocalJobSpec(t *testing.T) {
	bs := localStorage("store")
	uid := int64(1000)
	bs.Spec.RuntimeSettings = &common.PodRuntimeSettings{NodeSelector: map[string]string{"disk": "yes"}, PriorityClassName: "low",
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: &uid, FSGroup: &uid}}
	j := LocalJob{Storage: bs, Verb: "init", Key: "bs-uid/3", Args: []string{"--cluster", "c"}, Labels: map[string]string{LabelRepositoryName: "web"}}
	job := j.Build("cairn:abc")
	if job.Name != j.Name() || job.Name != (LocalJob{Storage: bs, Verb: "init", Key: "bs-uid/3"}).Name() {
		t.Fatalf("name %q is not deterministic", job.Name)
	}
	if other := (LocalJob{Storage: bs, Verb: "init", Key: "bs-uid/4"}).Name(); other == job.Name {
		t.Fatal("another key, the same name")
	}
	long := LocalJob{Storage: localStorage(strings.Repeat("x", 253)), Verb: "record", Key: "k"}.Name()
	if len(long) > 63 {
		t.Fatalf("name %q is longer than 63", long)
	}
	if job.Namespace != "ns" || len(job.OwnerReferences) != 1 || job.OwnerReferences[0].Kind != "BackupStorage" || !*job.OwnerReferences[0].Controller {
		t.Fatalf("Job %s/%s owners %+v: want it in the storage's namespace, owned by it", job.Namespace, job.Name, job.OwnerReferences)
	}
	if *job.Spec.BackoffLimit != 0 || job.Spec.ActiveDeadlineSeconds == nil || job.Spec.TTLSecondsAfterFinished == nil {
		t.Fatalf("Job spec %+v: want no retries, a deadline and a TTL", job.Spec)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	if got := strings.Join(c.Args, " "); got != "storage init --url file:///backup --cluster c" || c.Image != "cairn:abc" {
		t.Fatalf("container %s %q", c.Image, got)
	}
	if m := c.VolumeMounts[0]; m.MountPath != "/backup" || m.SubPath != "cluster-a" || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "nfs" {
		t.Fatalf("mount %+v, volume %+v", m, pod.Volumes[0])
	}
	sc := c.SecurityContext
	if !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || sc.Capabilities.Drop[0] != "ALL" || *pod.AutomountServiceAccountToken {
		t.Fatalf("container security %+v, token %v", sc, *pod.AutomountServiceAccountToken)
	}
	if pod.NodeSelector["disk"] != "yes" || pod.PriorityClassName != "low" || *pod.SecurityContext.FSGroup != 1000 || pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("runtimeSettings not applied: %+v", pod)
	}
	for _, l := range []map[string]string{job.Labels, job.Spec.Template.Labels} {
		if l["app.kubernetes.io/managed-by"] != "cairn" || l[LabelStorageVerb] != "init" || l[LabelRepositoryName] != "web" {
			t.Fatalf("labels %v", l)
		}
	}
}

func TestLocalJobsRun(t *testing.T) {
	ctx := context.Background()
	bs := localStorage("store")
	j := LocalJob{Storage: bs, Verb: "wipe", Key: "k"}
	kube := kubefake.NewClientset()
	jobs := informers.NewSharedInformerFactory(kube, 0).Batch().V1().Jobs()
	l := LocalJobs{Kube: kube, Jobs: jobs.Lister(), Image: "cairn:abc"}
	sync := func() {
		t.Helper()
		_ = jobs.Informer().GetIndexer().Replace(nil, "")
		list, _ := kube.BatchV1().Jobs("ns").List(ctx, metav1.ListOptions{})
		for i := range list.Items {
			_ = jobs.Informer().GetIndexer().Add(&list.Items[i])
		}
	}
	finish := func(cond batchv1.JobConditionType, message string) {
		t.Helper()
		job, err := kube.BatchV1().Jobs("ns").Get(ctx, j.Name(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		job.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"}}
		if _, err := kube.BatchV1().Jobs("ns").UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: j.Name() + "-x", Labels: map[string]string{batchv1.JobNameLabel: j.Name()}},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: message}}}}}}
		if _, err := kube.CoreV1().Pods("ns").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		sync()
	}

	res, running, err := l.Run(ctx, j)
	if err != nil || res != nil || !strings.Contains(running, "started") {
		t.Fatalf("first run: %v %q %v; want the Job started", res, running, err)
	}
	sync()
	if res, running, _ = l.Run(ctx, j); res != nil || !strings.Contains(running, "is running") {
		t.Fatalf("while running: %v %q", res, running)
	}
	unscheduled := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pending", Labels: map[string]string{batchv1.JobNameLabel: j.Name()}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: "0/1 nodes match the node selector"}}}}
	if _, err := kube.CoreV1().Pods("ns").Create(ctx, unscheduled, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, running, _ = l.Run(ctx, j); res != nil || !strings.Contains(running, "0/1 nodes match") {
		t.Fatalf("unscheduled: %v %q; want it running, saying why it waits", res, running)
	}
	_ = kube.CoreV1().Pods("ns").Delete(ctx, "pending", metav1.DeleteOptions{})
	finish(batchv1.JobComplete, string(blob.JobResult{Deleted: 7}.Encode()))
	if res, _, err = l.Run(ctx, j); err != nil || res == nil || res.Deleted != 7 || res.Err() != nil {
		t.Fatalf("completed: %+v %v", res, err)
	}

	// A Job that failed without a result says where to look, and goes so
	// the next run starts a new one.
	if err := kube.BatchV1().Jobs("ns").Delete(ctx, j.Name(), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = kube.CoreV1().Pods("ns").Delete(ctx, j.Name()+"-x", metav1.DeleteOptions{})
	sync()
	_, _, _ = l.Run(ctx, j)
	finish(batchv1.JobFailed, "")
	res, _, err = l.Run(ctx, j)
	if err != nil || res == nil || res.Reason != ReasonJobFailed || !strings.Contains(res.Message, "BackoffLimitExceeded") || !strings.Contains(res.Message, "kubectl logs -n ns job/"+j.Name()) {
		t.Fatalf("failed: %+v %v", res, err)
	}
	if _, err := kube.BatchV1().Jobs("ns").Get(ctx, j.Name(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("failed Job kept: %v", err)
	}
}

func TestLocalJobsFailAPodThatCannotStart(t *testing.T) {
	ctx := context.Background()
	j := LocalJob{Storage: localStorage("store"), Verb: "init", Key: "k"}
	kube := kubefake.NewClientset()
	jobs := informers.NewSharedInformerFactory(kube, 0).Batch().V1().Jobs()
	l := LocalJobs{Kube: kube, Jobs: jobs.Lister(), Image: "cairn:abc"}
	if _, _, err := l.Run(ctx, j); err != nil {
		t.Fatal(err)
	}
	job, _ := kube.BatchV1().Jobs("ns").Get(ctx, j.Name(), metav1.GetOptions{})
	_ = jobs.Informer().GetIndexer().Add(job)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{batchv1.JobNameLabel: j.Name()}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Image: "cairn:abc",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}}}}}
	if _, err := kube.CoreV1().Pods("ns").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, _, err := l.Run(ctx, j)
	if err != nil || res == nil || res.Reason != ReasonJobFailed || !strings.Contains(res.Message, "cairn:abc cannot be pulled") {
		t.Fatalf("stuck pod: %+v %v; want a failure naming the image", res, err)
	}
	if _, err := kube.BatchV1().Jobs("ns").Get(ctx, j.Name(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("stuck Job kept: %v", err)
	}
}
