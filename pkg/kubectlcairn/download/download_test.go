package download

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/archiver"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/test/objstore"
)

const password = "download-test"

// world is a BackupStorage on a real MinIO, its Secrets, a Repository and
// a Snapshot whose component "dump" is an engine snapshot of src.
type world struct {
	kube    *kubefake.Clientset
	cairn   *fake.Clientset
	src     string
	storage *storagev1alpha1.BackupStorage
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := objstore.StartT(t, objstore.StartMinIO)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.CreateBucket(ctx, "backups"); err != nil {
		t.Fatal(err)
	}
	w := &world{src: filepath.Join(t.TempDir(), "data")}
	writeTree(t, w.src)
	w.storage = &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: fixture.NS, Name: "minio"},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3,
			S3: &storagev1alpha1.S3Spec{Endpoint: srv.Endpoint, Bucket: "backups", Prefix: "cluster", Region: srv.Region, SecretName: "s3"}}},
	}
	url, err := blob.RepositoryURL(&w.storage.Spec.Storage, "web")
	if err != nil {
		t.Fatal(err)
	}
	be, err := backend.Open(ctx, url, backend.Options{Credentials: &backend.Credentials{AWSAccessKeyID: srv.AccessKey, AWSSecretAccessKey: srv.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	// A cheap password hash: the download opens the repository several times.
	r, err := repo.Init(ctx, be, password, repo.Options{KDF: crypto.TestKDF})
	if err != nil {
		t.Fatal(err)
	}
	sn, _, err := archiver.Backup(ctx, r, archiver.Options{Paths: []string{w.src}}, archiver.SnapshotOptions{Hostname: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.kube = kubefake.NewSimpleClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.NS, Name: "s3"},
			Data: map[string][]byte{blob.KeyAWSAccessKeyID: []byte(srv.AccessKey), blob.KeyAWSSecretAccessKey: []byte(srv.SecretKey)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.NS, Name: "password"}, Data: map[string][]byte{"CAIRN_PASSWORD": []byte(password)}},
	)
	w.cairn = fake.NewSimpleClientset(w.storage, fixture.Repository("web", fixture.Web),
		fixture.Snapshot("web-1", "web", "web", storagev1alpha1.SnapshotSucceeded, -time.Hour, sn.ID.String()))
	return w
}

// writeTree writes files of several sizes, an empty one, a nested one
// with its own mode and a symlink.
func writeTree(t *testing.T, dir string) {
	t.Helper()
	big := make([]byte, 3<<20+17)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"a": []byte("hello\n"), "dir/big.bin": big, "dir/empty": nil, "dir/sub/deep.txt": []byte("deep\n")} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "dir/sub/deep.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("dir/sub/deep.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
}

// sameTree compares every file's bytes and mode and every link's target.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		wi, _ := os.Lstat(p)
		gi, err := os.Lstat(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("%s is missing: %v", rel, err)
			return nil
		}
		if wi.Mode() != gi.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		switch {
		case wi.Mode()&fs.ModeSymlink != 0:
			wl, _ := os.Readlink(p)
			gl, _ := os.Readlink(filepath.Join(got, rel))
			if wl != gl {
				t.Errorf("%s -> %q, want %q", rel, gl, wl)
			}
		case wi.Mode().IsRegular():
			wb, _ := os.ReadFile(p)
			gb, _ := os.ReadFile(filepath.Join(got, rel))
			if !bytes.Equal(wb, gb) {
				t.Errorf("%s differs", rel)
			}
		}
		n++
		return nil
	})
	if err != nil || n < 8 {
		t.Fatalf("compared %d entries: %v", n, err)
	}
}

