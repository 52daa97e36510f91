package volumesnapshot

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapfake "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/volumeclaims"
)

const (
	ns      = "shop"
	session = "db-daily-1700000000"
	unix    = 1700000000
)

// csi plays the snapshot-controller on the fake clientset: a created
// VolumeSnapshot becomes ready (or fails with failWith) on its second read.
type csi struct {
	mu       sync.Mutex
	reads    map[string]int
	failWith string
	never    bool
}

func (c *csi) react(tracker k8stesting.ObjectTracker) k8stesting.ReactionFunc {
	return func(a k8stesting.Action) (bool, runtime.Object, error) {
		get, ok := a.(k8stesting.GetAction)
		if !ok || a.GetSubresource() != "" {
			return false, nil, nil
		}
		obj, err := tracker.Get(a.GetResource(), a.GetNamespace(), get.GetName())
		if err != nil {
			return true, nil, err
		}
		vs := obj.(*snapv1.VolumeSnapshot).DeepCopy()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.reads[vs.Name]++
		if c.reads[vs.Name] >= 2 && !c.never {
			vs.Status = &snapv1.VolumeSnapshotStatus{CreationTime: &metav1.Time{Time: time.Unix(unix+3, 0)}}
			if c.failWith != "" {
				vs.Status.Error = &snapv1.VolumeSnapshotError{Message: &c.failWith}
			} else {
				vs.Status.ReadyToUse = ptr(true)
				if vs.Name != "logs-db-0-1700000000" {
					vs.Status.RestoreSize = ptr(resource.MustParse("1Gi"))
				}
			}
		}
		return true, vs, nil
	}
}

type fixture struct {
	cairn *cairnfake.Clientset
	kube  *k8sfake.Clientset
	snaps *snapfake.Clientset
	csi   *csi
	r     *Runner
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	bs := &corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: session, CreationTimestamp: metav1.Unix(unix, 0)}}
	snap := &storagev1alpha1.Snapshot{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo-daily-1700000000"},
		Spec: storagev1alpha1.SnapshotSpec{Repository: "repo", BackupSession: session, AppRef: common.TypedObjectReference{Kind: "StatefulSet", Name: "db"}}}
	logs := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "logs-db-0"},
		Status: corev1.PersistentVolumeClaimStatus{Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}}}
	// The driver reports 1Gi for data-db-0, whose claim had 2Gi: the larger wins.
	data := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data-db-0"},
		Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}}}
	f := &fixture{cairn: cairnfake.NewSimpleClientset(bs, snap), kube: k8sfake.NewClientset(logs, data), snaps: snapfake.NewSimpleClientset(objs...), csi: &csi{reads: map[string]int{}}}
	f.snaps.PrependReactor("get", "volumesnapshots", f.csi.react(f.snaps.Tracker()))
	f.r = &Runner{Cairn: f.cairn, Kube: f.kube, Snapshots: f.snaps, PollInterval: time.Millisecond}
	return f
}

