package backupsession

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// maxWritesPerSession is issue 11's budget for the operator's API writes
// of one successful session (the runner's progress patches apart).
const maxWritesPerSession = 15

// TestWritesPerSuccessfulSession walks one session of a PVC into one
// repository from creation to Succeeded, as the informers would deliver
// it (the runner starting, finishing, its Job completing; retention
// keeping everything), and counts the operator's API writes, Events
// included: the number make bench-sessions measures on a cluster, without
// the other work a shared operator does. Each step is followed by a sync
// on the copy the informer held before it, as on a cluster, where the
// objects a sync creates wake the session before the informer delivered
// its status. A storage in another namespace costs a Role and a
// RoleBinding there, created and deleted: four more.
func TestWritesPerSuccessfulSession(t *testing.T) {
	for _, tc := range []struct {
		storageNS string
		max       int
	}{{"app", maxWritesPerSession}, {"infra", maxWritesPerSession + 4}} {
		t.Run("storage in "+tc.storageNS, func(t *testing.T) {
			if total, byKind := writesOfOneSession(t, tc.storageNS); total > tc.max {
				t.Fatalf("%d writes per successful session, want at most %d: %s", total, tc.max, byKind)
			}
		})
	}
}

// writesOfOneSession runs the fixture's session to success with its
// BackupStorage in storageNS and returns the writes it made, in all and
// by verb and resource.
func writesOfOneSession(t *testing.T, storageNS string) (int, string) {
	k, c := setup(func(bc *corev1alpha1.BackupConfiguration) {
		bc.Status.DefaultBackend = &corev1alpha1.ResolvedBackend{
			StorageRef: common.ObjectReference{Namespace: storageNS, Name: "s3"}, RetentionPolicy: common.ObjectReference{Namespace: "app", Name: "keep"}}
	})
	for _, o := range c {
		switch o := o.(type) {
		case *storagev1alpha1.BackupStorage:
			o.Namespace = storageNS
		case *storagev1alpha1.Repository:
			o.Spec.StorageRef.Namespace = storageNS
		case *corev1alpha1.BackupSession:
			o.ResourceVersion = "1"
		}
	}
	c = append(c, &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "keep"},
		Spec: storagev1alpha1.RetentionPolicySpec{MaxRetentionPeriod: "30d"}})
	f := newFixture(t, k, c)
	numberSessionWrites(f, 1)
	byKind := map[string]int{}
	total := 0
	step := func(what string) {
		before := f.cached("web-daily-1")
		writes := f.sync("web-daily-1")
		_, again := f.syncOn(before)
		for _, a := range append(writes, again...) {
			key := strings.ToUpper(a.GetVerb()) + " " + a.GetResource().Resource
			if s := a.GetSubresource(); s != "" {
				key += "/" + s
			}
			byKind[key]++
			total++
		}
		t.Logf("after %s: %d writes", what, total)
	}
	step("creation")
	f.runnerSets(snapName, jobs.ComponentDump, storagev1alpha1.ComponentRunning)
	step("the runner started")
	f.runnerSets(snapName, jobs.ComponentDump, storagev1alpha1.ComponentSucceeded)
	f.setJob(names.BackupJob("web-daily-1", "web-repo", jobs.ComponentDump), batchv1.JobComplete)
	for i := 0; i < 4 && !f.session("web-daily-1").Status.Phase.IsFinished(); i++ {
		step("the runner finished")
	}
	step("final")
	if bs := f.session("web-daily-1"); bs.Status.Phase != corev1alpha1.BackupSessionSucceeded {
		t.Fatalf("phase %s, conditions %+v", bs.Status.Phase, bs.Status.Conditions)
	}
	if writes := f.sync("web-daily-1"); len(writes) != 0 {
		t.Fatalf("a finished session still writes: %v", writes)
	}
	// The Role and RoleBinding in the session's namespace go with the
	// runner's ServiceAccount, which owns them.
	roles, _ := f.Kube.RbacV1().Roles("app").List(f.Ctx, metav1.ListOptions{})
	for _, r := range roles.Items {
		if len(r.OwnerReferences) != 1 || r.OwnerReferences[0].Kind != "ServiceAccount" {
			t.Fatalf("runner Role %s is owned by %+v, want its ServiceAccount", r.Name, r.OwnerReferences)
		}
	}
	events := len(f.Recorder.Events)
	byKind["POST events"] = events
	total += events
	keys := make([]string, 0, len(byKind))
	for k := range byKind {
		keys = append(keys, fmt.Sprintf("%s %d", k, byKind[k]))
	}
	sort.Strings(keys)
	t.Logf("%d writes per successful session: %s", total, strings.Join(keys, ", "))
	return total, strings.Join(keys, ", ")
}

// runnerSets writes a component's phase as the runner does (pkg/runner):
// the runner of a Snapshot's only component writes the Snapshot's phase
// with it.
func (f *fixture) runnerSets(snapshot, comp string, phase storagev1alpha1.ComponentPhase) {
	f.t.Helper()
	s := f.snapshot(snapshot)
	if s.Annotations[storagev1alpha1.ComponentsAnnotation] != comp {
		f.setComponent(snapshot, comp, phase, "")
		return
	}
	if s.Status.Components == nil {
		s.Status.Components = map[string]storagev1alpha1.Component{}
	}
	s.Status.Components[comp] = storagev1alpha1.Component{Phase: phase}
	s.Status.TotalComponents, s.Status.Phase = 1, storagev1alpha1.SnapshotPhase(phase)
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("app").UpdateStatus(f.Ctx, s, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.Refresh()
}
