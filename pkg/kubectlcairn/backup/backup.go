// Package backup is `kubectl cairn trigger`: it starts a backup now by
// creating a BackupSession through pkg/trigger, the code the schedule's
// CronJob runs, so the operator cannot tell a manual backup from a
// scheduled one, and it can follow the session until it is final.
package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/follow"
	"github.com/cairnbackup/cairn/pkg/trigger"
)

// ErrSessionRequired is returned when the config has several sessions and
// none was named.
var ErrSessionRequired = errors.New("the BackupConfiguration has several sessions")

// ErrFailed is returned by Wait for a session that ended in another phase
// than Succeeded.
var ErrFailed = errors.New("the backup did not succeed")

// Trigger creates a BackupSession of session of the BackupConfiguration
// namespace/config, exactly as its trigger CronJob would. An empty session
// means the config's only session.
func Trigger(ctx context.Context, c cairnclient.Interface, namespace, config, session string, now time.Time) (*corev1alpha1.BackupSession, error) {
	if session == "" {
		bc, err := c.CoreV1alpha1().BackupConfigurations(namespace).Get(ctx, config, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("BackupConfiguration %s/%s does not exist: %w", namespace, config, err)
		}
		if err != nil {
			return nil, fmt.Errorf("reading BackupConfiguration %s/%s: %w", namespace, config, err)
		}
		switch len(bc.Spec.Sessions) {
		case 0:
			return nil, fmt.Errorf("BackupConfiguration %s/%s has no sessions: %w", namespace, config, trigger.ErrNoSession)
		case 1:
			session = bc.Spec.Sessions[0].Name
		default:
			return nil, fmt.Errorf("BackupConfiguration %s/%s: %w (%s): name one with --session", namespace, config, ErrSessionRequired, sessionNames(bc))
		}
	}
	return trigger.Create(ctx, c, namespace, config, session, now)
}

func sessionNames(bc *corev1alpha1.BackupConfiguration) string {
	var names []string
	for _, s := range bc.Spec.Sessions {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// Wait polls the BackupSession namespace/name every interval until it is
// final, calling seen with each version whose phase differs from the one
// before. It returns the final session, and ErrFailed (with the reason
// the session gives) unless it Succeeded.
func Wait(ctx context.Context, c cairnclient.Interface, namespace, name string, interval time.Duration, seen func(*corev1alpha1.BackupSession)) (*corev1alpha1.BackupSession, error) {
	var phase *corev1alpha1.BackupSessionPhase
	last, err := follow.Until(ctx, interval, fmt.Sprintf("BackupSession %s/%s", namespace, name),
		func(ctx context.Context) (*corev1alpha1.BackupSession, error) {
			return c.CoreV1alpha1().BackupSessions(namespace).Get(ctx, name, metav1.GetOptions{})
		},
		func(bs *corev1alpha1.BackupSession) bool { return bs.Status.Phase.IsFinished() },
		func(bs *corev1alpha1.BackupSession) {
			if seen != nil && (phase == nil || *phase != bs.Status.Phase) {
				seen(bs)
			}
			phase = &bs.Status.Phase
		})
	if err != nil {
		if last != nil {
			return last, fmt.Errorf("%w (phase %s)", err, phaseOf(last))
		}
		return nil, err
	}
	if last.Status.Phase != corev1alpha1.BackupSessionSucceeded {
		return last, fmt.Errorf("BackupSession %s/%s is %s: %s: %w", namespace, name, last.Status.Phase, Reason(last), ErrFailed)
	}
	return last, nil
}

func phaseOf(bs *corev1alpha1.BackupSession) string {
	if bs.Status.Phase == "" {
		return "not started"
	}
	return string(bs.Status.Phase)
}

// Reason is the operator's explanation of a session that did not succeed:
// the message of its last False or telling condition, else "no reason given".
func Reason(bs *corev1alpha1.BackupSession) string {
	var msgs []string
	for _, c := range bs.Status.Conditions {
		bad := c.Status == metav1.ConditionFalse
		if c.Type == corev1alpha1.ConditionSessionSkipped || c.Type == corev1alpha1.ConditionDeadlineExceeded {
			bad = c.Status == metav1.ConditionTrue
		}
		if bad && c.Message != "" {
			msgs = append(msgs, c.Message)
		}
	}
	if len(msgs) == 0 {
		return "no reason given (kubectl cairn logs " + bs.Name + " shows the Jobs' output)"
	}
	return strings.Join(msgs, "; ")
}
