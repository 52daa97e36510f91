// Package restore is `kubectl cairn restore`: it writes the
// RestoreSession a user would otherwise write by hand (the snapshot, its
// repository's encryption Secret, the default Addon for the target's kind)
// and follows it to the end, summing the restore Jobs' progress.
package restore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/follow"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/source"
	"github.com/cairnbackup/cairn/pkg/names"
)

// The default Addons (deploy/addons) and their restore task.
const (
	// WorkloadAddon restores the volumes of a Deployment, StatefulSet or DaemonSet.
	WorkloadAddon = "workload-addon"
	// PVCAddon restores a stand-alone PersistentVolumeClaim.
	PVCAddon = "pvc-addon"
	// RestoreTask is both default Addons' restore task.
	RestoreTask = "logical-backup-restore"
)

// ErrFailed is returned by Follow for a restore that did not succeed.
var ErrFailed = errors.New("the restore did not succeed")

// Request is a restore to create.
type Request struct {
	// Snapshot is a Snapshot name or "latest".
	Snapshot string
	// Repository narrows "latest"; "" takes the target's only Repository.
	Repository string
	// Target is what receives the data (ParseTarget reads --to).
	Target common.TypedObjectReference
	// Name of the RestoreSession; "" makes restore-<target>-<unix time>.
	Name string
	// Addon and Task override the default Addon for the target's kind.
	Addon, Task string
	// Components restores only these components of the snapshot.
	Components []string
}

// Create checks that the target exists, finds the snapshot and creates
// the RestoreSession. It returns the session and the snapshot found.
func Create(ctx context.Context, kube kubernetes.Interface, c cairnclient.Interface, namespace string, q Request, now time.Time) (*corev1alpha1.RestoreSession, *source.Found, error) {
	if err := targetExists(ctx, kube, namespace, q.Target); err != nil {
		return nil, nil, err
	}
	found, err := source.Find(ctx, c, namespace, source.Request{Snapshot: q.Snapshot, Repository: q.Repository, App: &q.Target})
	if err != nil {
		return nil, nil, err
	}
	rs := Build(namespace, q, found, now)
	created, err := c.CoreV1alpha1().RestoreSessions(namespace).Create(ctx, rs, metav1.CreateOptions{FieldManager: "kubectl-cairn"})
	if apierrors.IsAlreadyExists(err) {
		return nil, nil, fmt.Errorf("RestoreSession %s/%s already exists: pass another --name", namespace, rs.Name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("creating RestoreSession %s/%s: %w", namespace, rs.Name, err)
	}
	return created, found, nil
}

// Build is the RestoreSession of q from the snapshot found: the concrete
// Snapshot (latest resolved here, so what was printed is what is
// restored), the Repository's encryption Secret and the default Addon.
func Build(namespace string, q Request, found *source.Found, now time.Time) *corev1alpha1.RestoreSession {
	name := q.Name
	if name == "" {
		name = names.Join(63, "restore", q.Target.Name, strconv.FormatInt(now.Unix(), 10))
	}
	addon, task := q.Addon, q.Task
	if addon == "" {
		addon = WorkloadAddon
		if isPVC(q.Target) {
			addon = PVCAddon
		}
	}
	if task == "" {
		task = RestoreTask
	}
	target := q.Target
	target.Namespace = ""
	return &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &target,
			DataSource: corev1alpha1.RestoreDataSource{
				Repository:       found.Repository.Name,
				Snapshot:         found.Snapshot.Name,
				EncryptionSecret: found.Repository.Spec.EncryptionSecret,
				Components:       q.Components,
			},
			Addon: corev1alpha1.AddonInfo{Name: addon, Tasks: []corev1alpha1.TaskReference{{Name: task}}},
		},
	}
}