func (f *fixture) component(t *testing.T, name string) storagev1alpha1.Component {
	t.Helper()
	s, err := f.cairn.StorageV1alpha1().Snapshots(ns).Get(context.Background(), "repo-daily-1700000000", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Status.Components[name]
}

func request() BackupRequest {
	return BackupRequest{Namespace: ns, BackupSession: session, Snapshot: "repo-daily-1700000000", Component: "volumesnapshot-pod-0",
		Claims: []Claim{{PVC: "data-db-0", Class: "csi"}, {PVC: "logs-db-0", Class: "csi"}}, ReadyTimeout: time.Second}
}

func TestBackupCreatesReadyVolumeSnapshots(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	res, err := f.r.Backup(ctx, request())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := f.snaps.Tracker().Get(snapv1.SchemeGroupVersion.WithResource("volumesnapshots"), ns, "data-db-0-1700000000")
	if err != nil {
		t.Fatalf("the VolumeSnapshot is named <claim>-<session's unix seconds>: %v", err)
	}
	v := vs.(*snapv1.VolumeSnapshot)
	if *v.Spec.Source.PersistentVolumeClaimName != "data-db-0" || *v.Spec.VolumeSnapshotClassName != "csi" ||
		v.Labels[LabelBackupSession] != session || v.Labels[LabelComponent] != "volumesnapshot-pod-0" || v.Labels["app.kubernetes.io/managed-by"] != "cairn" {
		t.Errorf("VolumeSnapshot spec %+v labels %v", v.Spec, v.Labels)
	}
	comp := f.component(t, "volumesnapshot-pod-0")
	if comp.Phase != storagev1alpha1.ComponentSucceeded || comp.Driver != DriverVolumeSnapshotter || comp.Duration == "" || comp.Error != "" || len(comp.VolumeSnapshotterStats) != 2 {
		t.Fatalf("component %+v", comp)
	}
	want := []storagev1alpha1.VolumeSnapshotterStats{
		{PVCName: "data-db-0", HostName: "volumesnapshot-pod-0", VolumeSnapshotName: "data-db-0-1700000000", RestoreSize: "2Gi"},
		{PVCName: "logs-db-0", HostName: "volumesnapshot-pod-0", VolumeSnapshotName: "logs-db-0-1700000000", RestoreSize: "64Mi"},
	}
	for i, st := range comp.VolumeSnapshotterStats {
		if st.CreationTime == nil || !st.CreationTime.Equal(&metav1.Time{Time: time.Unix(unix+3, 0)}) {
			t.Errorf("stats %d: creationTime %v, want the VolumeSnapshot's", i, st.CreationTime)
		}
		st.CreationTime = nil
		if st != want[i] {
			t.Errorf("stats %d = %+v, want %+v", i, st, want[i])
		}
	}
	if comp.Size != "2112Mi" || len(res.Stats) != 2 {
		t.Errorf("size %q (want the sum of the restore sizes), %d stats", comp.Size, len(res.Stats))
	}

	// A retried run (or a second repository's Job) adopts the session's own
	// VolumeSnapshots instead of failing on them.
	if _, err := f.r.Backup(ctx, request()); err != nil {
		t.Errorf("a second run of the same session: %v", err)
	}
}

func TestBackupFailures(t *testing.T) {
	ctx := context.Background()
	foreign := &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data-db-0-1700000000", Labels: map[string]string{LabelBackupSession: "other"}},
		Spec: snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr("data-db-0")}}}
	cases := []struct {
		name  string
		setup func(f *fixture)
		objs  []runtime.Object
		want  string
	}{
		{name: "status.error", setup: func(f *fixture) {
			f.csi.failWith = "Failed to get snapshot class with error volumesnapshotclass \"nope\" not found"
		},
			want: "VolumeSnapshot data-db-0-1700000000 of PVC data-db-0 failed: Failed to get snapshot class with error volumesnapshotclass \"nope\" not found"},
		{name: "timeout", setup: func(f *fixture) { f.csi.never = true },
			want: "VolumeSnapshot(s) data-db-0-1700000000, logs-db-0-1700000000 not ready within 1s (the task's readyTimeout)"},
		{name: "foreign", objs: []runtime.Object{foreign},
			want: "VolumeSnapshot data-db-0-1700000000 already exists and was not made by this BackupSession for PVC data-db-0: it is left alone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.objs...)
			if tc.setup != nil {
				tc.setup(f)
			}
			q := request()
			q.Exports = []string{"dump-pod-0"}
			_, err := f.r.Backup(ctx, q)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			comp := f.component(t, "volumesnapshot-pod-0")
			if comp.Phase != storagev1alpha1.ComponentFailed || !strings.Contains(comp.Error, tc.want) {
				t.Errorf("component %+v, want Failed with the message", comp)
			}
			export := f.component(t, "dump-pod-0")
			if export.Phase != storagev1alpha1.ComponentFailed || !strings.HasPrefix(export.Error, "not exported: the VolumeSnapshots of component volumesnapshot-pod-0 failed: ") {
				t.Errorf("export component %+v, want it failed with the VolumeSnapshots", export)
			}
		})
	}
}

func TestBackupInterrupted(t *testing.T) {
	f := newFixture(t)
	f.csi.never = true
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel(context.Canceled) }()
	q := request()
	q.ReadyTimeout = time.Minute
	if _, err := f.r.Backup(ctx, q); err == nil {
		t.Fatal("an interrupted run succeeded")
	}
	if comp := f.component(t, "volumesnapshot-pod-0"); comp.Phase != storagev1alpha1.ComponentFailed || !strings.HasPrefix(comp.Error, "interrupted (") {
		t.Errorf("component %+v, want Failed saying it was interrupted (the final patch is sent after the context ended)", comp)
	}
}

