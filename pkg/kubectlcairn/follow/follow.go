// Package follow waits for a session the plugin started (a BackupSession,
// a RestoreSession) to end, reading it at an interval: a watch would need
// list and watch rights and a reconnect loop, while a get per second is
// cheap and survives an API server restart by simply trying again.
package follow

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Until calls get every interval until final says the object it returned
// is final, and passes every object read to seen (when not nil). An
// object that disappears ends the wait with an error naming what; other
// read errors are retried. It returns the last object read.
func Until[T any](ctx context.Context, interval time.Duration, what string, get func(context.Context) (T, error), final func(T) bool, seen func(T)) (T, error) {
	var last T
	read := false
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		obj, err := get(ctx)
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("%s was deleted", what)
		}
		if err != nil {
			return false, nil // the API server may be restarting: try again
		}
		last, read = obj, true
		if seen != nil {
			seen(obj)
		}
		return final(obj), nil
	})
	if err != nil {
		if !read {
			return last, fmt.Errorf("waiting for %s: %w", what, err)
		}
		return last, fmt.Errorf("waiting for %s to finish: %w", what, err)
	}
	return last, nil
}