func TestDownloadRestoresTheSnapshotFromTheBucket(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	dir := t.TempDir()
	var last progress.Status
	res, err := Run(ctx, w.kube, w.cairn, fixture.NS, Request{Snapshot: "latest", Dir: dir, Progress: func(s progress.Status) { last = s }})
	if err != nil {
		t.Fatal(err)
	}
	// The engine restores absolute paths below the target.
	sameTree(t, w.src, filepath.Join(dir, w.src))
	if res.Snapshot != "web-1" || res.Repository != "web" || len(res.Components) != 1 || res.Components[0].Dir != dir ||
		res.Components[0].Stats.Files != 5 || strings.Contains(res.URL, "secret") {
		t.Fatalf("result %+v", res)
	}
	if !last.Done || last.BytesDone != last.BytesTotal || last.BytesTotal < 3<<20 {
		t.Fatalf("last progress %+v", last)
	}
	if _, err := Run(ctx, w.kube, w.cairn, fixture.NS, Request{Snapshot: "web-1", Dir: t.TempDir(), Components: []string{"pod-0"}}); err == nil || !strings.Contains(err.Error(), "it has dump") {
		t.Fatalf("missing component: %v", err)
	}
}

func TestDownloadSaysWhatIsWrong(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	run := func() error {
		_, err := Run(ctx, w.kube, w.cairn, fixture.NS, Request{Snapshot: "web-1", Dir: t.TempDir()})
		return err
	}
	if _, err := Run(ctx, w.kube, w.cairn, fixture.NS, Request{Snapshot: "web-1"}); err == nil || !strings.Contains(err.Error(), "--to DIR") {
		t.Fatalf("no dir: %v", err)
	}

	// A store not reachable at its endpoint from here; --endpoint names one that is.
	bad := w.storage.DeepCopy()
	bad.Spec.Storage.S3.Endpoint = "http://127.0.0.1:1"
	if _, err := w.cairn.StorageV1alpha1().BackupStorages(fixture.NS).Update(ctx, bad, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// (The engine retries for half a minute; two seconds show the message.)
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := Run(short, w.kube, w.cairn, fixture.NS, Request{Snapshot: "web-1", Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "reachable from this machine") {
		t.Fatalf("unreachable store: %v", err)
	}
	if _, err := Run(ctx, w.kube, w.cairn, fixture.NS, Request{Snapshot: "web-1", Dir: t.TempDir(), Endpoint: w.storage.Spec.Storage.S3.Endpoint}); err != nil {
		t.Fatalf("--endpoint: %v", err)
	}
	if _, err := Run(ctx, w.kube, w.cairn, fixture.NS, Request{Snapshot: "web-1", Dir: t.TempDir(), Endpoint: "not a url"}); err == nil || !strings.Contains(err.Error(), "--endpoint") {
		t.Fatalf("bad endpoint: %v", err)
	}
	if _, err := w.cairn.StorageV1alpha1().BackupStorages(fixture.NS).Update(ctx, w.storage, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	pw, _ := w.kube.CoreV1().Secrets(fixture.NS).Get(ctx, "password", metav1.GetOptions{})
	pw.Data["CAIRN_PASSWORD"] = []byte("wrong")
	if _, err := w.kube.CoreV1().Secrets(fixture.NS).Update(ctx, pw, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := run(); !errors.Is(err, repo.ErrWrongPassword) || !strings.Contains(err.Error(), "Secret ns/password") {
		t.Fatalf("wrong password: %v", err)
	}
	if err := w.kube.CoreV1().Secrets(fixture.NS).Delete(ctx, "password", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := run(); err == nil || !strings.Contains(err.Error(), "encryption Secret ns/password of Repository web does not exist") {
		t.Fatalf("no password Secret: %v", err)
	}

	local := w.storage.DeepCopy()
	local.Spec.Storage = storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderLocal, Local: &storagev1alpha1.LocalSpec{MountPath: "/backups"}}
	if _, err := w.cairn.StorageV1alpha1().BackupStorages(fixture.NS).Update(ctx, local, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := run(); !errors.Is(err, ErrLocalStorage) || !strings.Contains(err.Error(), "kubectl cairn restore") {
		t.Fatalf("local storage: %v", err)
	}
}