// restoreFixture holds a Succeeded VolumeSnapshot component and a
// RestoreSession whose template restores it.
func restoreFixture(t *testing.T, templates []corev1.PersistentVolumeClaimTemplate, extraKube ...runtime.Object) *fixture {
	t.Helper()
	rs := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rs"},
		Spec: corev1alpha1.RestoreSessionSpec{Addon: corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{
			{Name: "volume-snapshot-restore", TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: templates}}}}}}
	snap := &storagev1alpha1.Snapshot{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "snap"}, Status: storagev1alpha1.SnapshotStatus{
		Components: map[string]storagev1alpha1.Component{"volumesnapshot-pod-1": {Phase: storagev1alpha1.ComponentSucceeded, VolumeSnapshotterStats: []storagev1alpha1.VolumeSnapshotterStats{
			{PVCName: "data-db-1", VolumeSnapshotName: "data-db-1-1700000000", RestoreSize: "1Gi"}}}}}}
	ready := &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data-db-1-1700000000"}, Status: &snapv1.VolumeSnapshotStatus{ReadyToUse: ptr(true)}}
	f := &fixture{cairn: cairnfake.NewSimpleClientset(rs, snap), kube: k8sfake.NewClientset(extraKube...), snaps: snapfake.NewSimpleClientset(ready)}
	f.r = &Runner{Cairn: f.cairn, Kube: f.kube, Snapshots: f.snaps, PollInterval: time.Millisecond}
	return f
}

func restoreTemplate(name string) corev1.PersistentVolumeClaimTemplate {
	return corev1.PersistentVolumeClaimTemplate{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr("cairn-csi")}}
}

func (f *fixture) restoreStatus(t *testing.T) corev1alpha1.ComponentRestoreStatus {
	t.Helper()
	rs, err := f.cairn.CoreV1alpha1().RestoreSessions(ns).Get(context.Background(), "rs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs.Status.Components["volumesnapshot-pod-1"]
}

func TestRestoreCreatesClaimsFromTheVolumeSnapshots(t *testing.T) {
	ctx := context.Background()
	f := restoreFixture(t, []corev1.PersistentVolumeClaimTemplate{restoreTemplate("restored-${POD_ORDINAL}")})
	// The claim binds on its third read, as a provisioner would bind it.
	reads := 0
	f.kube.PrependReactor("get", "persistentvolumeclaims", func(a k8stesting.Action) (bool, runtime.Object, error) {
		reads++
		obj, err := f.kube.Tracker().Get(a.GetResource(), a.GetNamespace(), a.(k8stesting.GetAction).GetName())
		if err != nil || reads < 3 {
			return true, obj, err
		}
		pvc := obj.(*corev1.PersistentVolumeClaim).DeepCopy()
		pvc.Status.Phase = corev1.ClaimBound
		return true, pvc, nil
	})
	q := RestoreRequest{Namespace: ns, RestoreSession: "rs", Snapshot: "snap", Component: "volumesnapshot-pod-1", WaitBound: []string{"restored-1"}, BindTimeout: time.Second}
	res, err := f.r.Restore(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	pvc, err := f.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "restored-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := pvc.Spec.DataSourceRef
	if ref == nil || ref.Kind != "VolumeSnapshot" || *ref.APIGroup != "snapshot.storage.k8s.io" || ref.Name != "data-db-1-1700000000" {
		t.Errorf("dataSourceRef %+v", ref)
	}
	if got := pvc.Spec.Resources.Requests.Storage().String(); got != "1Gi" {
		t.Errorf("size %s, want the snapshot's restore size for a template without one", got)
	}
	if pvc.Labels[LabelRestoreSession] != "rs" || pvc.Annotations[volumeclaims.CreatedByAnnotation] != ns+"/rs" {
		t.Errorf("labels %v annotations %v", pvc.Labels, pvc.Annotations)
	}
	want := []corev1alpha1.RestoredClaim{{Name: "restored-1", VolumeSnapshot: "data-db-1-1700000000", Phase: "Bound"}}
	if !reflect.DeepEqual(res.Claims, want) {
		t.Errorf("result %+v, want %+v", res.Claims, want)
	}
	if st := f.restoreStatus(t); st.Phase != storagev1alpha1.ComponentSucceeded || st.Duration == "" || !reflect.DeepEqual(st.Claims, want) {
		t.Errorf("status %+v, want the claim reported with its source and phase", st)
	}
}

func TestRestoreRefusesAnExistingClaim(t *testing.T) {
	ctx := context.Background()
	users := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "restored-1"}}
	f := restoreFixture(t, []corev1.PersistentVolumeClaimTemplate{restoreTemplate("restored-${POD_ORDINAL}")}, users)
	_, err := f.r.Restore(ctx, RestoreRequest{Namespace: ns, RestoreSession: "rs", Snapshot: "snap", Component: "volumesnapshot-pod-1"})
	want := "PersistentVolumeClaim shop/restored-1 already exists: it is never overwritten"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
	if st := f.restoreStatus(t); st.Phase != storagev1alpha1.ComponentFailed || !strings.Contains(st.Error, want) {
		t.Errorf("status %+v", st)
	}
	if got, _ := f.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "restored-1", metav1.GetOptions{}); got.Spec.DataSourceRef != nil || len(got.Annotations) != 0 {
		t.Errorf("the user's claim was touched: %+v", got)
	}
}

