// Package snapshots is `kubectl cairn snapshots`: the Snapshot objects of
// a namespace (or of one repository), newest first, with what a user picks
// a snapshot by: when it was taken, whether it succeeded, its size and the
// session that made it.
package snapshots

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/printer"
	"github.com/cairnbackup/cairn/pkg/progress"
)

// Row is one Snapshot; it is also what -o json and -o yaml print.
type Row struct {
	// Namespace of the Snapshot.
	Namespace string `json:"namespace"`
	// Name of the Snapshot object (what restore and download take).
	Name string `json:"name"`
	// Repository holding it.
	Repository string `json:"repository"`
	// Session of the BackupConfiguration that made it.
	Session string `json:"session,omitempty"`
	// Phase of the Snapshot.
	Phase string `json:"phase"`
	// Time it was taken (its creation when the runner has not said).
	Time metav1.Time `json:"time"`
	// Size of its data: status.size, else the sum of its components'
	// logical sizes as the runner counted them.
	Size string `json:"size,omitempty"`
	// Components are its parts, each an engine snapshot.
	Components []Component `json:"components,omitempty"`
}

// Component is one part of a Snapshot and the engine snapshot holding it.
type Component struct {
	// Name of the component ("dump", "dump-pod-0"...).
	Name string `json:"name"`
	// Phase of the component.
	Phase string `json:"phase,omitempty"`
	// SnapshotID is the engine snapshot (what `cairn repo restore` takes).
	SnapshotID string `json:"snapshotID,omitempty"`
}

// List returns the namespace's Snapshots (all namespaces' when namespace
// is ""), of repository only when it is not "", newest first.
func List(ctx context.Context, c cairnclient.Interface, namespace, repository string) ([]Row, error) {
	if repository != "" {
		if _, err := c.StorageV1alpha1().Repositories(namespace).Get(ctx, repository, metav1.GetOptions{}); err != nil {
			return nil, fmt.Errorf("reading Repository %s/%s: %w", namespace, repository, err)
		}
	}
	list, err := c.StorageV1alpha1().Snapshots(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the Snapshots of namespace %s: %w", namespace, err)
	}
	var rows []Row
	for i := range list.Items {
		s := &list.Items[i]
		if repository != "" && s.Spec.Repository != repository {
			continue
		}
		rows = append(rows, rowOf(s))
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].Time.Equal(&rows[j].Time) {
			return rows[j].Time.Before(&rows[i].Time)
		}
		return rows[i].Name > rows[j].Name
	})
	return rows, nil
}

func rowOf(s *storagev1alpha1.Snapshot) Row {
	r := Row{Namespace: s.Namespace, Name: s.Name, Repository: s.Spec.Repository, Session: s.Spec.Session, Phase: string(s.Status.Phase), Time: s.CreationTimestamp, Size: s.Status.Size}
	if s.Status.SnapshotTime != nil {
		r.Time = *s.Status.SnapshotTime
	}
	if r.Phase == "" {
		r.Phase = string(storagev1alpha1.SnapshotPending)
	}
	var total int64
	for name, comp := range s.Status.Components {
		r.Components = append(r.Components, Component{Name: name, Phase: string(comp.Phase), SnapshotID: comp.DataMoverSnapshotID})
		if comp.Stats != nil {
			total += comp.Stats.TotalBytes
		}
	}
	if r.Size == "" && total > 0 {
		r.Size = progress.FormatBytes(total)
	}
	sort.Slice(r.Components, func(i, j int) bool { return r.Components[i].Name < r.Components[j].Name })
	return r
}

// Headers are the table's columns.
var Headers = []string{"NAME", "REPOSITORY", "SESSION", "PHASE", "TAKEN", "SIZE", "COMPONENTS"}

// WriteTable prints rows as a table, with a NAMESPACE column first when
// they come from all namespaces; times are relative to now.
func WriteTable(w io.Writer, rows []Row, now time.Time, allNamespaces bool) error {
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		var comps []string
		for _, c := range r.Components {
			comps = append(comps, c.Name)
		}
		cells = append(cells, []string{r.Namespace, r.Name, r.Repository, r.Session, r.Phase, printer.Age(r.Time.Time, now), r.Size, strings.Join(comps, ",")})
	}
	headers, cells := printer.WithNamespace(Headers, cells, allNamespaces)
	return printer.Columns(w, headers, cells)
}
