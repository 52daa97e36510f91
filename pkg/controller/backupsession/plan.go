package backupsession

import (
	"fmt"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// plan is everything a session's work needs, resolved from its config.
type plan struct {
	config     *corev1alpha1.BackupConfiguration
	session    *corev1alpha1.Session
	task       *addonsv1alpha1.Task
	taskRef    *corev1alpha1.TaskReference
	function   *addonsv1alpha1.Function
	repos      []repoPlan
	components []jobs.Component
	// snapshotClaims are, for a VolumeSnapshot task, each component's
	// claims and classes (volumesnapshot.go).
	snapshotClaims map[string]snapshotClaims
	// exports are the data-mover components that back those snapshots up
	// through the engine (export.go), by name.
	exports map[string]exportPlan
	// accountAnnotations go on the runner's ServiceAccount: the storages'
	// cloud identity (runtimeSettings.serviceAccountAnnotations).
	accountAnnotations map[string]string
}

type repoPlan struct {
	repo    *storagev1alpha1.Repository
	storage *storagev1alpha1.BackupStorage
}

// planError is a problem no retry fixes: the session fails with it.
type planError struct{ reason, msg string }

func (e *planError) Error() string { return e.msg }

func fail(reason, format string, a ...any) error {
	return &planError{reason: reason, msg: fmt.Sprintf(format, a...)}
}

// resolve finds the config, session, task, Function and repositories of bs.
func (c *Controller) resolve(bs *corev1alpha1.BackupSession) (*plan, error) {
	p := &plan{}
	var err error
	if bs.Spec.Invoker.Kind != "BackupConfiguration" {
		return nil, fail(ReasonInvalid, "invoker kind %q is not supported: a BackupSession is invoked by a BackupConfiguration", bs.Spec.Invoker.Kind)
	}
	if p.config, err = c.configs.BackupConfigurations(bs.Namespace).Get(bs.Spec.Invoker.Name); err != nil {
		return nil, fail(ReasonConfigNotFound, "BackupConfiguration %s/%s does not exist", bs.Namespace, bs.Spec.Invoker.Name)
	}
	for i := range p.config.Spec.Sessions {
		if p.config.Spec.Sessions[i].Name == bs.Spec.Session {
			p.session = &p.config.Spec.Sessions[i]
		}
	}
	if p.session == nil {
		return nil, fail(ReasonInvalid, "BackupConfiguration %s has no session %q", p.config.Name, bs.Spec.Session)
	}
	if p.config.Status.Phase != corev1alpha1.BackupConfigurationReady {
		return nil, fail(ReasonConfigNotReady, "BackupConfiguration %s is %s, not Ready: see its conditions", p.config.Name, p.config.Status.Phase)
	}
	addon, err := c.addons.Get(p.session.Addon.Name)
	if err != nil {
		return nil, fail(ReasonInvalid, "Addon %q is not installed", p.session.Addon.Name)
	}
	for i := range p.session.Addon.Tasks {
		ref := &p.session.Addon.Tasks[i]
		for j := range addon.Spec.BackupTasks {
			t := &addon.Spec.BackupTasks[j]
			if t.Name == ref.Name && (t.Driver == "" || t.Driver == addonsv1alpha1.DriverCairn || t.Driver == addonsv1alpha1.DriverVolumeSnapshotter) {
				p.task, p.taskRef = t, ref
			}
		}
	}
	if p.task == nil {
		return nil, fail(ReasonInvalid, "session %s has no task Cairn can run (its tasks must include a Cairn or VolumeSnapshotter task, such as logical-backup or volume-snapshot of %s)", p.session.Name, addon.Name)
	}
	if p.function, err = c.functions.Get(p.task.Function); err != nil {
		return nil, fail(ReasonInvalid, "Function %q of task %s is not installed", p.task.Function, p.task.Name)
	}
	for _, info := range p.session.Repositories {
		repo, err := c.repositories.Repositories(bs.Namespace).Get(info.Name)
		if err != nil {
			return nil, fail(ReasonRepositoryNotReady, "Repository %s does not exist", info.Name)
		}
		if repo.Status.Phase != storagev1alpha1.RepositoryReady {
			return nil, fail(ReasonRepositoryNotReady, "Repository %s is not Ready: see its conditions", info.Name)
		}
		ref := repo.Spec.StorageRef.WithNamespace(repo.Namespace)
		storage, err := c.storages.BackupStorages(ref.Namespace).Get(ref.Name)
		if err != nil {
			return nil, fail(ReasonRepositoryNotReady, "BackupStorage %s/%s of Repository %s does not exist", ref.Namespace, ref.Name, repo.Name)
		}
		p.repos = append(p.repos, repoPlan{repo: repo, storage: storage})
	}
	storages := make([]*storagev1alpha1.BackupStorage, 0, len(p.repos))
	for _, rp := range p.repos {
		storages = append(storages, rp.storage)
	}
	if p.accountAnnotations, err = jobs.AccountAnnotations(storages...); err != nil {
		return nil, fail(ReasonInvalid, "%v", err)
	}
	return p, nil
}
