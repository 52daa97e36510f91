package maintlease

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

var leasesResource = coordinationv1.SchemeGroupVersion.WithResource("leases")

// apiServer is a fake API server whose Leases behave as the real one's:
// every write bumps the resourceVersion, an update or a delete with a
// stale one is a conflict, and create of an existing name AlreadyExists.
// Each client() is a clientset of its own on the same objects, so one
// acquirer may act from inside another's request. before, when set, runs
// once before the next write of its verb to a Lease takes effect: the
// other acquirer that slips in between a read and a write.
type apiServer struct {
	tracker clienttesting.ObjectTracker
	rv      int
	before  map[string]func()
}

func newAPIServer(objs ...runtime.Object) *apiServer {
	tr := clienttesting.NewObjectTracker(scheme.Scheme, scheme.Codecs.UniversalDecoder())
	for _, o := range objs {
		if err := tr.Add(o); err != nil {
			panic(err)
		}
	}
	return &apiServer{tracker: tr, before: map[string]func(){}}
}

// client is a clientset talking to s.
func (s *apiServer) client() *kubefake.Clientset {
	c := &kubefake.Clientset{}
	c.AddReactor("*", "leases", s.react)
	c.AddReactor("*", "*", clienttesting.ObjectReaction(s.tracker))
	return c
}

func (s *apiServer) react(a clienttesting.Action) (bool, runtime.Object, error) {
	verb := a.GetVerb()
	if f := s.before[verb]; f != nil {
		delete(s.before, verb)
		f()
	}
	tr := s.tracker
	ns := a.GetNamespace()
	switch verb {
	case "create":
		l := a.(clienttesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		s.rv++
		l.ResourceVersion, l.UID = strconv.Itoa(s.rv), types.UID("uid-"+strconv.Itoa(s.rv))
		if err := tr.Create(leasesResource, l, ns); err != nil {
			return true, nil, err
		}
		return true, l, nil
	case "update":
		l := a.(clienttesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		cur, err := tr.Get(leasesResource, ns, l.Name)
		if err != nil {
			return true, nil, err
		}
		if cur.(*coordinationv1.Lease).ResourceVersion != l.ResourceVersion {
			return true, nil, apierrors.NewConflict(leasesResource.GroupResource(), l.Name, errors.New("the object has been modified"))
		}
		s.rv++
		l.ResourceVersion = strconv.Itoa(s.rv)
		return true, l, tr.Update(leasesResource, l, ns)
	case "delete":
		a := a.(clienttesting.DeleteAction)
		cur, err := tr.Get(leasesResource, ns, a.GetName())
		if err != nil {
			return true, nil, err
		}
		if p := a.GetDeleteOptions().Preconditions; p != nil && p.ResourceVersion != nil && *p.ResourceVersion != cur.(*coordinationv1.Lease).ResourceVersion {
			return true, nil, apierrors.NewConflict(leasesResource.GroupResource(), a.GetName(), errors.New("precondition failed"))
		}
		return true, nil, tr.Delete(leasesResource, ns, a.GetName())
	}
	return false, nil, nil
}

// leaseWrites counts the Lease writes c made.
func leaseWrites(c *kubefake.Clientset) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetResource().Resource == "leases" && a.GetVerb() != "get" {
			n++
		}
	}
	return n
}

var web = cache.ObjectName{Namespace: "apps", Name: "web"}

const operatorNS = "cairn-system"

func newLeases(s *apiServer, now *time.Time) *Leases {
	l := New(s.client(), operatorNS)
	l.Now = func() time.Time { return *now }
	return l
}

func holder(t *testing.T, s *apiServer) string {
	t.Helper()
	l, err := s.client().CoordinationV1().Leases(operatorNS).Get(context.Background(), Name(web.Namespace, web.Name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return HolderOf(l)
}

func job(name string, cond batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name}}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
	}
	return j
}

func pod(jobName string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: jobName + "-abcde", Labels: map[string]string{batchv1.JobNameLabel: jobName}},
		Status: corev1.PodStatus{Phase: phase}}
}

func busyHolder(err error) (string, bool) {
	var b *BusyError
	if errors.As(err, &b) {
		return b.Holder, true
	}
	return "", false
}

