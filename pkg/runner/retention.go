package runner

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
)

// RetentionRequest is one retention Job's work: forget the engine
// snapshots the operator's retention plan dropped, then prune the
// repository (under the engine's prune lock, so two prunes never run on one
// repository, also from two clusters).
type RetentionRequest struct {
	// Namespace of the Repository.
	Namespace string
	// Repository is the Repository object whose engine repository is pruned.
	Repository string
	// Forget are the engine snapshot IDs to forget (full hex IDs).
	Forget []string
	// Owner names this run in the prune lock ("<namespace>/<session>").
	Owner string
}

// RetentionResult is what a retention run did.
type RetentionResult struct {
	Forgotten   int                `json:"forgotten"`
	AlreadyGone int                `json:"alreadyGone"`
	Prune       *maint.PruneResult `json:"prune,omitempty"`
}

// Retention forgets q.Forget and prunes. Forgetting is idempotent (a run
// retried after a crash forgets what is left); a failure stops the run
// before the prune, so nothing is pruned on a half-applied plan.
func (r *Runner) Retention(ctx context.Context, q RetentionRequest) (*RetentionResult, error) {
	if q.Namespace == "" || q.Repository == "" {
		return nil, errors.New("namespace and repository are required")
	}
	rp, err := r.Cairn.StorageV1alpha1().Repositories(q.Namespace).Get(ctx, q.Repository, metav1.GetOptions{})
	if err != nil {
		return nil, apiFailure(err, fmt.Sprintf("Repository %s/%s", q.Namespace, q.Repository))
	}
	loc, err := r.resolve(ctx, rp, rp.Spec.EncryptionSecret)
	if err != nil {
		return nil, err
	}
	engine, err := r.open(ctx, loc, false)
	if err != nil {
		return nil, err
	}
	defer engine.Close()
	res := &RetentionResult{}
	for _, s := range q.Forget {
		id, err := repo.ParseID(s)
		if err != nil {
			return res, &Error{Message: fmt.Sprintf("engine snapshot ID %q does not parse: %v", s, err), Err: err}
		}
		if err := engine.DeleteSnapshot(ctx, id); err != nil {
			return res, engineFailure(ctx, fmt.Errorf("forgetting engine snapshot %s: %w", id.Short(), err), loc)
		}
		res.Forgotten++
	}
	owner := q.Owner
	if owner == "" {
		owner = "cairn retention " + q.Namespace + "/" + q.Repository
	}
	pr, err := maint.Prune(ctx, engine, maint.PruneOptions{Owner: owner})
	if err != nil {
		return res, engineFailure(ctx, fmt.Errorf("pruning: %w", err), loc)
	}
	res.Prune = pr
	klog.FromContext(ctx).Info("Retention applied", "repository", q.Repository, "forgotten", res.Forgotten)
	return res, nil
}
