package runner

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
)

// CheckRequest is one integrity check Job's work: verify the structure of
// a Repository's engine repository and read a share of its packs.
type CheckRequest struct {
	// Namespace of the Repository.
	Namespace string
	// Repository is the Repository object whose engine repository is checked.
	Repository string
	// ReadFraction in (0,1] is the share of packs downloaded and verified
	// blob by blob (random, so successive checks cover different packs);
	// 0 reads none.
	ReadFraction float64
}

// maxReportedProblems bounds the problems a report names: it travels in a
// pod's termination message, which holds 4 KiB.
const maxReportedProblems = 5

// maxProblemMessage bounds one reported problem's message.
const maxProblemMessage = 300

// ErrDamaged means the check ran and found damage; the command exits
// with the code `cairn repo check` uses for it.
var ErrDamaged = errors.New("the repository is damaged")

// Check verifies the Repository's engine repository. A repository that
// opens and checks clean gives a report and no error; one with defects
// gives the report and an error wrapping ErrDamaged; one that cannot be
// checked at all (missing, wrong password, store down) gives only the
// error.
func (r *Runner) Check(ctx context.Context, q CheckRequest) (*jobs.CheckReport, error) {
	if q.Namespace == "" || q.Repository == "" {
		return nil, errors.New("namespace and repository are required")
	}
	opts := maint.CheckOptions{ReadData: q.ReadFraction > 0, ReadFraction: q.ReadFraction}
	if err := opts.Validate(); err != nil {
		return nil, &Error{Message: err.Error(), Err: err}
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
	res, err := maint.Check(ctx, engine, opts)
	if err != nil {
		return nil, engineFailure(ctx, fmt.Errorf("checking: %w", err), loc)
	}
	rep := &jobs.CheckReport{Snapshots: res.Snapshots, Packs: res.Packs, PacksRead: res.PacksRead, ProblemCount: len(res.Problems)}
	for _, p := range res.Problems[:min(len(res.Problems), maxReportedProblems)] {
		if len(p.Message) > maxProblemMessage {
			p.Message = p.Message[:maxProblemMessage] + "..."
		}
		rep.Problems = append(rep.Problems, jobs.CheckProblem{Object: p.Object, Message: p.Message})
	}
	klog.FromContext(ctx).Info("Integrity check done", "repository", q.Repository, "snapshots", rep.Snapshots, "packs", rep.Packs, "packsRead", rep.PacksRead, "problems", rep.ProblemCount)
	if rep.ProblemCount > 0 {
		return rep, &Error{Message: fmt.Sprintf("the repository at %s is damaged: %d problems (run `cairn repo check --read-data --repo %s` for all of them)",
			loc.safeURL(), rep.ProblemCount, loc.safeURL()), Err: errors.Join(ErrDamaged, repo.ErrCorrupt)}
	}
	return rep, nil
}
