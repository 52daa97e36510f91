package backupsession

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
			if t.Name == ref.Name && (t.Driver == "" || t.Driver == addonsv1alpha1.DriverCairn) {
				p.task, p.taskRef = t, ref
			}
		}
	}
	if p.task == nil {
		return nil, fail(ReasonInvalid, "session %s has no task Cairn can run yet (its tasks must include a Cairn-driver task such as logical-backup of %s)", p.session.Name, addon.Name)
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
		sns := repo.Spec.StorageRef.Namespace
		if sns == "" {
			sns = repo.Namespace
		}
		storage, err := c.storages.BackupStorages(sns).Get(repo.Spec.StorageRef.Name)
		if err != nil {
			return nil, fail(ReasonRepositoryNotReady, "BackupStorage %s/%s of Repository %s does not exist", sns, repo.Spec.StorageRef.Name, repo.Name)
		}
		p.repos = append(p.repos, repoPlan{repo: repo, storage: storage})
	}
	return p, nil
}

// targetComponents splits the target into the components backed up by one
// Job each, with the volumes, node and security context of each.
func (c *Controller) targetComponents(ctx context.Context, bc *corev1alpha1.BackupConfiguration) ([]jobs.Component, error) {
	t, ns := bc.Spec.Target, bc.Namespace
	notFound := func(err error) error {
		if apierrors.IsNotFound(err) {
			return fail(ReasonTargetNotFound, "%s %s/%s does not exist", t.Kind, ns, t.Name)
		}
		return err
	}
	switch t.Kind {
	case "PersistentVolumeClaim":
		pvc, err := c.pvcs.PersistentVolumeClaims(ns).Get(t.Name)
		if err != nil {
			return nil, notFound(err)
		}
		comp := jobs.Component{Name: jobs.ComponentDump, Volumes: jobs.PVCVolumes(pvc.Name)}
		if rwo(pvc) {
			comp.NodeName, comp.PodSecurity = c.nodeOfClaimUser(ctx, ns, pvc.Name)
		}
		return []jobs.Component{comp}, nil
	case "Deployment":
		d, err := c.deployments.Deployments(ns).Get(t.Name)
		if err != nil {
			return nil, notFound(err)
		}
		comp := jobs.Component{Name: jobs.ComponentDump, Volumes: jobs.PodVolumes(&d.Spec.Template.Spec, jobs.ClaimOf), PodSecurity: d.Spec.Template.Spec.SecurityContext}
		if node := c.nodeOfRunningPod(ctx, ns, d.Spec.Selector); node != "" && c.anyRWO(ns, comp.Volumes) {
			comp.NodeName = node
		}
		return nonEmpty(t.Kind, t.Name, []jobs.Component{comp})
	case "StatefulSet":
		s, err := c.statefulsets.StatefulSets(ns).Get(t.Name)
		if err != nil {
			return nil, notFound(err)
		}
		replicas := int32(1)
		if s.Spec.Replicas != nil {
			replicas = *s.Spec.Replicas
		}
		var comps []jobs.Component
		for i := int32(0); i < replicas; i++ {
			comp := jobs.Component{Name: jobs.StatefulSetComponent(i), Volumes: jobs.StatefulSetVolumes(s, i), PodSecurity: s.Spec.Template.Spec.SecurityContext}
			if pod, err := c.kube.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("%s-%d", s.Name, i), metav1.GetOptions{}); err == nil && pod.Spec.NodeName != "" && c.anyRWO(ns, comp.Volumes) {
				comp.NodeName = pod.Spec.NodeName
			}
			comps = append(comps, comp)
		}
		return nonEmpty(t.Kind, t.Name, comps)
	case "DaemonSet":
		d, err := c.daemonsets.DaemonSets(ns).Get(t.Name)
		if err != nil {
			return nil, notFound(err)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			return nil, fail(ReasonInvalid, "DaemonSet %s has an invalid selector: %v", d.Name, err)
		}
		pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, err
		}
		var comps []jobs.Component
		for _, pod := range pods.Items {
			if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
				continue
			}
			comps = append(comps, jobs.Component{Name: jobs.DaemonSetComponent(pod.Spec.NodeName), NodeName: pod.Spec.NodeName,
				Volumes: jobs.PodVolumes(&d.Spec.Template.Spec, jobs.ClaimOf), PodSecurity: d.Spec.Template.Spec.SecurityContext})
		}
		return nonEmpty(t.Kind, t.Name, comps)
	}
	return nil, fail(ReasonInvalid, "target kind %q is not supported", t.Kind)
}

func nonEmpty(kind, name string, comps []jobs.Component) ([]jobs.Component, error) {
	if len(comps) == 0 {
		return nil, fail(ReasonNothingToBackUp, "%s %s has no pods to back up (scaled to zero?)", kind, name)
	}
	for _, c := range comps {
		if len(c.Volumes) == 0 {
			return nil, fail(ReasonNothingToBackUp, "%s %s mounts no PersistentVolumeClaim: there is nothing Cairn can back up", kind, name)
		}
	}
	return comps, nil
}

func rwo(pvc *corev1.PersistentVolumeClaim) bool {
	for _, m := range pvc.Spec.AccessModes {
		if m == corev1.ReadWriteOnce || m == corev1.ReadWriteOncePod {
			return true
		}
	}
	return false
}

func (c *Controller) anyRWO(ns string, vols []jobs.TargetVolume) bool {
	for _, v := range vols {
		if pvc, err := c.pvcs.PersistentVolumeClaims(ns).Get(v.ClaimName); err == nil && rwo(pvc) {
			return true
		}
	}
	return false
}

// nodeOfRunningPod is the node of a running pod matching sel, or "".
func (c *Controller) nodeOfRunningPod(ctx context.Context, ns string, sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return ""
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" {
			return p.Spec.NodeName
		}
	}
	return ""
}

// nodeOfClaimUser finds a running pod that mounts claim: its node (where a
// ReadWriteOnce volume is attached) and its security context.
func (c *Controller) nodeOfClaimUser(ctx context.Context, ns, claim string) (string, *corev1.PodSecurityContext) {
	pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", nil
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName == "" {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if jobs.ClaimOf(v) == claim {
				return p.Spec.NodeName, p.Spec.SecurityContext
			}
		}
	}
	return "", nil
}
