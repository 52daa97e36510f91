package runnercmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/volumesnapshot"
)

const volumeSnapshotUsage = `Usage: cairn volume-snapshot --backup-session NAME --snapshot NAME --component NAME --claims PVC:CLASS[,PVC:CLASS...] [--exports COMPONENT,...] [--ready-timeout D] [--namespace NS]

Creates one CSI VolumeSnapshot per claim, named <claim>-<unix seconds of the
BackupSession's creation>, with the VolumeSnapshotClass given for it, waits
until every one is readyToUse, and records them in the Snapshot's
status.components (volumeSnapshotterStats). What the volume-snapshot task's
Job runs; the operator fills the flags.

Flags:
`

const volumeSnapshotRestoreUsage = `Usage: cairn volume-snapshot-restore --restore-session NAME --snapshot NAME --component NAME [--wait-bound PVC[,PVC...]] [--bind-timeout D] [--namespace NS]

Creates the claims of the RestoreSession's volumeClaimTemplates for one
component of a VolumeSnapshot backup, each with spec.dataSourceRef pointing
at one of the component's VolumeSnapshots, never touching a claim that
exists, waits until the --wait-bound claims are Bound, and records the
outcome in the RestoreSession's status.components. What the
volume-snapshot-restore task's Job runs.

Flags:
`

// VolumeSnapshot runs `cairn volume-snapshot` with args.
func VolumeSnapshot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c commonFlags
	var q volumesnapshot.BackupRequest
	var claims []string
	fs := newFlagSet("volume-snapshot", volumeSnapshotUsage, stderr)
	c.register(fs)
	fs.StringVar(&q.BackupSession, "backup-session", "", "the BackupSession being run (required)")
	fs.StringVar(&q.Snapshot, "snapshot", "", "the Snapshot object this component belongs to (required)")
	fs.StringSliceVar(&claims, "claims", nil, "claims to snapshot and their VolumeSnapshotClass, as PVC:CLASS, comma-separated (required)")
	fs.DurationVar(&q.ReadyTimeout, "ready-timeout", volumesnapshot.DefaultReadyTimeout, "how long the VolumeSnapshots may take to be ready")
	fs.StringSliceVar(&q.Exports, "exports", nil, "components that export these VolumeSnapshots through the engine: failed with them, comma-separated")
	if err := parse(fs, args); err != nil {
		return ignoreHelp(err)
	}
	q.Namespace, q.Component, q.Exports = c.namespace, c.component, nonEmpty(q.Exports)
	for _, s := range nonEmpty(claims) {
		pvc, class, _ := strings.Cut(s, ":")
		q.Claims = append(q.Claims, volumesnapshot.Claim{PVC: pvc, Class: class})
	}
	if err := q.Validate(); err != nil {
		return cli.Usagef("volume-snapshot: %v (see 'cairn volume-snapshot --help')", err)
	}
	r, err := newSnapshotRunner(c.kubeconfig, "cairn-volume-snapshot")
	if err != nil {
		return err
	}
	res, err := r.Backup(ctx, q)
	if res != nil {
		for _, st := range res.Stats {
			fmt.Fprintf(stdout, "PVC %s: VolumeSnapshot %s ready (restore size %s)\n", st.PVCName, st.VolumeSnapshotName, st.RestoreSize)
		}
		fmt.Fprintf(stdout, "component %s of snapshot %s: %d VolumeSnapshot(s) in %s\n", q.Component, q.Snapshot, len(res.Stats), res.Duration.Round(time.Millisecond))
	}
	return err
}

// VolumeSnapshotRestore runs `cairn volume-snapshot-restore` with args.
func VolumeSnapshotRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c commonFlags
	var q volumesnapshot.RestoreRequest
	fs := newFlagSet("volume-snapshot-restore", volumeSnapshotRestoreUsage, stderr)
	c.register(fs)
	fs.StringVar(&q.RestoreSession, "restore-session", "", "the RestoreSession being run (required)")
	fs.StringVar(&q.Snapshot, "snapshot", "", "the Snapshot object to restore, as the operator resolved it (required)")
	fs.StringSliceVar(&q.WaitBound, "wait-bound", nil, "claims to wait for until Bound (their class binds immediately), comma-separated")
	fs.DurationVar(&q.BindTimeout, "bind-timeout", volumesnapshot.DefaultBindTimeout, "how long the claims may take to be Bound")
	if err := parse(fs, args); err != nil {
		return ignoreHelp(err)
	}
	q.Namespace, q.Component, q.WaitBound = c.namespace, c.component, nonEmpty(q.WaitBound)
	if q.Namespace == "" || q.RestoreSession == "" || q.Snapshot == "" || q.Component == "" {
		return cli.Usagef("volume-snapshot-restore: --restore-session, --snapshot, --component and a namespace are required (see 'cairn volume-snapshot-restore --help')")
	}
	r, err := newSnapshotRunner(c.kubeconfig, "cairn-volume-snapshot-restore")
	if err != nil {
		return err
	}
	res, err := r.Restore(ctx, q)
	if res != nil && err == nil {
		for _, c := range res.Claims {
			fmt.Fprintf(stdout, "PVC %s from VolumeSnapshot %s: %s\n", c.Name, c.VolumeSnapshot, c.Phase)
		}
		fmt.Fprintf(stdout, "component %s of snapshot %s: claims %s created in %s\n", q.Component, q.Snapshot,
			strings.Join(res.Names(), ", "), res.Duration.Round(time.Millisecond))
	}
	return err
}

// newSnapshotRunner builds the clients of the VolumeSnapshot runners; tests
// replace it.
var newSnapshotRunner = func(kubeconfig, agent string) (*volumesnapshot.Runner, error) {
	cfg, c, k, err := apiClients(kubeconfig, agent)
	if err != nil {
		return nil, err
	}
	r := &volumesnapshot.Runner{Cairn: c, Kube: k}
	if r.Snapshots, err = snapclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("creating the VolumeSnapshot API client: %w", err)
	}
	return r, nil
}
