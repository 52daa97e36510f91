package repository

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/maintlease"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// finishCheck ends check Job name as the Job controller and kubelet
// would: Complete or Failed at at, its pod's termination message msg.
func (f *fixture) finishCheck(name string, complete bool, at time.Time, msg string, exit int32) {
	f.t.Helper()
	job, err := f.kube.BatchV1().Jobs("apps").Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	t := metav1.NewTime(at)
	if complete {
		job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		job.Status.CompletionTime = &t
	} else {
		job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: t}}
	}
	if _, err := f.kube.BatchV1().Jobs("apps").UpdateStatus(f.ctx, job, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.jobIndex.Update(job); err != nil {
		f.t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name + "-x", Labels: map[string]string{batchv1.JobNameLabel: name}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "check", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: msg}}}}}}
	if _, err := f.kube.CoreV1().Pods("apps").Create(f.ctx, pod, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// loadRBAC puts the RBAC objects made so far in the informers' indexers,
// as their watches would.
func (f *fixture) loadRBAC() {
	f.t.Helper()
	roles, _ := f.kube.RbacV1().Roles("").List(f.ctx, metav1.ListOptions{})
	for i := range roles.Items {
		if err := f.managed.Rbac().V1().Roles().Informer().GetIndexer().Update(&roles.Items[i]); err != nil {
			f.t.Fatal(err)
		}
	}
	bindings, _ := f.kube.RbacV1().RoleBindings("").List(f.ctx, metav1.ListOptions{})
	for i := range bindings.Items {
		if err := f.managed.Rbac().V1().RoleBindings().Informer().GetIndexer().Update(&bindings.Items[i]); err != nil {
			f.t.Fatal(err)
		}
	}
}

// requestCheck annotates the Repository to ask for a check now.
func (f *fixture) requestCheck() {
	f.t.Helper()
	r := f.get("apps", "web")
	r.Annotations = map[string]string{AnnotationCheckRequested: f.now.Format(time.RFC3339)}
	r, err := f.cairn.StorageV1alpha1().Repositories("apps").Update(f.ctx, r, metav1.UpdateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.repos.Update(r); err != nil {
		f.t.Fatal(err)
	}
}

// leaseHolder is the Job holding the repository apps/web's maintenance
// Lease ("" when there is none).
func (f *fixture) leaseHolder() string {
	f.t.Helper()
	l, err := f.kube.CoordinationV1().Leases("apps").Get(f.ctx, maintlease.Name("apps", "web"), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return maintlease.HolderOf(l)
}

func (f *fixture) checkJob() *batchv1.Job {
	f.t.Helper()
	list, err := f.kube.BatchV1().Jobs("apps").List(f.ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) == 0 {
		f.t.Fatalf("no check Job (%v)", err)
	}
	j := &list.Items[len(list.Items)-1]
	if err := f.jobIndex.Update(j); err != nil {
		f.t.Fatal(err)
	}
	return j
}

// TestIntegrityCheck: a requested check starts a Job once the repository
// holds a backup, waits while a retention Job runs, and its report sets
// status.integrity, the condition and an Event: clean, then damaged, then
// a check that could not run (which keeps the last verdict).
func TestIntegrityCheck(t *testing.T) {
	repo := newRepository("web", "r-1", "apps/web")
	repo.CreationTimestamp = metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	f := newFixture(t, readyStorage(), password(KeyPassword), repo)
	// Nothing due: the first periodic check is a week after creation.
	if requeue := f.sync("apps", "web"); requeue != recheckReady {
		t.Fatalf("requeue %v", requeue)
	}
	f.now = time.Date(2030, 1, 9, 0, 0, 0, 0, time.UTC)
	f.sync("apps", "web")
	if list, _ := f.kube.BatchV1().Jobs("apps").List(f.ctx, metav1.ListOptions{}); len(list.Items) != 0 {
		t.Fatal("a check started on a repository without a backup")
	}
	snap := snapAt("web-daily-1", storagev1.SnapshotSucceeded, f.now.Add(-time.Hour), 10, 10)
	if err := f.c.snapIndex.Add(snap); err != nil {
		t.Fatal(err)
	}
	// A session's retention Job holds the repository's maintenance Lease
	// and runs: the check waits. The informer cache does not show the Job
	// (a stale cache): the Lease alone keeps the check out.
	leases := maintlease.New(f.kube, "")
	repoName := cache.ObjectName{Namespace: "apps", Name: "web"}
	retention := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "retention-x",
		Labels: map[string]string{jobs.LabelRepository: "web", "app.kubernetes.io/component": jobs.ComponentRetention}}}
	if err := leases.Acquire(f.ctx, repoName, retention.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := f.kube.BatchV1().Jobs("apps").Create(f.ctx, retention, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if requeue := f.sync("apps", "web"); requeue != maintenanceWait {
		t.Fatalf("requeue %v while retention runs", requeue)
	}
	if err := f.kube.BatchV1().Jobs("apps").Delete(f.ctx, retention.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := leases.Release(f.ctx, repoName, retention.Name); err != nil {
		t.Fatal(err)
	}
	if requeue := f.sync("apps", "web"); requeue != checkPoll {
		t.Fatalf("requeue %v after starting the check", requeue)
	}
	job := f.checkJob()
	if job.Spec.Template.Spec.ServiceAccountName != "cairn-check-web" {
		t.Fatalf("check Job %s runs as %q", job.Name, job.Spec.Template.Spec.ServiceAccountName)
	}
	if h := f.leaseHolder(); h != job.Name {
		t.Fatalf("the maintenance Lease is held by %q while check Job %s runs", h, job.Name)
	}
	if _, err := f.kube.RbacV1().Roles("storage").List(f.ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	f.finishCheck(job.Name, true, f.now.Add(time.Minute), string((&jobs.CheckReport{Snapshots: 1, Packs: 4, PacksRead: 1}).Encode()), 0)
	f.loadRBAC()
	f.sync("apps", "web")
	got := f.get("apps", "web")
	f.expect(got, storagev1.RepositoryReady, storagev1.ConditionIntegrityVerified, ReasonCheckPassed, "4 packs (1 read and verified)")
	if got.Status.Integrity == nil || !*got.Status.Integrity || !got.Status.LastIntegrityCheckTime.Time.Equal(f.now.Add(time.Minute)) {
		t.Fatalf("integrity %v at %v", got.Status.Integrity, got.Status.LastIntegrityCheckTime)
	}
	f.expectEvent(EventCheckPassed, "no damage")
	if h := f.leaseHolder(); h != "" {
		t.Fatalf("the maintenance Lease is still held by %q after the check", h)
	}
	if roles, _ := f.kube.RbacV1().Roles("storage").List(f.ctx, metav1.ListOptions{}); len(roles.Items) != 0 {
		t.Fatalf("the check's Role in the storage namespace was left: %v", roles.Items)
	}
	f.writes()
	if f.sync("apps", "web"); f.writes() != 0 {
		t.Fatal("writes after the check was recorded")
	}

	// Asked for again: the damaged report is a False condition and false.
	f.now = f.now.Add(time.Hour)
	f.requestCheck()
	f.sync("apps", "web")
	job = f.checkJob()
	damaged := &jobs.CheckReport{Snapshots: 1, Packs: 3, ProblemCount: 2, Problems: []jobs.CheckProblem{{Object: "data/ab/abcd", Message: "pack is missing"}}}
	f.finishCheck(job.Name, false, f.now.Add(time.Minute), string(damaged.Encode()), 12)
	f.sync("apps", "web")
	got = f.get("apps", "web")
	f.expect(got, storagev1.RepositoryReady, storagev1.ConditionIntegrityVerified, ReasonDamageFound, "2 problems (data/ab/abcd: pack is missing)")
	if got.Status.Integrity == nil || *got.Status.Integrity {
		t.Fatalf("integrity %v after damage", got.Status.Integrity)
	}
	f.expectEvent(EventDamageFound, "data/ab/abcd")

	// A check that cannot run keeps the verdict and says why.
	f.now = f.now.Add(time.Hour)
	f.requestCheck()
	f.sync("apps", "web")
	job = f.checkJob()
	f.finishCheck(job.Name, false, f.now.Add(time.Minute), "wrong password: the password in Secret apps/pw does not open the repository", 11)
	f.sync("apps", "web")
	got = f.get("apps", "web")
	f.expect(got, storagev1.RepositoryReady, storagev1.ConditionIntegrityVerified, ReasonCheckFailed, "wrong password")
	if got.Status.Integrity == nil || *got.Status.Integrity {
		t.Fatalf("integrity %v after a failed check, want the last verdict (false)", got.Status.Integrity)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, storagev1.ConditionIntegrityVerified); !strings.Contains(c.Message, "kubectl logs") {
		t.Fatalf("condition %q does not say where to look", c.Message)
	}
}

func TestCheckDue(t *testing.T) {
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	last := metav1.NewTime(created.Add(48 * time.Hour))
	for name, c := range map[string]struct {
		annotations map[string]string
		last        *metav1.Time
		want        time.Time
		ok          bool
	}{
		"first, a week after creation": {nil, nil, created.Add(DefaultCheckInterval), true},
		"a week after the last":        {nil, &last, last.Add(DefaultCheckInterval), true},
		"own interval":                 {map[string]string{AnnotationCheckInterval: "24h"}, &last, last.Add(24 * time.Hour), true},
		"off":                          {map[string]string{AnnotationCheckInterval: "0"}, &last, time.Time{}, false},
		"asked for, though off":        {map[string]string{AnnotationCheckInterval: "0", AnnotationCheckRequested: "2030-01-05T00:00:00Z"}, &last, time.Date(2030, 1, 5, 0, 0, 0, 0, time.UTC), true},
		"asked for before the last":    {map[string]string{AnnotationCheckRequested: "2030-01-02T00:00:00Z"}, &last, last.Add(DefaultCheckInterval), true},
		"unreadable interval":          {map[string]string{AnnotationCheckInterval: "weekly"}, nil, created.Add(DefaultCheckInterval), true},
	} {
		repo := &storagev1.Repository{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created), Annotations: c.annotations},
			Status: storagev1.RepositoryStatus{LastIntegrityCheckTime: c.last}}
		got, ok := checkDue(repo)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("%s: %v %v, want %v %v", name, got, ok, c.want, c.ok)
		}
	}
}
