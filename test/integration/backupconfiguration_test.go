//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
)

// configEnv is a namespace with a default BackupStorage on MinIO (reachable
// from pods on the bridge), a default RetentionPolicy, a password Secret and
// a PVC, for BackupConfiguration tests against the operator as deployed.
type configEnv struct {
	c     *cluster.Cluster
	cairn cairnclient.Interface
	ns    string
	minio *objstore.Server
	// lastOut is the stdout of the last hostCairn run.
	lastOut []byte
}

func newConfigEnv(ctx context.Context, t *testing.T) *configEnv {
	t.Helper()
	c := cluster.Shared(t)
	e := &configEnv{c: c, ns: c.Namespace(t)}
	var err error
	if e.cairn, err = cairnclient.NewForConfig(c.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	if e.minio, err = objstore.StartMinIO(ctx, cluster.BridgeIP()+":0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.minio.Stop() })
	if err := e.minio.CreateBucket(ctx, "configs"); err != nil {
		t.Fatal(err)
	}
	kube := c.Client()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "s3"}, StringData: map[string]string{"AWS_ACCESS_KEY_ID": e.minio.AccessKey, "AWS_SECRET_ACCESS_KEY": e.minio.SecretKey}},
		{ObjectMeta: metav1.ObjectMeta{Name: "password"}, StringData: map[string]string{"CAIRN_PASSWORD": "integration"}},
	} {
		if _, err := kube.CoreV1().Secrets(e.ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	st := &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: "minio"},
		Spec: storagev1alpha1.BackupStorageSpec{Default: true, DeletionPolicy: storagev1alpha1.DeletionPolicyWipeOut,
			Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{
				Endpoint: e.minio.Endpoint, Bucket: "configs", Prefix: e.ns, Region: e.minio.Region, SecretName: "s3"}}},
	}
	if _, err := e.cairn.StorageV1alpha1().BackupStorages(e.ns).Create(ctx, st, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rp := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "keep"},
		Spec: storagev1alpha1.RetentionPolicySpec{Default: true, MaxRetentionPeriod: "30d"}}
	if _, err := e.cairn.StorageV1alpha1().RetentionPolicies(e.ns).Create(ctx, rp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}}},
	}
	if _, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// pvcConfig backs up the PVC "data" every minute into repository name
// (directory name), with the default storage and policy.
func (e *configEnv) pvcConfig(name string) *corev1alpha1.BackupConfiguration {
	return &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data"},
			Sessions: []corev1alpha1.Session{{
				Name:      "minutely",
				Scheduler: corev1alpha1.SchedulerSpec{Schedule: "* * * * *"},
				Addon:     corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup"}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: name, Directory: "dir-" + name,
					EncryptionSecret: common.ObjectReference{Name: "password"}}},
			}},
		},
	}
}

// waitConfig polls the config until cond holds, and reports its status
// when it never does.
func (e *configEnv) waitConfig(ctx context.Context, t *testing.T, name string, timeout time.Duration, what string, cond func(*corev1alpha1.BackupConfiguration) bool) *corev1alpha1.BackupConfiguration {
	t.Helper()
	var last *corev1alpha1.BackupConfiguration
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		bc, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = bc
		return cond(bc), nil
	})
	if err != nil {
		var storages, repos []string
		if list, err := e.cairn.StorageV1alpha1().BackupStorages(e.ns).List(ctx, metav1.ListOptions{}); err == nil {
			for _, s := range list.Items {
				storages = append(storages, fmt.Sprintf("%s %s %+v", s.Name, s.Status.Phase, s.Status.Conditions))
			}
		}
		if list, err := e.cairn.StorageV1alpha1().Repositories(e.ns).List(ctx, metav1.ListOptions{}); err == nil {
			for _, r := range list.Items {
				repos = append(repos, fmt.Sprintf("%s %s %+v", r.Name, r.Status.Phase, r.Status.Conditions))
			}
		}
		t.Fatalf("BackupConfiguration %s/%s: %s did not happen within %s\nstatus: %+v\nBackupStorages: %v\nRepositories: %v",
			e.ns, name, what, timeout, last.Status, storages, repos)
	}
	return last
}

