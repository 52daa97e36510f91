package runnercmd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
)

func TestVolumeSnapshotUsageErrors(t *testing.T) {
	cases := []struct {
		run  func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error
		args []string
		want string
	}{
		{vsRun, []string{"--namespace=n", "--backup-session=b", "--snapshot=s", "--component=c"}, "missing claims"},
		{vsRun, []string{"--namespace=n", "--backup-session=b", "--snapshot=s", "--component=c", "--claims=data"}, `claim "data:" needs a PVC and a VolumeSnapshotClass`},
		{vsRun, []string{"--namespace=n", "--claims=data:csi"}, "missing backup-session, snapshot, component"},
		{vsRun, []string{"--namespace=n", "--ready-timeout=soon"}, "invalid argument"},
		{vsrRun, []string{"--namespace=n", "--restore-session=r"}, "--restore-session, --snapshot, --component and a namespace are required"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		err := tc.run(context.Background(), tc.args, &out, &errOut)
		if cli.CodeOf(err) != cli.ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v (code %d), want a usage error with %q", tc.args, err, cli.CodeOf(err), tc.want)
		}
	}
}

func vsRun(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return VolumeSnapshot(ctx, args, out, errOut)
}

func vsrRun(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return VolumeSnapshotRestore(ctx, args, out, errOut)
}