// TestAcquireRelease: the first Job takes the Lease; taking it again is
// no write; another Job waits while the holder's Job runs; only the holder
// releases, and then the other takes it.
func TestAcquireRelease(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newAPIServer(job("retention-a", ""))
	l := newLeases(s, &now)
	if err := l.Acquire(ctx, web, "retention-a"); err != nil {
		t.Fatal(err)
	}
	got, err := s.client().CoordinationV1().Leases(operatorNS).Get(ctx, "cairn-maintenance-apps.web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if HolderOf(got) != "retention-a" || *got.Spec.LeaseDurationSeconds != int32(Grace/time.Second) || !got.Spec.RenewTime.Time.Equal(now) ||
		got.Annotations[AnnotationRepository] != "apps/web" || got.Labels["app.kubernetes.io/managed-by"] != "cairn" {
		t.Fatalf("Lease %+v", got)
	}
	before := leaseWrites(l.kube.(*kubefake.Clientset))
	if err := l.Acquire(ctx, web, "retention-a"); err != nil || leaseWrites(l.kube.(*kubefake.Clientset)) != before {
		t.Fatalf("taking a held Lease again: %v, %d writes", err, leaseWrites(l.kube.(*kubefake.Clientset))-before)
	}
	// Long after the grace: the holder's Job still runs, so it holds.
	now = now.Add(time.Hour)
	if h, ok := busyHolder(l.Acquire(ctx, web, "check-web-1")); !ok || h != "retention-a" {
		t.Fatalf("a second Job took the Lease of a running one (holder %q)", h)
	}
	if err := l.Release(ctx, web, "check-web-1"); err != nil || holder(t, s) != "retention-a" {
		t.Fatalf("a Job that does not hold the Lease released it: %v, holder %q", err, holder(t, s))
	}
	if err := l.Release(ctx, web, "retention-a"); err != nil {
		t.Fatal(err)
	}
	if h := holder(t, s); h != "<none>" {
		t.Fatalf("after release the Lease is held by %q", h)
	}
	if err := l.Release(ctx, web, "retention-a"); err != nil {
		t.Fatalf("releasing twice: %v", err)
	}
	if err := l.Acquire(ctx, web, "check-web-1"); err != nil || holder(t, s) != "check-web-1" {
		t.Fatalf("after release: %v, holder %q", err, holder(t, s))
	}
}

// TestTwoCreatorsOneWins: two workers both find no Lease; the second one's
// create lands between the first one's read and write. One holds it.
func TestTwoCreatorsOneWins(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newAPIServer()
	a, b := newLeases(s, &now), newLeases(s, &now)
	var errB error
	s.before["create"] = func() { errB = b.Acquire(ctx, web, "retention-b") }
	errA := a.Acquire(ctx, web, "retention-a")
	if errB != nil {
		t.Fatalf("the first writer failed: %v", errB)
	}
	if _, ok := busyHolder(errA); !ok {
		t.Fatalf("both acquired (second: %v)", errA)
	}
	if h := holder(t, s); h != "retention-b" {
		t.Fatalf("holder %q", h)
	}
}

// TestTwoTakeoversOneWins: the holder's Job finished without giving the
// Lease back; two workers read it and both update it. The update carrying
// the stale resourceVersion is refused.
func TestTwoTakeoversOneWins(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newAPIServer(job("retention-old", batchv1.JobComplete), pod("retention-old", corev1.PodSucceeded))
	a, b := newLeases(s, &now), newLeases(s, &now)
	if err := a.Acquire(ctx, web, "retention-old"); err != nil {
		t.Fatal(err)
	}
	var errB error
	s.before["update"] = func() { errB = b.Acquire(ctx, web, "check-web-1") }
	errA := a.Acquire(ctx, web, "retention-new")
	if errB != nil {
		t.Fatalf("the first taker failed: %v", errB)
	}
	if _, ok := busyHolder(errA); !ok {
		t.Fatalf("both took the Lease over (second: %v)", errA)
	}
	got, _ := s.client().CoordinationV1().Leases(operatorNS).Get(ctx, Name(web.Namespace, web.Name), metav1.GetOptions{})
	if HolderOf(got) != "check-web-1" || *got.Spec.LeaseTransitions != 1 {
		t.Fatalf("holder %q after %d transitions", HolderOf(got), *got.Spec.LeaseTransitions)
	}
	// The old holder's owner gives back what is no longer its own: no-op.
	if err := a.Release(ctx, web, "retention-old"); err != nil || holder(t, s) != "check-web-1" {
		t.Fatalf("the old holder released the new one's Lease: %v, holder %q", err, holder(t, s))
	}
}

// TestReleaseRacesTakeover: a release that read the Lease as its own while
// another worker took it over deletes nothing (its precondition fails).
func TestReleaseRacesTakeover(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newAPIServer(job("retention-a", batchv1.JobFailed))
	a, b := newLeases(s, &now), newLeases(s, &now)
	if err := a.Acquire(ctx, web, "retention-a"); err != nil {
		t.Fatal(err)
	}
	var errB error
	s.before["delete"] = func() { errB = b.Acquire(ctx, web, "retention-b") }
	if err := a.Release(ctx, web, "retention-a"); err != nil {
		t.Fatal(err)
	}
	if errB != nil || holder(t, s) != "retention-b" {
		t.Fatalf("takeover: %v; holder after the raced release %q", errB, holder(t, s))
	}
}

// TestStaleHolder: a holder whose Job does not exist keeps the Lease for
// the grace after it took it (its Job is being created) and while a pod
// of that Job still runs; then it is taken over.
func TestStaleHolder(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newAPIServer()
	l := newLeases(s, &now)
	if err := l.Acquire(ctx, web, "retention-gone"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(Grace / 2)
	if h, ok := busyHolder(l.Acquire(ctx, web, "retention-b")); !ok || h != "retention-gone" {
		t.Fatalf("taken over within the grace (holder %q)", h)
	}
	now = now.Add(Grace)
	running := pod("retention-gone", corev1.PodRunning)
	if _, err := s.client().CoreV1().Pods("apps").Create(ctx, running, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := busyHolder(l.Acquire(ctx, web, "retention-b")); !ok {
		t.Fatal("taken over while the deleted Job's pod still runs")
	}
	running.Status.Phase = corev1.PodFailed
	if _, err := s.client().CoreV1().Pods("apps").UpdateStatus(ctx, running, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx, web, "retention-b"); err != nil || holder(t, s) != "retention-b" {
		t.Fatalf("stale holder not taken over: %v, holder %q", err, holder(t, s))
	}
}

// TestName: names are valid, distinct for Repositories whose joined names
// would collide, and long ones are shortened.
func TestName(t *testing.T) {
	if Name("a-b", "c") == Name("a", "b-c") {
		t.Fatal("two Repositories share a Lease")
	}
	long := Name(strings.Repeat("n", 63), strings.Repeat("r", 253))
	if len(long) > 253 || !strings.HasPrefix(long, Prefix) {
		t.Fatalf("name %q (%d characters)", long, len(long))
	}
	if Name(strings.Repeat("n", 63), strings.Repeat("r", 252)+"s") == long {
		t.Fatal("shortened names collide")
	}
	if New(nil, "").Namespace(web) != "apps" {
		t.Fatal("without an operator namespace the Lease is not next to its Repository")
	}
}

// TestDropWithTheRepository: a deleted Repository's Lease goes at once when
// its holder Job vanished (no Grace: nothing will create it any more),
// ended, or is the Repository's own check (deleted with it); a session's
// retention Job that still runs keeps it until it gives it back.
func TestDropWithTheRepository(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const repoUID = types.UID("repo-uid")
	check := job("check-web-1", "")
	check.OwnerReferences = []metav1.OwnerReference{{APIVersion: "storage.cairn.dev/v1alpha1", Kind: "Repository", Name: "web", UID: repoUID, Controller: ptr.To(true)}}
	for _, tc := range []struct {
		name   string
		holder string
		objs   []runtime.Object
		kept   bool
	}{
		{"holder vanished moments ago", "retention-gone", nil, false},
		{"holder ended", "retention-done", []runtime.Object{job("retention-done", batchv1.JobComplete)}, false},
		{"holder is the Repository's check", "check-web-1", []runtime.Object{check}, false},
		{"holder is a running retention", "retention-running", []runtime.Object{job("retention-running", ""), pod("retention-running", corev1.PodRunning)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newAPIServer(tc.objs...)
			l := newLeases(s, &now)
			if err := l.Acquire(ctx, web, tc.holder); err != nil {
				t.Fatal(err)
			}
			if err := l.Drop(ctx, web, repoUID); err != nil {
				t.Fatal(err)
			}
			if kept := holder(t, s) != "<none>"; kept != tc.kept {
				t.Fatalf("Lease kept %v, want %v", kept, tc.kept)
			}
		})
	}
	s := newAPIServer()
	if err := newLeases(s, &now).Drop(ctx, web, repoUID); err != nil {
		t.Fatalf("a Repository without a Lease: %v", err)
	}
}