func targetExists(ctx context.Context, kube kubernetes.Interface, ns string, t common.TypedObjectReference) error {
	var err error
	switch t.Kind {
	case "PersistentVolumeClaim":
		_, err = kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, t.Name, metav1.GetOptions{})
	case "Deployment":
		_, err = kube.AppsV1().Deployments(ns).Get(ctx, t.Name, metav1.GetOptions{})
	case "StatefulSet":
		_, err = kube.AppsV1().StatefulSets(ns).Get(ctx, t.Name, metav1.GetOptions{})
	case "DaemonSet":
		_, err = kube.AppsV1().DaemonSets(ns).Get(ctx, t.Name, metav1.GetOptions{})
	default:
		return fmt.Errorf("cannot restore into a %s: the target is a PersistentVolumeClaim, Deployment, StatefulSet or DaemonSet", t.Kind)
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("the restore target %s %s/%s does not exist: create it first (a restore fills an existing volume)", t.Kind, ns, t.Name)
	}
	if err != nil {
		return fmt.Errorf("reading the restore target %s %s/%s: %w", t.Kind, ns, t.Name, err)
	}
	return nil
}

// Progress is the sum of the components' progress.
type Progress struct {
	// BytesDone, BytesTotal, FilesDone and FilesTotal are the restore
	// Jobs' reports added up (a total of 0 is not known yet).
	BytesDone, BytesTotal, FilesDone, FilesTotal int64
	// Done and Total count the finished and all components.
	Done, Total int
}

// ProgressOf sums rs's component progress; a finished component counts
// as complete even when the runner's last progress report was earlier.
func ProgressOf(rs *corev1alpha1.RestoreSession) Progress {
	p := Progress{Total: int(rs.Status.TotalComponents)}
	for _, c := range rs.Status.Components {
		if c.Progress != nil {
			p.BytesDone += c.Progress.BytesDone
			p.BytesTotal += c.Progress.BytesTotal
			p.FilesDone += c.Progress.FilesDone
			p.FilesTotal += c.Progress.FilesTotal
		}
		if c.Phase == storagev1alpha1.ComponentSucceeded || c.Phase == storagev1alpha1.ComponentFailed {
			p.Done++
			if c.Progress != nil && c.Phase == storagev1alpha1.ComponentSucceeded {
				p.BytesDone += c.Progress.BytesTotal - c.Progress.BytesDone
				p.FilesDone += c.Progress.FilesTotal - c.Progress.FilesDone
			}
		}
	}
	return p
}

// Follow polls the RestoreSession every interval until it is final,
// calling seen with every version. It returns ErrFailed, with the reasons
// the session and its components give, unless it Succeeded.
func Follow(ctx context.Context, c cairnclient.Interface, namespace, name string, interval time.Duration, seen func(*corev1alpha1.RestoreSession)) (*corev1alpha1.RestoreSession, error) {
	last, err := follow.Until(ctx, interval, fmt.Sprintf("RestoreSession %s/%s", namespace, name),
		func(ctx context.Context) (*corev1alpha1.RestoreSession, error) {
			return c.CoreV1alpha1().RestoreSessions(namespace).Get(ctx, name, metav1.GetOptions{})
		},
		func(rs *corev1alpha1.RestoreSession) bool { return rs.Status.Phase.IsFinished() }, seen)
	if err != nil {
		return last, err
	}
	if last.Status.Phase != corev1alpha1.RestoreSucceeded {
		return last, fmt.Errorf("RestoreSession %s/%s is %s: %s: %w", namespace, name, last.Status.Phase, Reason(last), ErrFailed)
	}
	return last, nil
}

// Reason explains a restore that did not succeed: its components' errors
// and its False conditions.
func Reason(rs *corev1alpha1.RestoreSession) string {
	var msgs []string
	comps := make([]string, 0, len(rs.Status.Components))
	for name := range rs.Status.Components {
		comps = append(comps, name)
	}
	sort.Strings(comps)
	for _, name := range comps {
		if e := rs.Status.Components[name].Error; e != "" {
			msgs = append(msgs, "component "+name+": "+e)
		}
	}
	for _, c := range rs.Status.Conditions {
		if c.Status == metav1.ConditionFalse && c.Message != "" {
			msgs = append(msgs, c.Message)
		}
	}
	if len(msgs) == 0 {
		return "no reason given (kubectl cairn logs " + rs.Name + " shows the Jobs' output)"
	}
	return strings.Join(msgs, "; ")
}
