package runnercmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/runner"
)

// fakeRunner makes the commands use r for the rest of the test.
func fakeRunner(t *testing.T, r func(string, string) (*runner.Runner, error)) {
	old := newRunner
	t.Cleanup(func() { newRunner = old })
	newRunner = r
}

func TestUsageErrors(t *testing.T) {
	fakeRunner(t, func(string, string) (*runner.Runner, error) {
		t.Fatal("a usage error reached the API")
		return nil, nil
	})
	t.Setenv("POD_NAMESPACE", "")
	for _, tc := range []struct {
		run  func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error
		args []string
		want string
	}{
		{backup, []string{"--backup-session=b", "--snapshot=s", "--component=dump", "--paths=/data"}, "namespace"},
		{backup, []string{"--namespace=ns", "--backup-session=b", "--snapshot=s", "--component=dump", "--paths=", "--exclude="}, "no paths"},
		{backup, []string{"--namespace=ns", "--backup-session=b", "--snapshot=s", "--component=dump", "--paths=data"}, "not absolute"},
		{backup, []string{"--namespace=ns", "--backup-session=b", "--snapshot=s", "--component=dump", "--paths=/data", "extra"}, "takes no arguments"},
		{restore, []string{"--namespace=ns", "--component=dump"}, "restore session"},
		{restore, []string{"--bogus"}, "unknown flag"},
		{retention, []string{"--namespace=ns"}, "--repository"},
		{retention, []string{"--repository=r"}, "namespace"},
	} {
		var out, errOut bytes.Buffer
		err := tc.run(context.Background(), tc.args, &out, &errOut)
		if cli.CodeOf(err) != cli.ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v (code %d), want a usage error with %q", tc.args, err, cli.CodeOf(err), tc.want)
		}
	}
	var out, errOut bytes.Buffer
	if err := Backup(context.Background(), []string{"--help"}, &out, &errOut); err != nil || !strings.Contains(errOut.String(), "--backup-session") {
		t.Fatalf("--help: %v, %q", err, errOut.String())
	}
}

func backup(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return Backup(ctx, args, out, errOut)
}

func retention(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return Retention(ctx, args, out, errOut)
}

func restore(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
	return Restore(ctx, args, out, errOut)
}

// cluster is a namespace "ns" with a local storage, a Repository, a
// BackupSession, Snapshots s1 and s2 and a RestoreSession rs of s1, on fake
// clients the commands use for the rest of the test. data is the volume
// to back up, holding a.txt.
func cluster(t *testing.T) (cairn *cairnfake.Clientset, kube *k8sfake.Clientset, data string) {
	storage, data := t.TempDir(), filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "a.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "app"}
	cairn = cairnfake.NewSimpleClientset(
		&storagev1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "local"},
			Spec: storagev1.BackupStorageSpec{Storage: storagev1.Backend{Provider: storagev1.ProviderLocal, Local: &storagev1.LocalSpec{MountPath: storage}}}},
		&storagev1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "repo"},
			Spec: storagev1.RepositorySpec{AppRef: app, StorageRef: common.ObjectReference{Name: "local"}, Path: "app", EncryptionSecret: common.ObjectReference{Name: "enc"}}},
		&corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bs"}},
		&storagev1.Snapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s1"}, Spec: storagev1.SnapshotSpec{Repository: "repo", BackupSession: "bs", AppRef: app}},
		&storagev1.Snapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s2"}, Spec: storagev1.SnapshotSpec{Repository: "repo", BackupSession: "bs", AppRef: app}},
		&corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rs"},
			Spec: corev1alpha1.RestoreSessionSpec{DataSource: corev1alpha1.RestoreDataSource{Repository: "repo", Snapshot: "s1", EncryptionSecret: common.ObjectReference{Name: "enc"}}}},
	)
	kube = k8sfake.NewSimpleClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "enc"}, Data: map[string][]byte{"RESTIC_PASSWORD": []byte("pw")}})
	fakeRunner(t, func(string, string) (*runner.Runner, error) {
		return &runner.Runner{Cairn: cairn, Kube: kube, Engine: repo.Options{KDF: crypto.TestKDF}, ProgressInterval: 20 * time.Millisecond}, nil
	})
	t.Setenv("POD_NAMESPACE", "ns")
	return cairn, kube, data
}

// TestCommandsAsTheFunctionsRunThem runs the commands with the flags the
// cairn-backup and cairn-restore Functions give them, on fake clients and
// a local storage, and checks the exit codes of a wrong password.
func TestCommandsAsTheFunctionsRunThem(t *testing.T) {
	_, kube, data := cluster(t)
	target := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := Backup(ctx, []string{"--namespace=ns", "--backup-session=bs", "--paths=" + data, "--exclude=", "--snapshot=s1", "--component=dump"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "component dump of snapshot s1: engine snapshot") {
		t.Fatalf("output %q", out.String())
	}
	if err := Restore(ctx, []string{"--restore-session=rs", "--snapshot=s1", "--component=dump", "--target-path=" + target}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(target, data, "a.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("restored %q, %v", b, err)
	}

	kube.CoreV1().Secrets("ns").Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "enc"}, Data: map[string][]byte{"CAIRN_PASSWORD": []byte("wrong")}}, metav1.UpdateOptions{})
	err := Backup(ctx, []string{"--backup-session=bs", "--paths=" + data, "--snapshot=s2", "--component=dump"}, &out, &errOut)
	if cli.CodeOf(err) != cli.ExitWrongPassword || !strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("wrong password: %v (code %d)", err, cli.CodeOf(err))
	}
	err = Restore(ctx, []string{"--restore-session=rs", "--component=dump", "--target-path=" + target}, &out, &errOut)
	if cli.CodeOf(err) != cli.ExitWrongPassword {
		t.Fatalf("restore with a wrong password: %v (code %d)", err, cli.CodeOf(err))
	}
}

// TestSIGTERMStopsABackup sends the test process a real SIGTERM, caught as
// main catches it, once the backup is under way: the command returns
// within seconds and the component says it was interrupted and why.
func TestSIGTERMStopsABackup(t *testing.T) {
	cairn, _, data := cluster(t)
	big := make([]byte, 64<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(data, "big.bin"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var sent time.Time
	var once sync.Once
	cairn.PrependReactor("patch", "snapshots", func(a k8stesting.Action) (bool, kruntime.Object, error) {
		if bytes.Contains(a.(k8stesting.PatchAction).GetPatch(), []byte(`"progress":{`)) {
			once.Do(func() {
				sent = time.Now()
				syscall.Kill(os.Getpid(), syscall.SIGTERM)
			})
		}
		return false, nil, nil
	})
	var out, errOut bytes.Buffer
	err := Backup(ctx, []string{"--backup-session=bs", "--paths=" + data, "--snapshot=s1", "--component=dump"}, &out, &errOut)
	if sent.IsZero() {
		t.Fatal("the backup ended before its first progress report")
	}
	took := time.Since(sent)
	t.Logf("stopped %v after SIGTERM", took)
	if err == nil || ctx.Err() == nil {
		t.Fatalf("backup after SIGTERM: %v", err)
	}
	if took > 10*time.Second {
		t.Fatalf("the backup took %v to stop after SIGTERM", took)
	}
	s, gerr := cairn.StorageV1alpha1().Snapshots("ns").Get(context.Background(), "s1", metav1.GetOptions{})
	if gerr != nil {
		t.Fatal(gerr)
	}
	c := s.Status.Components["dump"]
	if c.Phase != storagev1.ComponentFailed || !strings.HasPrefix(c.Error, "interrupted (terminated signal received)") {
		t.Fatalf("component %+v", c)
	}
}
