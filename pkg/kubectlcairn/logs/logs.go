// Package logs is `kubectl cairn logs`: the output of every pod a backup
// or restore session ran (one per component, plus retention), found by the
// labels the operator puts on its Jobs' pods, so a user reads why a
// session failed without looking up Job and pod names.
package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// ErrNoSession is returned when neither a BackupSession nor a
// RestoreSession has the name.
var ErrNoSession = errors.New("no such session")

// Options shape the output.
type Options struct {
	// Follow streams the logs of running pods until they end, one pod
	// after the other.
	Follow bool
	// TailLines, when positive, shows only the last lines of each container.
	TailLines int64
}

// Selector is the label selector of the pods of session name: a
// BackupSession's or a RestoreSession's, whichever exists.
func Selector(ctx context.Context, c cairnclient.Interface, namespace, name string) (string, error) {
	_, err := c.CoreV1alpha1().BackupSessions(namespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return jobs.LabelBackupSession + "=" + name, nil
	}
	if !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("reading BackupSession %s/%s: %w", namespace, name, err)
	}
	_, err = c.CoreV1alpha1().RestoreSessions(namespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return jobs.LabelRestoreSession + "=" + name, nil
	}
	if !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("reading RestoreSession %s/%s: %w", namespace, name, err)
	}
	return "", fmt.Errorf("neither a BackupSession nor a RestoreSession %s/%s exists (kubectl get backupsessions,restoresessions -n %s lists them): %w", namespace, name, namespace, ErrNoSession)
}

// Write prints the logs of every container of the session's pods to w,
// oldest pod first, each under a "==> pod/container <==" header. A session
// whose pods are gone says so: Jobs and their pods are removed with the
// session's history.
func Write(ctx context.Context, kube kubernetes.Interface, c cairnclient.Interface, namespace, name string, w io.Writer, o Options) error {
	sel, err := Selector(ctx, c, namespace, name)
	if err != nil {
		return err
	}
	pods, err := kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("listing the pods of session %s/%s: %w", namespace, name, err)
	}
	if len(pods.Items) == 0 {
		fmt.Fprintf(w, "session %s/%s has no pods (not started yet, or its Jobs were removed)\n", namespace, name)
		return nil
	}
	items := pods.Items
	sort.Slice(items, func(i, j int) bool {
		if !items[i].CreationTimestamp.Equal(&items[j].CreationTimestamp) {
			return items[i].CreationTimestamp.Before(&items[j].CreationTimestamp)
		}
		return items[i].Name < items[j].Name
	})
	for i := range items {
		p := &items[i]
		for _, ct := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			fmt.Fprintf(w, "==> pod/%s container %s (%s) <==\n", p.Name, ct.Name, p.Status.Phase)
			if err := stream(ctx, kube, p, ct.Name, w, o); err != nil {
				fmt.Fprintf(w, "(no logs: %v)\n", err)
			}
		}
	}
	return nil
}

func stream(ctx context.Context, kube kubernetes.Interface, p *corev1.Pod, container string, w io.Writer, o Options) error {
	opts := &corev1.PodLogOptions{Container: container, Follow: o.Follow}
	if o.TailLines > 0 {
		opts.TailLines = &o.TailLines
	}
	rc, err := kube.CoreV1().Pods(p.Namespace).GetLogs(p.Name, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}
