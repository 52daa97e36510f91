package download

import (
	"strings"
	"testing"
	"time"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
)

func TestPickComponents(t *testing.T) {
	snap := fixture.Snapshot("db-1", "db", "db", storagev1alpha1.SnapshotSucceeded, -time.Hour, "")
	snap.Status.Components = map[string]storagev1alpha1.Component{
		"dump-pod-1": {Phase: storagev1alpha1.ComponentSucceeded, DataMoverSnapshotID: "b"},
		"dump-pod-0": {Phase: storagev1alpha1.ComponentSucceeded, DataMoverSnapshotID: "a"},
		"dump-pod-2": {Phase: storagev1alpha1.ComponentFailed},
	}
	if got, err := pick(snap, nil); err != nil || strings.Join(got, ",") != "dump-pod-0,dump-pod-1" {
		t.Fatalf("all: %v, %v", got, err)
	}
	if got, err := pick(snap, []string{"dump-pod-1"}); err != nil || len(got) != 1 {
		t.Fatalf("one: %v, %v", got, err)
	}
	if _, err := pick(snap, []string{"dump-pod-2"}); err == nil || !strings.Contains(err.Error(), "it has dump-pod-0, dump-pod-1") {
		t.Fatalf("failed component: %v", err)
	}
	snap.Status.Components = nil
	if _, err := pick(snap, nil); err == nil || !strings.Contains(err.Error(), "no finished data-mover component") {
		t.Fatalf("none: %v", err)
	}
}