func TestRestoreOfAGoneVolumeSnapshot(t *testing.T) {
	f := restoreFixture(t, []corev1.PersistentVolumeClaimTemplate{restoreTemplate("restored-${POD_ORDINAL}")})
	if err := f.snaps.Tracker().Delete(snapv1.SchemeGroupVersion.WithResource("volumesnapshots"), ns, "data-db-1-1700000000"); err != nil {
		t.Fatal(err)
	}
	_, err := f.r.Restore(context.Background(), RestoreRequest{Namespace: ns, RestoreSession: "rs", Snapshot: "snap", Component: "volumesnapshot-pod-1"})
	if err == nil || !strings.Contains(err.Error(), "VolumeSnapshot data-db-1-1700000000 of Snapshot snap no longer exists") {
		t.Fatalf("error %v", err)
	}
	if list, _ := f.kube.CoreV1().PersistentVolumeClaims(ns).List(context.Background(), metav1.ListOptions{}); len(list.Items) != 0 {
		t.Errorf("a claim was created from a missing snapshot: %v", list.Items)
	}
}

func TestClaimsMatchTemplatesToSnapshots(t *testing.T) {
	comp := storagev1alpha1.Component{Phase: storagev1alpha1.ComponentSucceeded, VolumeSnapshotterStats: []storagev1alpha1.VolumeSnapshotterStats{
		{PVCName: "data-db-0", VolumeSnapshotName: "data-db-0-1"}, {PVCName: "logs-db-0", VolumeSnapshotName: "logs-db-0-1", RestoreSize: "2Gi"}}}
	byName := restoreTemplate("logs-${POD_ORDINAL}")
	byName.Spec.DataSourceRef = &corev1.TypedObjectReference{Kind: "VolumeSnapshot", Name: "logs-db-${POD_ORDINAL}"}
	inOrder := restoreTemplate("data-${POD_ORDINAL}")
	inOrder.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}
	claims, err := Claims(ns, []corev1.PersistentVolumeClaimTemplate{byName, inOrder}, "volumesnapshot-pod-0", comp)
	if err != nil {
		t.Fatal(err)
	}
	if claims[0].Name != "logs-0" || claims[0].Spec.DataSourceRef.Name != "logs-db-0-1" || claims[0].Spec.Resources.Requests.Storage().String() != "2Gi" {
		t.Errorf("a template naming the source claim: %s from %s, %s", claims[0].Name, claims[0].Spec.DataSourceRef.Name, claims[0].Spec.Resources.Requests.Storage())
	}
	if claims[1].Name != "data-0" || claims[1].Spec.DataSourceRef.Name != "data-db-0-1" || claims[1].Spec.Resources.Requests.Storage().String() != "5Gi" {
		t.Errorf("a template without a source takes the next snapshot and keeps its size: %s from %s, %s", claims[1].Name, claims[1].Spec.DataSourceRef.Name, claims[1].Spec.Resources.Requests.Storage())
	}
	for _, tc := range []struct {
		tpls []corev1.PersistentVolumeClaimTemplate
		comp string
		want string
	}{
		{[]corev1.PersistentVolumeClaimTemplate{inOrder, restoreTemplate("b"), restoreTemplate("c")}, "volumesnapshot-pod-0", "claim c has no VolumeSnapshot left to restore from: component volumesnapshot-pod-0 holds 2"},
		{[]corev1.PersistentVolumeClaimTemplate{restoreTemplate("x-${POD_ORDINAL}")}, "volumesnapshot", "${POD_ORDINAL} is only known"},
		{[]corev1.PersistentVolumeClaimTemplate{restoreTemplate("a")}, "volumesnapshot-pod-0", "claim a asks for no storage size and VolumeSnapshot data-db-0-1 recorded none"},
		{nil, "volumesnapshot", "the restore names no volumeClaimTemplates"},
	} {
		if _, err := Claims(ns, tc.tpls, tc.comp, comp); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	wrong := restoreTemplate("a")
	wrong.Spec.DataSourceRef = &corev1.TypedObjectReference{Kind: "VolumeSnapshot", Name: "elsewhere"}
	if _, err := Claims(ns, []corev1.PersistentVolumeClaimTemplate{wrong}, "volumesnapshot", comp); err == nil || !strings.Contains(err.Error(), "claim a asks for elsewhere, which component volumesnapshot does not hold (it holds data-db-0-1 (of PVC data-db-0), logs-db-0-1 (of PVC logs-db-0))") {
		t.Errorf("a source the component does not hold: %v", err)
	}
}
