// Package trigger creates a BackupSession for one session of a
// BackupConfiguration, exactly as the trigger CronJob does (`cairn trigger`)
// and as a user's manual trigger will: the same name, labels and spec, so
// the BackupSession controller cannot tell them apart.
package trigger

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
)

// maxAttempts bounds the name retries for sessions made in the same second.
const maxAttempts = 10

// Errors a caller can tell apart.
var (
	// ErrPaused: the config is paused; no session was created.
	ErrPaused = errors.New("the BackupConfiguration is paused")
	// ErrNoSession: the config has no session of that name.
	ErrNoSession = errors.New("no such session")
	// ErrRestoreRunning: a RestoreSession of the config's target holds its
	// backups (status.pausedBackups) until it finishes; no session was
	// created, since a backup now would read a half-restored volume.
	ErrRestoreRunning = errors.New("a restore of its target is running")
)

// Create makes a BackupSession of session of the BackupConfiguration
// namespace/config, named "<config>-<session>-<unix seconds>" (with a
// suffix when that name is taken). It returns ErrPaused for a paused config
// and ErrRestoreRunning while a restore of its target holds its backups;
// neither creates anything.
func Create(ctx context.Context, c cairnclient.Interface, namespace, config, session string, now time.Time) (*corev1alpha1.BackupSession, error) {
	bc, err := c.CoreV1alpha1().BackupConfigurations(namespace).Get(ctx, config, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading BackupConfiguration %s/%s: %w", namespace, config, err)
	}
	var s *corev1alpha1.Session
	var known []string
	for i := range bc.Spec.Sessions {
		known = append(known, bc.Spec.Sessions[i].Name)
		if bc.Spec.Sessions[i].Name == session {
			s = &bc.Spec.Sessions[i]
		}
	}
	if s == nil {
		return nil, fmt.Errorf("BackupConfiguration %s/%s has no session %q (it has %v): %w", namespace, config, session, known, ErrNoSession)
	}
	if bc.Spec.Paused {
		return nil, fmt.Errorf("BackupConfiguration %s/%s: %w", namespace, config, ErrPaused)
	}
	if rs, err := holdingRestore(ctx, c, namespace, config); err != nil {
		return nil, err
	} else if rs != "" {
		return nil, fmt.Errorf("BackupConfiguration %s/%s: RestoreSession %s holds its backups: %w", namespace, config, rs, ErrRestoreRunning)
	}
	bs := &corev1alpha1.BackupSession{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Labels:    map[string]string{labels.Config: config, labels.Session: session},
		},
		Spec: corev1alpha1.BackupSessionSpec{
			Invoker: common.TypedLocalObjectReference{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: config},
			Session: session,
		},
	}
	if s.RetryConfig != nil {
		bs.Spec.RetryLeft = s.RetryConfig.MaxRetry
	}
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		bs.Name = names.BackupSession(config, session, now.Unix(), attempt)
		created, err := c.CoreV1alpha1().BackupSessions(namespace).Create(ctx, bs, metav1.CreateOptions{FieldManager: "cairn-trigger"})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating BackupSession %s/%s: %w", namespace, bs.Name, err)
		}
		return created, nil
	}
	return nil, fmt.Errorf("creating a BackupSession of %s/%s: the names %s... are all taken", namespace, config, names.BackupSession(config, session, now.Unix(), 1))
}

// holdingRestore names the unfinished RestoreSession that holds the backups
// of config, or "". A trigger whose ServiceAccount may not list
// RestoreSessions (a Role from before this check) creates the session, and
// the BackupSession controller skips it instead.
func holdingRestore(ctx context.Context, c cairnclient.Interface, namespace, config string) (string, error) {
	list, err := c.CoreV1alpha1().RestoreSessions(namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("listing the RestoreSessions of namespace %s: %w", namespace, err)
	}
	for i := range list.Items {
		if list.Items[i].HoldsBackupsOf(namespace, config) {
			return list.Items[i].Name, nil
		}
	}
	return "", nil
}
