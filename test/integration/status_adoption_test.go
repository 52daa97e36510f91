//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	gcblob "gocloud.dev/blob"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	repoctl "github.com/cairnbackup/cairn/pkg/controller/repository"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/scenario"
)

// TestStatusRecordsAdoptionAndIntegrity answers "is my data safe" end to
// end on the deployed operator: after backups the Repository and the
// config's session show what is there; each finished Snapshot's record is
// next to the repository in the bucket and retention removes the records
// of what it drops; the namespace is deleted (the data and records stay),
// a BackupStorage made in a fresh namespace adopts the bucket and
// recreates the Repository and its Snapshots, and a RestoreSession of
// `latest` brings back every byte; an integrity check of the adopted
// repository passes, and after a pack is deleted from MinIO the next one
// finds the damage.
func TestStatusRecordsAdoptionAndIntegrity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	if _, err := kube.AppsV1().Deployments(e.ns).Create(ctx, appDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitAppSeeded(ctx, t)
	one := int32(1)
	rp := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "last-one"},
		Spec: storagev1alpha1.RetentionPolicySpec{SuccessfulSnapshots: &storagev1alpha1.SuccessfulSnapshotsKeepPolicy{Last: &one}}}
	if _, err := e.cairn.StorageV1alpha1().RetentionPolicies(e.ns).Create(ctx, rp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
			Backends: []corev1alpha1.BackendReference{{Name: "minio", StorageRef: common.ObjectReference{Name: "minio"},
				RetentionPolicy: common.ObjectReference{Name: "last-one"}}},
			Sessions: []corev1alpha1.Session{{
				Name:      "nightly",
				Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 3 1 1 *"},
				Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{
					{Name: "logical-backup", Params: map[string]string{"paths": "/data"}}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: "web", Directory: "web",
					EncryptionSecret: common.ObjectReference{Name: "password"}}},
			}},
		},
	}
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "web", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	bucket, err := e.minio.OpenBucket(ctx, "configs")
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	records := e.ns + "/web/" + blob.SnapshotsDir + "/"

	// First backup: the status says so, and its record is in the bucket.
	first := e.backupNow(ctx, t, "web", "nightly")
	repo := e.waitRepository(ctx, t, "web", "shows the first backup", func(r *storagev1alpha1.Repository) bool {
		return r.Status.SnapshotCount != nil && *r.Status.SnapshotCount == 1 && len(r.Status.RecentSnapshots) == 1 &&
			r.Status.LastSuccessfulBackupTime != nil && r.Status.Size != ""
	})
	if r := repo.Status.RecentSnapshots[0]; r.Name != first.Name || r.Phase != storagev1alpha1.SnapshotSucceeded || r.Session != "nightly" || r.Size == "" {
		t.Fatalf("recentSnapshots[0] = %+v, want Succeeded Snapshot %s with its size", r, first.Name)
	}
	if !repo.Status.LastSuccessfulBackupTime.Equal(first.Status.SnapshotTime) {
		t.Fatalf("lastSuccessfulBackupTime %v, want the snapshot's time %v", repo.Status.LastSuccessfulBackupTime, first.Status.SnapshotTime)
	}
	e.waitConfig(ctx, t, "web", time.Minute, "the session's lastSuccessfulBackupTime", func(bc *corev1alpha1.BackupConfiguration) bool {
		return len(bc.Status.Sessions) == 1 && bc.Status.Sessions[0].LastSuccessfulBackupTime.Equal(first.Status.SnapshotTime)
	})
	waitKeys(ctx, t, bucket, records, first.Name+".yaml")
	rec := readRecord(ctx, t, bucket, records+first.Name+".yaml")
	if rec.Status.Phase != storagev1alpha1.SnapshotSucceeded || rec.Status.Components[jobs.ComponentDump].DataMoverSnapshotID == "" || rec.Labels[jobs.LabelRepository] != "web" {
		t.Fatalf("record of %s: %+v", first.Name, rec)
	}

	// Second backup: retention keeps it alone, and the first's record goes.
	second := e.backupNow(ctx, t, "web", "nightly")
	waitKeys(ctx, t, bucket, records, second.Name+".yaml")
	e.waitRepository(ctx, t, "web", "counts only the kept backup", func(r *storagev1alpha1.Repository) bool {
		return r.Status.SnapshotCount != nil && *r.Status.SnapshotCount == 1 && len(r.Status.RecentSnapshots) == 1 &&
			r.Status.RecentSnapshots[0].Name == second.Name && r.Status.LastSuccessfulBackupTime.Equal(second.Status.SnapshotTime)
	})

	// The namespace goes; Delete policies keep the data and the records.
	st, err := e.cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.Spec.DeletionPolicy = storagev1alpha1.DeletionPolicyDelete
	if _, err := e.cairn.StorageV1alpha1().BackupStorages(e.ns).Update(ctx, st, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the operator's cache sees the new policy before the deletion
	if err := kube.CoreV1().Namespaces().Delete(ctx, e.ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().Namespaces().Get(ctx, e.ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("namespace %s was not deleted: %v", e.ns, err)
	}
	waitKeys(ctx, t, bucket, records, second.Name+".yaml")

	// A fresh cluster's view: the app's namespace again (empty), and a
	// BackupStorage on the same bucket and prefix in another namespace.
	e.freshNamespace(ctx, t)
	storeNS := e.ns + "-store"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: storeNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), storeNS, metav1.DeleteOptions{}) })
	if _, err := kube.CoreV1().Secrets(storeNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3"},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": e.minio.AccessKey, "AWS_SECRET_ACCESS_KEY": e.minio.SecretKey}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	adopter := &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: "adopter"},
		Spec: storagev1alpha1.BackupStorageSpec{DeletionPolicy: storagev1alpha1.DeletionPolicyDelete,
			UsagePolicy: &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromAll)}},
			Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{
				Endpoint: e.minio.Endpoint, Bucket: "configs", Prefix: e.ns, Region: e.minio.Region, SecretName: "s3"}}},
	}
	if _, err := e.cairn.StorageV1alpha1().BackupStorages(storeNS).Create(ctx, adopter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repo = e.waitRepository(ctx, t, "web", "recreated from the bucket and Ready", func(r *storagev1alpha1.Repository) bool {
		return r.Status.Phase == storagev1alpha1.RepositoryReady && r.Status.SnapshotCount != nil && *r.Status.SnapshotCount == 1
	})
	if repo.Spec.StorageRef.Namespace != storeNS || repo.Spec.StorageRef.Name != "adopter" {
		t.Fatalf("recreated Repository points at %+v", repo.Spec.StorageRef)
	}
	snap, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).Get(ctx, second.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Snapshot %s was not recreated: %v", second.Name, err)
	}
	if owner := metav1.GetControllerOf(snap); owner == nil || owner.UID != repo.UID || snap.Status.Phase != storagev1alpha1.SnapshotSucceeded ||
		snap.Status.Components[jobs.ComponentDump].DataMoverSnapshotID != second.Status.Components[jobs.ComponentDump].DataMoverSnapshotID {
		t.Fatalf("recreated Snapshot: owner %+v, status %+v", metav1.GetControllerOf(snap), snap.Status)
	}
	if _, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).Get(ctx, first.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Snapshot %s, dropped by retention, came back (err %v)", first.Name, err)
	}

	// Restore latest into the new, empty app: every byte is back.
	if _, err := kube.AppsV1().Deployments(e.ns).Create(ctx, idleApp(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitAppSeeded(ctx, t)
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: "from-old-bucket"},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
			DataSource: corev1alpha1.RestoreDataSource{Repository: "web", Snapshot: corev1alpha1.LatestSnapshot,
				EncryptionSecret: common.ObjectReference{Name: "password"}},
			Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
		},
	}
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRestore(ctx, t, rs.Name)
	e.runAsApp(ctx, t, "verify", `set -e; cd /data; find . -type f ! -name .sums ! -name .mode ! -name .seeded | sort | xargs md5sum > /tmp/now
diff /data/.sums /tmp/now; test "$(readlink /data/link)" = dir/sub/deep.txt; ls -ln /data/dir/sub | grep deep | cut -c1-10 | diff /data/.mode -`)

	// Integrity: the adopted repository checks clean; a deleted pack is found.
	e.requestCheck(ctx, t, "web")
	repo = e.waitRepository(ctx, t, "web", "a passed integrity check", func(r *storagev1alpha1.Repository) bool {
		c := meta.FindStatusCondition(r.Status.Conditions, storagev1alpha1.ConditionIntegrityVerified)
		return r.Status.Integrity != nil && *r.Status.Integrity && c != nil && c.Reason == repoctl.ReasonCheckPassed
	})
	passedAt := repo.Status.LastIntegrityCheckTime
	packs := listKeys(ctx, t, bucket, e.ns+"/web/data/")
	if len(packs) == 0 {
		t.Fatal("no packs in the bucket")
	}
	if err := bucket.Delete(ctx, packs[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the request must be later than the last check, to the second
	e.requestCheck(ctx, t, "web")
	repo = e.waitRepository(ctx, t, "web", "a failed integrity check", func(r *storagev1alpha1.Repository) bool {
		c := meta.FindStatusCondition(r.Status.Conditions, storagev1alpha1.ConditionIntegrityVerified)
		return r.Status.Integrity != nil && !*r.Status.Integrity && c != nil && c.Status == metav1.ConditionFalse && c.Reason == repoctl.ReasonDamageFound
	})
	c := meta.FindStatusCondition(repo.Status.Conditions, storagev1alpha1.ConditionIntegrityVerified)
	pack := packs[0][strings.LastIndex(packs[0], "/")+1:]
	if !strings.Contains(c.Message, pack) || !repo.Status.LastIntegrityCheckTime.After(passedAt.Time) {
		t.Fatalf("IntegrityVerified %q does not name the deleted pack %s (or the check time %v did not move)", c.Message, pack, repo.Status.LastIntegrityCheckTime)
	}
	events, err := kube.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=web,reason=" + repoctl.EventDamageFound})
	if err != nil || len(events.Items) == 0 {
		t.Fatalf("no %s Event for Repository web (err %v)", repoctl.EventDamageFound, err)
	}

	// The Repository deleted with deletionPolicy Delete takes its Snapshot
	// objects along, and leaves their records with the data.
	if err := e.cairn.StorageV1alpha1().Repositories(e.ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 0, nil
	})
	if err != nil {
		t.Fatalf("the Snapshots of the deleted Repository are still there: %v", err)
	}
	waitKeys(ctx, t, bucket, records, second.Name+".yaml")
}

