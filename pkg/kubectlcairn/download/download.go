// Package download is `kubectl cairn download`: it restores a Snapshot to
// this machine's disk through the data engine, straight from the bucket,
// with the credentials the BackupStorage's Secret holds and the password
// of the Repository's encryption Secret, so getting data out needs no Job,
// no PVC and no running operator.
package download

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/source"
	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

// Request is a download.
type Request struct {
	// Snapshot is a Snapshot name or "latest".
	Snapshot string
	// Repository narrows "latest".
	Repository string
	// Dir receives the files: a component's /data/a is written to
	// Dir/data/a, or Dir/<component>/data/a when several are downloaded.
	Dir string
	// Components downloads only these; empty means all.
	Components []string
	// Endpoint replaces an s3 storage's endpoint.
	Endpoint string
	// Progress, when set, receives the restore's progress.
	Progress progress.Func
	// Warn receives problems with single files.
	Warn func(path string, err error)
}

// Component is what was downloaded of one component.
type Component struct {
	// Name of the component.
	Name string `json:"name"`
	// SnapshotID is the engine snapshot restored.
	SnapshotID string `json:"snapshotID"`
	// Dir is where its files are.
	Dir string `json:"dir"`
	// Stats are the restorer's counts.
	Stats restorer.Stats `json:"stats"`
}

// Result is what a download wrote.
type Result struct {
	// Snapshot is the Snapshot object downloaded ("latest" resolved).
	Snapshot string `json:"snapshot"`
	// Repository it is in.
	Repository string `json:"repository"`
	// URL of the engine repository, without secrets.
	URL string `json:"url"`
	// Components downloaded.
	Components []Component `json:"components"`
}

// ErrPartial is returned when files were restored with warnings.
var ErrPartial = errors.New("some files were not restored exactly")

// Run downloads q in namespace.
func Run(ctx context.Context, kube kubernetes.Interface, c cairnclient.Interface, namespace string, q Request) (*Result, error) {
	if q.Dir == "" {
		return nil, errors.New("no destination: pass --to DIR")
	}
	found, err := source.Find(ctx, c, namespace, source.Request{Snapshot: q.Snapshot, Repository: q.Repository})
	if err != nil {
		return nil, err
	}
	comps, err := pick(found.Snapshot, q.Components)
	if err != nil {
		return nil, err
	}
	loc, err := locate(ctx, kube, c, found.Repository, q.Endpoint)
	if err != nil {
		return nil, err
	}
	r, err := open(ctx, loc)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	res := &Result{Snapshot: found.Snapshot.Name, Repository: found.Repository.Name, URL: backend.Redact(loc.url)}
	var warnings int64
	for _, name := range comps {
		id, err := repo.ParseID(found.Snapshot.Status.Components[name].DataMoverSnapshotID)
		if err != nil {
			return res, fmt.Errorf("component %s of Snapshot %s has no valid engine snapshot ID: %w", name, found.Snapshot.Name, err)
		}
		sn, err := r.LoadSnapshot(ctx, id)
		if err != nil {
			return res, fmt.Errorf("loading engine snapshot %s (component %s of Snapshot %s): %w", id.Short(), name, found.Snapshot.Name, err)
		}
		dir := q.Dir
		if len(comps) > 1 {
			dir = filepath.Join(q.Dir, name)
		}
		var tracker *progress.Tracker
		if q.Progress != nil {
			tracker = progress.New(ctx, q.Progress, 200*time.Millisecond)
			tracker.AddTotal(int64(sn.Stats.Files+sn.Stats.Dirs), int64(sn.Stats.Bytes))
			tracker.TotalsDone()
		}
		st, err := restorer.Run(ctx, r, sn.Tree, restorer.Options{Target: dir, Progress: tracker, Warn: q.Warn})
		if tracker != nil {
			tracker.Finish()
		}
		if err != nil {
			return res, fmt.Errorf("restoring component %s of Snapshot %s into %s: %w", name, found.Snapshot.Name, dir, err)
		}
		warnings += st.Warnings
		res.Components = append(res.Components, Component{Name: name, SnapshotID: sn.ID.String(), Dir: dir, Stats: st})
	}
	if warnings > 0 {
		return res, fmt.Errorf("%d files with warnings (see above): %w", warnings, ErrPartial)
	}
	return res, nil
}

// pick is the components of snap to download: want, or all its Succeeded
// ones, sorted.
func pick(snap *storagev1alpha1.Snapshot, want []string) ([]string, error) {
	var have []string
	for name, comp := range snap.Status.Components {
		if comp.Phase == storagev1alpha1.ComponentSucceeded && comp.DataMoverSnapshotID != "" {
			have = append(have, name)
		}
	}
	sort.Strings(have)
	if len(want) == 0 {
		if len(have) == 0 {
			return nil, fmt.Errorf("Snapshot %s has no finished data-mover component to download: %w", snap.Name, source.ErrNotRestorable)
		}
		return have, nil
	}
	for _, w := range want {
		if !contains(have, w) {
			return nil, fmt.Errorf("Snapshot %s has no finished component %q (it has %s)", snap.Name, w, strings.Join(have, ", "))
		}
	}
	return want, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