func isPhase(p corev1alpha1.BackupConfigurationPhase) func(*corev1alpha1.BackupConfiguration) bool {
	return func(bc *corev1alpha1.BackupConfiguration) bool {
		return bc.Status.Phase == p && bc.Status.ObservedGeneration == bc.Generation
	}
}

// TestBackupConfigurationSchedulesBackups: a config becomes Ready with its
// Repository (repository.yaml written) and a trigger CronJob whose pods, run
// with the namespace's trigger ServiceAccount, really create BackupSessions;
// pause suspends the schedule and resume restores it.
func TestBackupConfigurationSchedulesBackups(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, e.pvcConfig("nightly"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bc := e.waitConfig(ctx, t, "nightly", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	if bc.Status.DefaultBackend == nil || bc.Status.DefaultBackend.StorageRef.Name != "minio" || bc.Status.NextSchedule == nil {
		t.Fatalf("status %+v: want the default storage pinned and a nextSchedule", bc.Status)
	}
	repo, err := e.cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil || repo.Status.Phase != storagev1alpha1.RepositoryReady || repo.Labels[labels.Config] != "nightly" || len(repo.OwnerReferences) != 0 {
		t.Fatalf("Repository: %+v, err %v", repo, err)
	}
	bucket, err := e.minio.OpenBucket(ctx, "configs")
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	if ok, err := bucket.Exists(ctx, e.ns+"/dir-nightly/repository.yaml"); err != nil || !ok {
		t.Fatalf("repository.yaml not written under the storage prefix: exists=%v err=%v", ok, err)
	}

	// The CronJob fires within a minute or two; its pod creates a session.
	kube := e.c.Client()
	cj := names.TriggerCronJob("nightly", "minutely")
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 150*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Config + "=nightly"})
		return err == nil && len(list.Items) > 0, nil
	})
	if err != nil {
		t.Fatalf("no BackupSession from CronJob %s within 150 s:\n%s", cj, e.c.Diagnose(ctx, e.ns, labels.Component+"="+jobs.ComponentTrigger))
	}
	list, _ := e.cairn.CoreV1alpha1().BackupSessions(e.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Config + "=nightly"})
	bs := list.Items[0]
	if bs.Spec.Invoker.Name != "nightly" || bs.Spec.Session != "minutely" || !strings.HasPrefix(bs.Name, "nightly-minutely-") {
		t.Fatalf("BackupSession %s: %+v", bs.Name, bs.Spec)
	}

	// Pause: the CronJob is suspended and the status says so; resume undoes it.
	for _, paused := range []bool{true, false} {
		cur, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Get(ctx, "nightly", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Spec.Paused = paused
		if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitConfig(ctx, t, "nightly", time.Minute, "pause="+map[bool]string{true: "true", false: "false"}[paused], func(bc *corev1alpha1.BackupConfiguration) bool {
			c := meta.FindStatusCondition(bc.Status.Conditions, corev1alpha1.ConditionSchedulersReady)
			return bc.Status.ObservedGeneration == bc.Generation && c != nil && (c.Reason == "Paused") == paused && (bc.Status.NextSchedule == nil) == paused
		})
		got, err := kube.BatchV1().CronJobs(e.ns).Get(ctx, cj, metav1.GetOptions{})
		if err != nil || *got.Spec.Suspend != paused {
			t.Fatalf("paused=%v: CronJob %v, err %v", paused, got.Spec.Suspend, err)
		}
	}

	// Deleting the schedule stops it and keeps the backups: the CronJob and
	// the trigger RBAC go, the Repository and its data stay.
	if err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Delete(ctx, "nightly", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, cjErr := kube.BatchV1().CronJobs(e.ns).Get(ctx, cj, metav1.GetOptions{})
		_, saErr := kube.CoreV1().ServiceAccounts(e.ns).Get(ctx, jobs.TriggerServiceAccount, metav1.GetOptions{})
		return apierrors.IsNotFound(cjErr) && apierrors.IsNotFound(saErr), nil
	})
	if err != nil {
		t.Fatal("the CronJob or the trigger ServiceAccount outlived the deleted BackupConfiguration")
	}
	if _, err := e.cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, "nightly", metav1.GetOptions{}); err != nil {
		t.Fatalf("deleting the BackupConfiguration took its Repository: %v", err)
	}
	if ok, err := bucket.Exists(ctx, e.ns+"/dir-nightly/repository.yaml"); err != nil || !ok {
		t.Fatalf("deleting the BackupConfiguration touched the data: repository.yaml exists=%v err=%v", ok, err)
	}
}