// backupNow triggers a session of config and waits for its Succeeded
// Snapshot.
func (e *configEnv) backupNow(ctx context.Context, t *testing.T, config, session string) *storagev1alpha1.Snapshot {
	t.Helper()
	bs, err := trigger.Create(ctx, e.cairn, e.ns, config, session, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, bs.Name)
	snaps, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + bs.Name})
	if err != nil || len(snaps.Items) != 1 || snaps.Items[0].Status.Phase != storagev1alpha1.SnapshotSucceeded {
		t.Fatalf("Snapshots of %s: %+v (err %v)", bs.Name, snaps, err)
	}
	return &snaps.Items[0]
}

// waitRepository polls Repository name until cond holds.
func (e *configEnv) waitRepository(ctx context.Context, t *testing.T, name, what string, cond func(*storagev1alpha1.Repository) bool) *storagev1alpha1.Repository {
	t.Helper()
	var last *storagev1alpha1.Repository
	err := wait.PollUntilContextTimeout(ctx, time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		r, err := e.cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = r
		return cond(r), nil
	})
	if err != nil {
		var status any
		if last != nil {
			status = last.Status
		}
		t.Fatalf("Repository %s/%s never %s: %+v\n%s", e.ns, name, what, status, e.c.Diagnose(ctx, e.ns, jobs.LabelRepository+"="+name))
	}
	return last
}

