package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
)

func TestBackupTwiceIsIncrementalAndRecordsTheComponent(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()

	first, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s1"), "dump"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Parent != "" {
		t.Fatalf("first backup has parent %s", first.Parent)
	}
	c := f.component("s1", "dump")
	if c.Phase != storagev1.ComponentSucceeded || c.DataMoverSnapshotID != first.SnapshotID || c.Driver != DriverCairn ||
		c.Path != f.data || c.Error != "" || c.Progress != nil || c.Duration == "" || c.Size == "" {
		t.Fatalf("first component %+v", c)
	}
	if s := c.Stats; s == nil || s.TotalFiles != 4 || s.NewFiles != 4 || s.UnmodifiedFiles != 0 || s.TotalBytes == 0 || s.UploadedBytes == 0 {
		t.Fatalf("first stats %+v", c.Stats)
	}

	writeFiles(t, f.data, map[string]string{"orders.db": "order 1\norder 2\norder 3\n", "new.txt": "new"})
	second, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s2"), "dump"))
	if err != nil {
		t.Fatal(err)
	}
	if second.Parent != first.SnapshotID {
		t.Fatalf("second backup's parent %q, want the first %s", second.Parent, first.SnapshotID)
	}
	s := f.component("s2", "dump").Stats
	if s.TotalFiles != 5 || s.NewFiles != 1 || s.ModifiedFiles != 1 || s.UnmodifiedFiles != 3 {
		t.Fatalf("second stats %+v: want 1 new, 1 modified, 3 unmodified", s)
	}

	sn, err := f.engine().LoadSnapshot(ctx, mustID(t, second.SnapshotID))
	if err != nil {
		t.Fatal(err)
	}
	if sn.Hostname != "shop/Deployment/shop/dump" {
		t.Fatalf("engine snapshot hostname %q", sn.Hostname)
	}
	for _, tag := range []string{"component=dump", "backup-session=" + sessionBS, "backup-configuration=shop", "session=daily"} {
		if !sn.HasTag(tag) {
			t.Errorf("engine snapshot tags %v lack %s", sn.Tags, tag)
		}
	}
}

func TestBackupPatchesOnlyItsComponent(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	name := f.snapshot("s1", "dump-pod-0", "dump-pod-1")
	// Two replicas of a StatefulSet back up at once into a repository
	// neither has seen: both initialise it, one wins, both succeed.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := f.backupRequest(name, fmt.Sprintf("dump-pod-%d", i))
			_, errs[i] = f.runner.Backup(ctx, q)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range errs {
		if c := f.component(name, fmt.Sprintf("dump-pod-%d", i)); c.Phase != storagev1.ComponentSucceeded {
			t.Fatalf("dump-pod-%d: %+v", i, c)
		}
	}
	patches := statusPatches(t, f.cairn.Actions(), "snapshots")
	if len(patches) < 4 {
		t.Fatalf("%d status patches, want at least start and end of each component", len(patches))
	}
	for _, p := range patches {
		status, _ := p["status"].(map[string]any)
		comps, _ := status["components"].(map[string]any)
		if len(p) != 1 || len(status) != 1 || len(comps) != 1 {
			t.Fatalf("patch %v touches more than one component", p)
		}
	}
	if n := len(f.engine().Index().Packs()); n == 0 {
		t.Fatal("no packs in the repository")
	}
}

