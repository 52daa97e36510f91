// Package status is `kubectl cairn status`: one line per
// BackupConfiguration that answers "are my backups happening?" without
// reading five kinds of object: the config's phase, its last backup and
// how it ended, its last success, its next run and the size of its
// repositories.
package status

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/printer"
	"github.com/cairnbackup/cairn/pkg/labels"
)

// Row is the status of one BackupConfiguration; it is also what -o json
// and -o yaml print.
type Row struct {
	// Namespace of the BackupConfiguration.
	Namespace string `json:"namespace"`
	// Config is the BackupConfiguration's name.
	Config string `json:"config"`
	// Phase is its status.phase, "Paused" when spec.paused is set.
	Phase string `json:"phase"`
	// LastBackup is the newest BackupSession, "" when none is kept.
	LastBackup string `json:"lastBackup,omitempty"`
	// LastBackupTime is when it was created.
	LastBackupTime *metav1.Time `json:"lastBackupTime,omitempty"`
	// LastResult is its phase (Running, Succeeded, Failed, Skipped...).
	LastResult string `json:"lastResult,omitempty"`
	// LastSuccess is when the newest successful backup started: from the
	// BackupSessions kept, or the Snapshots when the session history
	// limit has removed the session.
	LastSuccess *metav1.Time `json:"lastSuccess,omitempty"`
	// NextRun is the earliest next schedule of its sessions.
	NextRun *metav1.Time `json:"nextRun,omitempty"`
	// Repositories are the sizes of the config's repositories, by name;
	// a size the operator has not recorded is "".
	Repositories []RepositorySize `json:"repositories,omitempty"`
}

// RepositorySize is a repository and the size its status records.
type RepositorySize struct {
	// Name of the Repository.
	Name string `json:"name"`
	// Size from its status.size, "" when not recorded.
	Size string `json:"size,omitempty"`
}

// Rows reads the namespace's BackupConfigurations, BackupSessions,
// Snapshots and Repositories and returns one Row per config (only config
// when it is not ""), sorted by namespace and name. An empty namespace
// means all namespaces.
func Rows(ctx context.Context, c cairnclient.Interface, namespace, config string) ([]Row, error) {
	core, storage := c.CoreV1alpha1(), c.StorageV1alpha1()
	var configs []corev1alpha1.BackupConfiguration
	if config != "" {
		bc, err := core.BackupConfigurations(namespace).Get(ctx, config, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading BackupConfiguration %s/%s: %w", namespace, config, err)
		}
		configs = append(configs, *bc)
	} else {
		list, err := core.BackupConfigurations(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the BackupConfigurations of namespace %s: %w", namespace, err)
		}
		configs = list.Items
	}
	if len(configs) == 0 {
		return nil, nil
	}
	sessions, err := core.BackupSessions(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the BackupSessions of namespace %s: %w", namespace, err)
	}
	snaps, err := storage.Snapshots(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the Snapshots of namespace %s: %w", namespace, err)
	}
	repos, err := storage.Repositories(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the Repositories of namespace %s: %w", namespace, err)
	}
	sizes := map[string]string{}
	for _, r := range repos.Items {
		sizes[r.Namespace+"/"+r.Name] = r.Status.Size
	}
	rows := make([]Row, 0, len(configs))
	for i := range configs {
		rows = append(rows, row(&configs[i], sessions.Items, snaps.Items, sizes))
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Namespace != rows[j].Namespace {
			return rows[i].Namespace < rows[j].Namespace
		}
		return rows[i].Config < rows[j].Config
	})
	return rows, nil
}

func row(bc *corev1alpha1.BackupConfiguration, sessions []corev1alpha1.BackupSession, snaps []storagev1alpha1.Snapshot, sizes map[string]string) Row {
	r := Row{Namespace: bc.Namespace, Config: bc.Name, Phase: string(bc.Status.Phase), NextRun: bc.Status.NextSchedule}
	if bc.Spec.Paused {
		r.Phase = "Paused"
		r.NextRun = nil
	}
	var last *corev1alpha1.BackupSession
	for i := range sessions {
		bs := &sessions[i]
		if bs.Namespace != bc.Namespace || !belongs(bs, bc.Name) {
			continue
		}
		if last == nil || later(bs.ObjectMeta, last.ObjectMeta) {
			last = bs
		}
		if bs.Status.Phase == corev1alpha1.BackupSessionSucceeded {
			r.LastSuccess = newest(r.LastSuccess, bs.CreationTimestamp)
		}
	}
	if last != nil {
		r.LastBackup, r.LastResult = last.Name, string(last.Status.Phase)
		r.LastBackupTime = &last.CreationTimestamp
		if r.LastResult == "" {
			r.LastResult = string(corev1alpha1.BackupSessionPending)
		}
	}
	for i := range snaps {
		s := &snaps[i]
		if s.Namespace == bc.Namespace && s.Labels[labels.Config] == bc.Name && s.Status.Phase == storagev1alpha1.SnapshotSucceeded {
			t := s.CreationTimestamp
			if s.Status.SnapshotTime != nil {
				t = *s.Status.SnapshotTime
			}
			r.LastSuccess = newest(r.LastSuccess, t)
		}
	}
	seen := map[string]bool{}
	for _, s := range bc.Spec.Sessions {
		for _, rp := range s.Repositories {
			if !seen[rp.Name] {
				seen[rp.Name] = true
				r.Repositories = append(r.Repositories, RepositorySize{Name: rp.Name, Size: sizes[bc.Namespace+"/"+rp.Name]})
			}
		}
	}
	return r
}

// belongs says whether bs is a session of config: its invoker, as the
// operator reads it (labels can be edited, the spec cannot).
func belongs(bs *corev1alpha1.BackupSession, config string) bool {
	return bs.Spec.Invoker.Kind == "BackupConfiguration" && bs.Spec.Invoker.Name == config
}

// later orders by creation time, then name (names end in the Unix time
// and a retry or same-second suffix).
func later(a, b metav1.ObjectMeta) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

func newest(cur *metav1.Time, t metav1.Time) *metav1.Time {
	if cur == nil || cur.Before(&t) {
		return &t
	}
	return cur
}

// Headers are the table's columns.
var Headers = []string{"CONFIG", "PHASE", "LAST BACKUP", "RESULT", "STARTED", "LAST SUCCESS", "NEXT RUN", "REPOSITORY SIZE"}

// WriteTable prints rows as a table, with a NAMESPACE column first when
// they come from all namespaces; times are relative to now.
func WriteTable(w io.Writer, rows []Row, now time.Time, allNamespaces bool) error {
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		success := age(r.LastSuccess, now)
		if success == "" {
			success = "never"
		}
		cells = append(cells, []string{r.Namespace, r.Config, r.Phase, r.LastBackup, r.LastResult, age(r.LastBackupTime, now), success, age(r.NextRun, now), repoSizes(r.Repositories)})
	}
	headers, cells := printer.WithNamespace(Headers, cells, allNamespaces)
	return printer.Columns(w, headers, cells)
}

func age(t *metav1.Time, now time.Time) string {
	if t == nil {
		return ""
	}
	return printer.Age(t.Time, now)
}

// repoSizes is "name=size" for each repository, "name=unknown" where the
// operator has not recorded a size.
func repoSizes(repos []RepositorySize) string {
	var parts []string
	for _, r := range repos {
		size := r.Size
		if size == "" {
			size = "unknown"
		}
		if len(repos) == 1 {
			parts = append(parts, size)
		} else {
			parts = append(parts, r.Name+"="+size)
		}
	}
	return strings.Join(parts, ", ")
}
