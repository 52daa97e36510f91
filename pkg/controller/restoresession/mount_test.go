package restoresession

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

func claim(mode corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{mode}}}
}

func claimUser(name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
		Spec: corev1.PodSpec{NodeName: node, Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

// A volume the restore Job could never mount fails its component before any
// Job exists, saying which claim, which pod holds it and what to do.
func TestUnmountableVolumeFailsTheComponentAtOnce(t *testing.T) {
	cases := []struct {
		name string
		kube []runtime.Object
		want string // "" : the Job is created
	}{
		{"ReadWriteOncePod in use", []runtime.Object{claim(corev1.ReadWriteOncePod), claimUser("web-1", "n1")},
			"PersistentVolumeClaim data is ReadWriteOncePod and pod web-1 uses it"},
		{"ReadWriteOncePod unused", []runtime.Object{claim(corev1.ReadWriteOncePod)}, ""},
		{"ReadWriteOnce attached to another node", []runtime.Object{claim(corev1.ReadWriteOnce), claimUser("a", "n1"), claimUser("b", "n2")},
			"attached to node n2, where pod b uses it, but the restore Job must run on node n1"},
		{"ReadWriteOnce on the Job's node", []runtime.Object{claim(corev1.ReadWriteOnce), claimUser("a", "n1")}, ""},
		{"ReadWriteMany on two nodes", []runtime.Object{claim(corev1.ReadWriteMany), claimUser("a", "n1"), claimUser("b", "n2")}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := setup(corev1alpha1.LatestSnapshot)
			f := newFixture(t, tc.kube, c)
			rs := f.sync()
			if tc.want == "" {
				if f.jobCount() != 1 || len(rs.Status.Components) != 0 {
					t.Fatalf("%d Jobs, components %+v; want the Job", f.jobCount(), rs.Status.Components)
				}
				return
			}
			comp := rs.Status.Components[jobs.ComponentDump]
			if comp.Phase != storagev1alpha1.ComponentFailed || !strings.Contains(comp.Error, tc.want) || f.jobCount() != 0 {
				t.Fatalf("component %+v, %d Jobs; want Failed saying %q and no Job", comp, f.jobCount(), tc.want)
			}
			if rs.Status.Phase != corev1alpha1.RestoreFailed {
				t.Fatalf("phase %s", rs.Status.Phase)
			}
		})
	}
}

// A restore pod the scheduler cannot place because of its volume fails at
// once, not after the pending timeout.
func TestRestorePodWithAVolumeConflictFailsAtOnce(t *testing.T) {
	k, c := setup(corev1alpha1.LatestSnapshot)
	f := newFixture(t, k, c)
	f.sync()
	job := names.RestoreJob("restore", jobs.ComponentDump)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: job + "-x",
		Labels: map[string]string{jobs.LabelRestoreSession: "restore", jobs.LabelDataComponent: jobs.ComponentDump}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: "Unschedulable", Message: "0/1 nodes are available: 1 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode.",
			LastTransitionTime: metav1.NewTime(f.Now)}}}}
	if _, err := f.Kube.CoreV1().Pods("app").Create(f.Ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	rs := f.sync()
	if comp := rs.Status.Components[jobs.ComponentDump]; comp.Phase != storagev1alpha1.ComponentFailed || !strings.Contains(comp.Error, "cannot mount the target's volumes") {
		t.Fatalf("component %+v", comp)
	}
}

// A shared ReadWriteMany claim: the restore runs as the user of a pod that
// mounts it (so it can write the application's directories) and is not
// pinned to that pod's node.
func TestSharedClaimIsRestoredAsItsUsersUser(t *testing.T) {
	_, c := setup(corev1alpha1.LatestSnapshot)
	user := claimUser("a", "n1")
	user.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000)), FSGroup: ptr(int64(1000))}
	f := newFixture(t, []runtime.Object{claim(corev1.ReadWriteMany), user}, c)
	f.sync()
	job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, names.RestoreJob("restore", jobs.ComponentDump), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := job.Spec.Template.Spec
	if spec.NodeName != "" || spec.SecurityContext == nil || spec.SecurityContext.RunAsUser == nil || *spec.SecurityContext.RunAsUser != 1000 ||
		spec.SecurityContext.FSGroup == nil || *spec.SecurityContext.FSGroup != 1000 {
		t.Fatalf("node %q, security %+v; want no node and user/fsGroup 1000", spec.NodeName, spec.SecurityContext)
	}
}

func ptr[T any](v T) *T { return &v }