// requestCheck asks for an integrity check of Repository name now.
func (e *configEnv) requestCheck(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, repoctl.AnnotationCheckRequested, time.Now().UTC().Format(time.RFC3339))
	if _, err := e.cairn.StorageV1alpha1().Repositories(e.ns).Patch(ctx, name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// freshNamespace makes e.ns again after its deletion, with the password
// Secret and an empty PVC "data", as on a new cluster.
func (e *configEnv) freshNamespace(ctx context.Context, t *testing.T) {
	t.Helper()
	kube := e.c.Client()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.WaitNamespaceReady(ctx, e.ns); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "password"},
		StringData: map[string]string{"CAIRN_PASSWORD": "integration"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}}}}
	if _, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// idleApp is the sample app on a new cluster: same volume, no data yet.
func idleApp() *appsv1.Deployment {
	d := appDeployment()
	d.Spec.Template.Spec.Containers[0].Command = []string{"/bin/sh", "-c", "exec sleep 1000000"}
	d.Spec.Template.Spec.Volumes = []corev1.Volume{scenario.ClaimVolume("data", "data"),
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	return d
}

// listKeys lists the keys under prefix, sorted.
func listKeys(ctx context.Context, t *testing.T, b *gcblob.Bucket, prefix string) []string {
	t.Helper()
	var keys []string
	it := b.List(&gcblob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !o.IsDir {
			keys = append(keys, o.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// waitKeys waits until the objects under prefix are exactly names.
func waitKeys(ctx context.Context, t *testing.T, b *gcblob.Bucket, prefix string, names ...string) {
	t.Helper()
	want := make([]string, 0, len(names))
	for _, n := range names {
		want = append(want, prefix+n)
	}
	sort.Strings(want)
	var got []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got = listKeys(ctx, t, b, prefix)
		return strings.Join(got, ",") == strings.Join(want, ","), nil
	})
	if err != nil {
		t.Fatalf("objects under %s: %v, want %v", prefix, got, want)
	}
}

// readRecord reads and parses a snapshot record from the bucket.
func readRecord(ctx context.Context, t *testing.T, b *gcblob.Bucket, key string) *blob.SnapshotRecord {
	t.Helper()
	data, err := b.ReadAll(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := blob.ParseSnapshotRecord(data)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return rec
}
