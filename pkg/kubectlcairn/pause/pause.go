// Package pause is `kubectl cairn pause` and `resume`: it sets a
// BackupConfiguration's spec.paused, which the operator turns into
// suspended trigger CronJobs, with a merge patch of that one field so a
// concurrent edit of anything else is never overwritten.
package pause

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// Set makes spec.paused of namespace/config equal paused. It reports
// whether it changed anything (pausing a paused config is not an error).
func Set(ctx context.Context, c cairnclient.Interface, namespace, config string, paused bool) (*corev1alpha1.BackupConfiguration, bool, error) {
	configs := c.CoreV1alpha1().BackupConfigurations(namespace)
	bc, err := configs.Get(ctx, config, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, fmt.Errorf("BackupConfiguration %s/%s does not exist (kubectl cairn status lists them)", namespace, config)
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading BackupConfiguration %s/%s: %w", namespace, config, err)
	}
	if bc.Spec.Paused == paused {
		return bc, false, nil
	}
	patch := fmt.Appendf(nil, `{"spec":{"paused":%t}}`, paused)
	bc, err = configs.Patch(ctx, config, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-cairn"})
	if err != nil {
		return nil, false, fmt.Errorf("setting spec.paused of BackupConfiguration %s/%s: %w", namespace, config, err)
	}
	return bc, true, nil
}