// TestSoleComponentWritesTheSnapshotPhase: the runner of a Snapshot's only
// component writes the Snapshot's phase with its own (Running, then
// Succeeded), as the operator would compute it, so the operator has no
// phase to write; a runner of one of several components does not.
func TestSoleComponentWritesTheSnapshotPhase(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	name := f.snapshot("s1", "dump")
	if _, err := f.runner.Backup(ctx, f.backupRequest(name, "dump")); err != nil {
		t.Fatal(err)
	}
	var phases []any
	for _, p := range statusPatches(t, f.cairn.Actions(), "snapshots") {
		status, _ := p["status"].(map[string]any)
		if ph, ok := status["phase"]; ok {
			phases = append(phases, ph)
			if status["totalComponents"] != 1.0 {
				t.Fatalf("patch %v sets the phase without totalComponents 1", p)
			}
		}
	}
	if fmt.Sprint(phases) != "[Running Succeeded]" {
		t.Fatalf("Snapshot phases written %v, want [Running Succeeded]", phases)
	}
	s, err := f.cairn.StorageV1alpha1().Snapshots(appNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status.Phase != storagev1.SnapshotSucceeded || s.Status.CalculatePhase() != s.Status.Phase {
		t.Fatalf("Snapshot phase %s, computed from its components %s", s.Status.Phase, s.Status.CalculatePhase())
	}
}

func TestBackupFailuresSayWhatToFix(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fixture, q *BackupRequest)
		want  []string
	}{
		{"path not found", func(f *fixture, q *BackupRequest) { q.Paths = []string{"/nonexistent/data"} },
			[]string{"path not found: /nonexistent/data", "mount paths"}},
		{"no encryption secret", func(f *fixture, q *BackupRequest) {
			f.kube.CoreV1().Secrets(appNS).Delete(context.Background(), encSecret, metavOpts)
		}, []string{"encryption Secret shop/shop-encryption does not exist"}},
		{"no password key", func(f *fixture, q *BackupRequest) {
			s := passwordSecret(appNS, encSecret, "")
			s.Data = map[string][]byte{"PASSWORD": []byte("x")}
			f.kube.CoreV1().Secrets(appNS).Update(context.Background(), s, metavUpdate)
		}, []string{"has no key CAIRN_PASSWORD (nor RESTIC_PASSWORD)"}},
		{"storage not mounted", func(f *fixture, q *BackupRequest) { os.RemoveAll(f.storageDir) },
			[]string{"not mounted at " + "STORAGE"}},
		{"bad exclude", func(f *fixture, q *BackupRequest) { q.Exclude = []string{"[unclosed"} },
			[]string{"exclude patterns are invalid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			q := f.backupRequest(f.snapshot("s1"), "dump")
			tc.setup(f, &q)
			_, err := f.runner.Backup(context.Background(), q)
			c := f.component("s1", "dump")
			if err == nil || c.Phase != storagev1.ComponentFailed || c.Error != err.Error() {
				t.Fatalf("err %v, component %+v", err, c)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "STORAGE", f.storageDir)
				if !strings.Contains(c.Error, w) {
					t.Errorf("error %q lacks %q", c.Error, w)
				}
			}
		})
	}
}

func TestBackupWithWrongPasswordFails(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s1"), "dump")); err != nil {
		t.Fatal(err)
	}
	f.kube.CoreV1().Secrets(appNS).Update(ctx, passwordSecret(appNS, encSecret, "not the password"), metavUpdate)
	_, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s2"), "dump"))
	if !errors.Is(err, repo.ErrWrongPassword) {
		t.Fatalf("err %v, want ErrWrongPassword", err)
	}
	c := f.component("s2", "dump")
	if c.Phase != storagev1.ComponentFailed || !strings.Contains(c.Error, "wrong password") || !strings.Contains(c.Error, "Secret shop/shop-encryption") {
		t.Fatalf("component %+v", c)
	}
	if strings.Contains(c.Error, "not the password") || strings.Contains(c.Error, goodPasswd) {
		t.Fatalf("the error shows a password: %q", c.Error)
	}
}

func TestCancelledBackupIsFailedInterrupted(t *testing.T) {
	f := newFixture(t, nil)
	randomFile(t, filepath.Join(f.data, "big.bin"), 48<<20)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	cancelOnFirstProgress(f.cairn, "snapshots", cancel, errors.New("terminated signal received"))

	_, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s1"), "dump"))
	if err == nil {
		t.Fatal("backup cancelled mid-way succeeded")
	}
	c := f.component("s1", "dump")
	if c.Phase != storagev1.ComponentFailed || !strings.HasPrefix(c.Error, "interrupted (terminated signal received)") {
		t.Fatalf("component %+v", c)
	}
	r := f.engine()
	snaps, _, err := r.ListSnapshots(context.Background())
	if err != nil || len(snaps) != 0 {
		t.Fatalf("snapshots after an interrupted backup: %d, %v", len(snaps), err)
	}
	res, err := maint.Check(context.Background(), r, maint.CheckOptions{})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check after an interrupted backup: %v %+v", err, res)
	}
	// The next backup of the same component succeeds.
	if _, err := f.runner.Backup(context.Background(), f.backupRequest(f.snapshot("s2"), "dump")); err != nil {
		t.Fatal(err)
	}
}

