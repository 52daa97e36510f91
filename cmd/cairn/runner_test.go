package main

import (
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
)

// TestRunnerCommandsAreListed checks that backup and restore reach their
// commands (a usage error of theirs, not "unknown command") and are in the
// usage text.
func TestRunnerCommandsAreListed(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"backup", "--paths=/data"}, "namespace, backup session, snapshot and component are all required"},
		{[]string{"restore", "--namespace=ns"}, "namespace, restore session and component are all required"},
	} {
		code, _, errs := cairn(t, c.args...)
		if code != cli.ExitUsage || !strings.Contains(errs, c.msg) {
			t.Errorf("cairn %v: exit %d, stderr %q (want exit %d mentioning %q)", c.args, code, errs, cli.ExitUsage, c.msg)
		}
	}
	_, out, _ := cairn(t, "help")
	if !strings.Contains(out, "cairn backup [flags]") || !strings.Contains(out, "cairn restore [flags]") {
		t.Fatalf("usage lacks the runner commands:\n%s", out)
	}
}
