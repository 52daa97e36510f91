package backupconfiguration

import (
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

func condition(t *testing.T, bc *corev1alpha1.BackupConfiguration, typ string) metav1.Condition {
	t.Helper()
	c := apimeta.FindStatusCondition(bc.Status.Conditions, typ)
	if c == nil {
		t.Fatalf("no condition %s in %+v", typ, bc.Status.Conditions)
	}
	return *c
}

func TestHappyPathCreatesRepositoryTriggersAndBecomesReady(t *testing.T) {
	k, c := workingSetup(backupConfig(true))
	f := newFixture(t, k, c)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	bc := f.config("app", "web")
	if bc.Status.Phase != corev1alpha1.BackupConfigurationNotReady {
		t.Fatalf("phase %s before the Repository is Ready", bc.Status.Phase)
	}
	repo, err := f.cairn.StorageV1alpha1().Repositories("app").Get(f.ctx, "web-repo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if repo.Labels[controller.LabelConfig] != "web" || len(repo.OwnerReferences) != 0 {
		t.Fatalf("Repository must be labelled with its config and have no owner: %v %v", repo.Labels, repo.OwnerReferences)
	}
	if repo.Spec.Path != "app/web" || repo.Spec.StorageRef.Namespace != "app" || repo.Spec.StorageRef.Name != "s3" || repo.Spec.EncryptionSecret.Namespace != "app" {
		t.Fatalf("Repository spec %+v", repo.Spec)
	}
	cj, err := f.kube.BatchV1().CronJobs("app").Get(f.ctx, names.TriggerCronJob("web", "daily"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cj.Spec.Schedule != "0 2 * * *" || *cj.Spec.TimeZone != "UTC" || *cj.Spec.Suspend {
		t.Fatalf("CronJob spec %+v", cj.Spec)
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if pod.ServiceAccountName != jobs.TriggerServiceAccount || pod.Containers[0].Image != "cairn.local/cairn:test" ||
		strings.Join(pod.Containers[0].Args, " ") != "trigger --backup-configuration web --session daily" {
		t.Fatalf("trigger pod %+v", pod)
	}
	role, err := f.kube.RbacV1().Roles("app").Get(f.ctx, jobs.TriggerServiceAccount, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Create sessions, read the config, and list restores (a restore of the
	// target holds its backups): nothing else.
	if len(role.Rules) != 3 || role.Rules[0].Verbs[0] != "create" || role.Rules[0].Resources[0] != "backupsessions" ||
		role.Rules[1].Verbs[0] != "get" || role.Rules[1].Resources[0] != "backupconfigurations" ||
		role.Rules[2].Verbs[0] != "list" || role.Rules[2].Resources[0] != "restoresessions" {
		t.Fatalf("trigger Role %+v", role.Rules)
	}

	f.setRepositoryReady("app", "web-repo")
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	bc = f.config("app", "web")
	if bc.Status.Phase != corev1alpha1.BackupConfigurationReady {
		t.Fatalf("phase %s, conditions %+v", bc.Status.Phase, bc.Status.Conditions)
	}
	want := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	if len(bc.Status.Sessions) != 1 || !bc.Status.Sessions[0].NextSchedule.Time.Equal(want) || !bc.Status.NextSchedule.Time.Equal(want) {
		t.Fatalf("nextSchedule %+v, want %v", bc.Status.Sessions, want)
	}
	if bc.Status.ObservedGeneration != 1 || *bc.Status.TargetFound != true {
		t.Fatalf("status %+v", bc.Status)
	}

	// Steady state: nothing changed, so nothing is written.
	writes, err := f.sync("app", "web")
	if err != nil || len(writes) != 0 {
		t.Fatalf("steady state made %d writes (%v), err %v", len(writes), writes, err)
	}
}

func TestInvalidSpecSaysWhatToFixAndCreatesNothing(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*corev1alpha1.BackupConfiguration)
		cond   string
		reason string
		msg    string
	}{
		{"missing required param", func(bc *corev1alpha1.BackupConfiguration) {
			bc.Spec.Sessions[0].Addon.Tasks[0].Params = nil
		}, corev1alpha1.ConditionAddonReady, ReasonParamMissing, `needs param "paths"`},
		{"unknown param", func(bc *corev1alpha1.BackupConfiguration) {
			bc.Spec.Sessions[0].Addon.Tasks[0].Params["path"] = "/x"
		}, corev1alpha1.ConditionAddonReady, ReasonParamUnknown, "has no param path; its params are paths, exclude"},
		{"unknown task", func(bc *corev1alpha1.BackupConfiguration) {
			bc.Spec.Sessions[0].Addon.Tasks[0].Name = "volume-snapshot"
		}, corev1alpha1.ConditionAddonReady, ReasonTaskNotFound, `no backup task "volume-snapshot"; its backup tasks are logical-backup`},
		{"bad schedule", func(bc *corev1alpha1.BackupConfiguration) {
			bc.Spec.Sessions[0].Scheduler.Schedule = "every night"
		}, corev1alpha1.ConditionSchedulersReady, ReasonScheduleInvalid, "five fields"},
		{"bad time zone", func(bc *corev1alpha1.BackupConfiguration) {
			bc.Spec.Sessions[0].Scheduler.TimeZone = ptr("Mars/Base")
		}, corev1alpha1.ConditionSchedulersReady, ReasonScheduleInvalid, "IANA"},
		{"unknown backend", func(bc *corev1alpha1.BackupConfiguration) {
			bc.Spec.Sessions[0].Repositories[0].Backend = "gcs"
		}, corev1alpha1.ConditionBackendsReady, ReasonBackendInvalid, `backend "gcs", which is not in spec.backends`},
		{"target elsewhere", func(bc *corev1alpha1.BackupConfiguration) {
			bc.Spec.Target.Namespace = "other"
		}, corev1alpha1.ConditionTargetFound, ReasonTargetInvalid, "its own namespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bc := backupConfig(true)
			tc.edit(bc)
			k, c := workingSetup(bc)
			f := newFixture(t, k, c)
			if _, err := f.sync("app", "web"); err != nil {
				t.Fatal(err)
			}
			got := f.config("app", "web")
			if got.Status.Phase != corev1alpha1.BackupConfigurationInvalid {
				t.Fatalf("phase %s", got.Status.Phase)
			}
			cond := condition(t, got, tc.cond)
			if cond.Status != metav1.ConditionFalse || cond.Reason != tc.reason || !strings.Contains(cond.Message, tc.msg) {
				t.Fatalf("condition %+v, want reason %s mentioning %q", cond, tc.reason, tc.msg)
			}
			cjs, _ := f.kube.BatchV1().CronJobs("app").List(f.ctx, metav1.ListOptions{})
			repos, _ := f.cairn.StorageV1alpha1().Repositories("app").List(f.ctx, metav1.ListOptions{})
			if len(cjs.Items) != 0 || len(repos.Items) != 0 {
				t.Fatalf("an invalid config created %d CronJobs and %d Repositories", len(cjs.Items), len(repos.Items))
			}
		})
	}
}

func TestNotReadyWhenReferencesAreMissing(t *testing.T) {
	cases := []struct {
		name   string
		kube   []runtime.Object
		cairn  []runtime.Object
		cond   string
		reason string
	}{
		{"no target", nil, []runtime.Object{storage("app", "s3", true), policy("app", "keep", true), addon(), function()},
			corev1alpha1.ConditionTargetFound, ReasonTargetNotFound},
		{"no addon", []runtime.Object{deployment()}, []runtime.Object{storage("app", "s3", true), policy("app", "keep", true), function()},
			corev1alpha1.ConditionAddonReady, ReasonAddonNotFound},
		{"no function", []runtime.Object{deployment()}, []runtime.Object{storage("app", "s3", true), policy("app", "keep", true), addon()},
			corev1alpha1.ConditionAddonReady, ReasonFunctionNotFound},
		{"no storage", []runtime.Object{deployment()}, []runtime.Object{policy("app", "keep", true), addon(), function()},
			corev1alpha1.ConditionBackendsReady, ReasonStorageNotFound},
		{"storage in a namespace that does not share it", []runtime.Object{deployment()},
			[]runtime.Object{storage("infra", "s3", false), policy("app", "keep", true), addon(), function()},
			corev1alpha1.ConditionBackendsReady, ReasonStorageNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bc := backupConfig(true)
			if tc.reason == ReasonStorageNotAllowed {
				bc.Spec.Backends[0].StorageRef.Namespace = "infra"
			}
			f := newFixture(t, append(tc.kube, namespace("app", nil)), append(tc.cairn, bc))
			if _, err := f.sync("app", "web"); err != nil {
				t.Fatal(err)
			}
			got := f.config("app", "web")
			cond := condition(t, got, tc.cond)
			if got.Status.Phase != corev1alpha1.BackupConfigurationNotReady || cond.Reason != tc.reason {
				t.Fatalf("phase %s, condition %+v; want NotReady with %s", got.Status.Phase, cond, tc.reason)
			}
		})
	}
}

func TestDefaultsArePinned(t *testing.T) {
	k, c := workingSetup(backupConfig(false))
	f := newFixture(t, k, c)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	bc := f.config("app", "web")
	if d := bc.Status.DefaultBackend; d == nil || d.StorageRef.Name != "s3" || d.RetentionPolicy.Name != "keep" {
		t.Fatalf("defaultBackend %+v", bc.Status.DefaultBackend)
	}
	// A second default appears later: the pinned choice stays, nothing breaks.
	if _, err := f.cairn.StorageV1alpha1().BackupStorages("app").Create(f.ctx, storage("app", "gcs", true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	f.setRepositoryReady("app", "web-repo")
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	bc = f.config("app", "web")
	if bc.Status.Phase != corev1alpha1.BackupConfigurationReady || bc.Status.DefaultBackend.StorageRef.Name != "s3" {
		t.Fatalf("after a second default: phase %s, defaultBackend %+v, conditions %+v", bc.Status.Phase, bc.Status.DefaultBackend, bc.Status.Conditions)
	}
}

func TestSeveralDefaultsWithoutAPinAreReported(t *testing.T) {
	k, c := workingSetup(backupConfig(false), storage("app", "gcs", true))
	f := newFixture(t, k, c)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	bc := f.config("app", "web")
	cond := condition(t, bc, corev1alpha1.ConditionBackendsReady)
	if cond.Reason != ReasonSeveralDefaults || !strings.Contains(cond.Message, "app/gcs, app/s3") || bc.Status.DefaultBackend != nil {
		t.Fatalf("condition %+v, defaultBackend %+v", cond, bc.Status.DefaultBackend)
	}
}

func TestDefaultFromAnotherNamespaceNeedsItsUsagePolicy(t *testing.T) {
	shared := storage("infra", "shared", true)
	k, c := workingSetup(backupConfig(false))
	// Remove the namespace's own default storage, offer one from "infra".
	c = append(c[:1], c[2:]...)
	c = append(c, shared)
	f := newFixture(t, k, c)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	if cond := condition(t, f.config("app", "web"), corev1alpha1.ConditionBackendsReady); cond.Reason != ReasonNoDefault {
		t.Fatalf("a default from a namespace that does not share it was used: %+v", cond)
	}
}

func TestPauseSuspendsAndRemovedSessionDeletesItsCronJob(t *testing.T) {
	k, c := workingSetup(backupConfig(true))
	f := newFixture(t, k, c)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	bc := f.config("app", "web")
	bc.Spec.Paused = true
	bc.Spec.Sessions = append(bc.Spec.Sessions, bc.Spec.Sessions[0])
	bc.Spec.Sessions[1].Name = "hourly"
	bc.Spec.Sessions[1].Scheduler.Schedule = "@hourly"
	if _, err := f.cairn.CoreV1alpha1().BackupConfigurations("app").Update(f.ctx, bc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"daily", "hourly"} {
		cj, err := f.kube.BatchV1().CronJobs("app").Get(f.ctx, names.TriggerCronJob("web", s), metav1.GetOptions{})
		if err != nil || !*cj.Spec.Suspend {
			t.Fatalf("session %s: CronJob %v, err %v; want it suspended", s, cj, err)
		}
		// The cache holds CronJobs without their job template
		// (controller.TrimManaged): the update must write it whole.
		if len(cj.Spec.JobTemplate.Spec.Template.Spec.Containers) == 0 {
			t.Fatalf("session %s: the CronJob lost its job template: %+v", s, cj.Spec)
		}
	}
	if got := f.config("app", "web"); got.Status.NextSchedule != nil || condition(t, got, corev1alpha1.ConditionSchedulersReady).Reason != ReasonSchedulersPaused {
		t.Fatalf("paused config: nextSchedule %v, conditions %+v", got.Status.NextSchedule, got.Status.Conditions)
	}
	bc = f.config("app", "web")
	bc.Spec.Sessions = bc.Spec.Sessions[1:]
	if _, err := f.cairn.CoreV1alpha1().BackupConfigurations("app").Update(f.ctx, bc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.kube.BatchV1().CronJobs("app").Get(f.ctx, names.TriggerCronJob("web", "daily"), metav1.GetOptions{}); err == nil {
		t.Fatal("the CronJob of the removed session is still there")
	}
}

func TestRepositoryOfAnotherConfigOrDirectoryIsRefused(t *testing.T) {
	other := &storagev1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-repo", Labels: map[string]string{controller.LabelConfig: "db"}},
		Spec:       storagev1alpha1.RepositorySpec{StorageRef: bcStorageRef(), Path: "app/web"},
	}
	k, c := workingSetup(backupConfig(true), other)
	f := newFixture(t, k, c)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	bc := f.config("app", "web")
	cond := condition(t, bc, corev1alpha1.ConditionRepositoriesReady)
	if bc.Status.Phase != corev1alpha1.BackupConfigurationInvalid || cond.Reason != ReasonRepositoryConflict || !strings.Contains(cond.Message, "belongs to BackupConfiguration db") {
		t.Fatalf("phase %s, condition %+v", bc.Status.Phase, cond)
	}
}

func TestAdoptedRepositoryIsUsed(t *testing.T) {
	// Recreated by BackupStorage adoption: no config label, same place.
	adopted := &storagev1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-repo"},
		Spec:       storagev1alpha1.RepositorySpec{StorageRef: bcStorageRef(), Path: "app/web"},
		Status:     storagev1alpha1.RepositoryStatus{Phase: storagev1alpha1.RepositoryReady},
	}
	k, c := workingSetup(backupConfig(true), adopted)
	f := newFixture(t, k, c)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	if bc := f.config("app", "web"); bc.Status.Phase != corev1alpha1.BackupConfigurationReady {
		t.Fatalf("phase %s, conditions %+v", bc.Status.Phase, bc.Status.Conditions)
	}
}

func bcStorageRef() common.ObjectReference {
	return common.ObjectReference{Namespace: "app", Name: "s3"}
}

func TestTriggerRBACIsSharedAndGoesWithTheLastConfig(t *testing.T) {
	second := backupConfig(true)
	second.Name, second.UID = "db", "uid-db"
	second.Spec.Sessions[0].Repositories[0].Name = "db-repo"
	second.Spec.Sessions[0].Repositories[0].Directory = "app/db"
	k, c := workingSetup(backupConfig(true), second)
	f := newFixture(t, k, c)
	for _, name := range []string{"web", "db"} {
		if _, err := f.sync("app", name); err != nil {
			t.Fatal(err)
		}
	}
	sas, _ := f.kube.CoreV1().ServiceAccounts("app").List(f.ctx, metav1.ListOptions{})
	if len(sas.Items) != 1 {
		t.Fatalf("%d trigger ServiceAccounts for two configs, want one shared", len(sas.Items))
	}
	deleteConfig := func(name string) {
		if err := f.cairn.CoreV1alpha1().BackupConfigurations("app").Delete(f.ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.refresh()
		if _, err := f.sync("app", name); err != nil {
			t.Fatal(err)
		}
	}
	deleteConfig("web")
	if _, err := f.kube.RbacV1().Roles("app").Get(f.ctx, jobs.TriggerServiceAccount, metav1.GetOptions{}); err != nil {
		t.Fatalf("the trigger Role went while config db still needs it: %v", err)
	}
	deleteConfig("db")
	for _, get := range []func() error{
		func() error {
			_, err := f.kube.CoreV1().ServiceAccounts("app").Get(f.ctx, jobs.TriggerServiceAccount, metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := f.kube.RbacV1().Roles("app").Get(f.ctx, jobs.TriggerServiceAccount, metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := f.kube.RbacV1().RoleBindings("app").Get(f.ctx, jobs.TriggerServiceAccount, metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); err == nil {
			t.Fatal("trigger RBAC left behind after the namespace's last config was deleted")
		}
	}
	// The Repositories (and so the backups) stay.
	if repos, _ := f.cairn.StorageV1alpha1().Repositories("app").List(f.ctx, metav1.ListOptions{}); len(repos.Items) != 2 {
		t.Fatalf("%d Repositories left, want both kept", len(repos.Items))
	}
}