func TestBackupReportsProgress(t *testing.T) {
	f := newFixture(t, nil)
	randomFile(t, filepath.Join(f.data, "big.bin"), 48<<20)
	var seen []string
	f.cairn.PrependReactor("patch", "snapshots", progressRecorder(&seen))
	start := time.Now()
	if _, err := f.runner.Backup(context.Background(), f.backupRequest(f.snapshot("s1"), "dump")); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(seen) == 0 {
		t.Fatal("no progress patch during a 48 MiB backup with a 20 ms interval")
	}
	if most := int(elapsed/f.runner.ProgressInterval) + 1; len(seen) > most {
		t.Fatalf("%d progress patches in %v: more than one per %v", len(seen), elapsed, f.runner.ProgressInterval)
	}
	if !slices.ContainsFunc(seen, func(s string) bool { return strings.Contains(s, `"bytesTotal":50331`) }) {
		t.Fatalf("no progress patch knows the total of 48 MiB: %v", seen)
	}
	if c := f.component("s1", "dump"); c.Progress != nil {
		t.Fatalf("progress %+v left after success", c.Progress)
	}
}

func mustID(t *testing.T, s string) repo.ID {
	t.Helper()
	id, err := repo.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDefaultProgressIntervalIsFiveSeconds(t *testing.T) {
	if got := (&Runner{}).progressInterval(); got != 5*time.Second {
		t.Fatalf("default progress interval %v", got)
	}
}

// TestAPIBlipsAreRetried: the API server refusing the first read and the
// first status writes for a moment (a restart, throttling) costs a few
// hundred milliseconds, not the backup; a refusal for good is not retried.
func TestAPIBlipsAreRetried(t *testing.T) {
	f := newFixture(t, nil)
	name := f.snapshot("s1")
	unavailable := apierrors.NewServiceUnavailable("the API server is restarting")
	var gets, patches atomic.Int32
	f.cairn.PrependReactor("get", "snapshots", func(k8stesting.Action) (bool, runtime.Object, error) {
		if gets.Add(1) == 1 {
			return true, nil, unavailable
		}
		return false, nil, nil
	})
	f.cairn.PrependReactor("patch", "snapshots", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if n := patches.Add(1); n == 1 || n == 2 {
			return true, nil, unavailable
		}
		return false, nil, nil
	})
	if _, err := f.runner.Backup(context.Background(), f.backupRequest(name, "dump")); err != nil {
		t.Fatal(err)
	}
	if c := f.component(name, "dump"); c.Phase != storagev1.ComponentSucceeded {
		t.Fatalf("component %+v", c)
	}

	g := newFixture(t, nil)
	var denied atomic.Int32
	g.cairn.PrependReactor("patch", "snapshots", func(k8stesting.Action) (bool, runtime.Object, error) {
		denied.Add(1)
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "storage.cairn.dev", Resource: "snapshots"}, "s1", errors.New("no"))
	})
	_, err := g.runner.Backup(context.Background(), g.backupRequest(g.snapshot("s1"), "dump"))
	if !apierrors.IsForbidden(err) || denied.Load() != 1 {
		t.Fatalf("forbidden patch: %v after %d attempts, want one attempt", err, denied.Load())
	}
}

// TestFirstReadWaitsForTheRole: the operator creates a backup Job before
// the Role that lets its runner read the Snapshot, so a Forbidden first
// read is retried until the Role is there; the backup then runs as usual.
func TestFirstReadWaitsForTheRole(t *testing.T) {
	f := newFixture(t, nil)
	name := f.snapshot("s1")
	var gets atomic.Int32
	f.cairn.PrependReactor("get", "snapshots", func(k8stesting.Action) (bool, runtime.Object, error) {
		if gets.Add(1) <= 2 {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "storage.cairn.dev", Resource: "snapshots"}, name, errors.New("no RBAC yet"))
		}
		return false, nil, nil
	})
	if _, err := f.runner.Backup(context.Background(), f.backupRequest(name, "dump")); err != nil {
		t.Fatal(err)
	}
	if c := f.component(name, "dump"); c.Phase != storagev1.ComponentSucceeded || gets.Load() < 3 {
		t.Fatalf("component %+v after %d reads of the Snapshot", c, gets.Load())
	}
}