// TestBackupConfigurationInvalidSpec: a config whose task lacks a required
// param is Invalid, says which param, and gets no CronJob.
func TestBackupConfigurationInvalidSpec(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	bad := e.pvcConfig("broken")
	bad.Spec.Target = common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"}
	bad.Spec.Sessions[0].Addon.Name = "workload-addon" // needs `paths`
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bad, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bc := e.waitConfig(ctx, t, "broken", time.Minute, "Invalid", isPhase(corev1alpha1.BackupConfigurationInvalid))
	c := meta.FindStatusCondition(bc.Status.Conditions, corev1alpha1.ConditionAddonReady)
	if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, `param "paths"`) {
		t.Fatalf("AddonReady condition %+v, want it to name the missing param", c)
	}
	if _, err := e.c.Client().BatchV1().CronJobs(e.ns).Get(ctx, names.TriggerCronJob("broken", "minutely"), metav1.GetOptions{}); err == nil {
		t.Fatal("an Invalid config got a trigger CronJob")
	}
}

// TestOperatorRestartDuplicatesNothing deletes the operator pod right after
// creating configs: the new pod finishes the work, and every object exists
// once (deterministic names; AlreadyExists is success).
func TestOperatorRestartDuplicatesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	// Enough configs that the operator is still working on them when its
	// pod goes (it settles one in a few milliseconds).
	const n = 40
	name := func(i int) string { return fmt.Sprintf("c%02d", i) }
	for i := 0; i < n; i++ {
		if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, e.pvcConfig(name(i)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if i == n/4 {
			deleteOperatorPods(ctx, t, kube)
		}
	}
	for i := 0; i < n; i++ {
		e.waitConfig(ctx, t, name(i), 3*time.Minute, "Ready after the operator restart", isPhase(corev1alpha1.BackupConfigurationReady))
	}
	cjs, _ := kube.BatchV1().CronJobs(e.ns).List(ctx, metav1.ListOptions{})
	repos, _ := e.cairn.StorageV1alpha1().Repositories(e.ns).List(ctx, metav1.ListOptions{})
	sas, _ := kube.CoreV1().ServiceAccounts(e.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Component + "=" + jobs.ComponentTrigger})
	if len(cjs.Items) != n || len(repos.Items) != n || len(sas.Items) != 1 {
		t.Fatalf("after a restart: %d CronJobs, %d Repositories, %d trigger ServiceAccounts; want %d, %d, 1", len(cjs.Items), len(repos.Items), len(sas.Items), n, n)
	}
}

// deleteOperatorPods deletes the running operator pods; the Deployment
// starts a new one, which takes over the leader Lease.
func deleteOperatorPods(ctx context.Context, t *testing.T, kube kubernetes.Interface) {
	t.Helper()
	pods, err := kube.CoreV1().Pods("cairn-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=cairn-operator"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("operator pods: %v (err %v)", pods, err)
	}
	for _, p := range pods.Items {
		if err := kube.CoreV1().Pods("cairn-system").Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}
