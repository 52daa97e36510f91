package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
)

// Names of the fixture's objects: the application's namespace, and the
// storage in the operator's, as a cluster-wide BackupStorage would be.
const (
	appNS      = "shop"
	storageNS  = "cairn-system"
	repoName   = "shop-repo"
	sessionBS  = "shop-daily-1700000000"
	encSecret  = "shop-encryption"
	goodPasswd = "correct horse battery staple"
)

// engineOptions are cheap for tests: a fast KDF and small packs.
var engineOptions = repo.Options{KDF: crypto.TestKDF, PackSize: 1 << 20}

// fixture is a namespace with a Repository in a BackupStorage, the
// encryption Secret, a BackupSession, fake clientsets holding them, and a
// Runner on those clients.
type fixture struct {
	t      *testing.T
	cairn  *cairnfake.Clientset
	kube   *k8sfake.Clientset
	runner *Runner
	// data is the application's volume, as mounted at an absolute path.
	data string
	// storageDir is where a local BackupStorage is mounted.
	storageDir string
}

// localStorage is a local BackupStorage mounted at dir.
func localStorage(dir string) *storagev1.BackupStorage {
	return &storagev1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: storageNS, Name: "nfs"},
		Spec: storagev1.BackupStorageSpec{Storage: storagev1.Backend{Provider: storagev1.ProviderLocal,
			Local: &storagev1.LocalSpec{MountPath: dir}}},
	}
}

func passwordSecret(ns, name, password string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data: map[string][]byte{"CAIRN_PASSWORD": []byte(password)}}
}

// newFixture builds the objects; storage nil is a local storage in a
// temporary directory. Extra objects go to the clientset they belong to.
func newFixture(t *testing.T, storage *storagev1.BackupStorage, extra ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{t: t, data: filepath.Join(t.TempDir(), "data")}
	if storage == nil {
		f.storageDir = t.TempDir()
		storage = localStorage(f.storageDir)
	}
	cairnObjs := []runtime.Object{
		storage,
		&storagev1.Repository{
			ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: repoName},
			Spec: storagev1.RepositorySpec{
				AppRef:           common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "shop"},
				StorageRef:       common.ObjectReference{Namespace: storage.Namespace, Name: storage.Name},
				Path:             "shop/deployment/shop",
				EncryptionSecret: common.ObjectReference{Name: encSecret},
			},
		},
		&corev1alpha1.BackupSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: sessionBS},
			Spec: corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{
				APIGroup: "core.cairn.dev", Kind: "BackupConfiguration", Name: "shop"}, Session: "daily"},
		},
	}
	kubeObjs := []runtime.Object{passwordSecret(appNS, encSecret, goodPasswd)}
	for _, o := range extra {
		if _, ok := o.(*corev1.Secret); ok {
			kubeObjs = append(kubeObjs, o)
		} else {
			cairnObjs = append(cairnObjs, o)
		}
	}
	f.cairn = cairnfake.NewSimpleClientset(cairnObjs...)
	f.kube = k8sfake.NewSimpleClientset(kubeObjs...)
	f.runner = &Runner{Cairn: f.cairn, Kube: f.kube, Engine: engineOptions, ProgressInterval: 20 * time.Millisecond}
	writeFiles(t, f.data, map[string]string{
		"orders.db":         "order 1\norder 2\n",
		"img/logo.png":      "\x89PNG not really",
		"img/empty":         "",
		"conf/settings.ini": "[shop]\nname = test\n",
	})
	return f
}

// snapshot adds a Snapshot object of the fixture's session and returns its
// name; components are those its session expects (none: not recorded).
func (f *fixture) snapshot(name string, components ...string) string {
	f.t.Helper()
	s := &storagev1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: name},
		Spec: storagev1.SnapshotSpec{Repository: repoName, BackupSession: sessionBS,
			AppRef: common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "shop"}},
	}
	if len(components) > 0 {
		s.Annotations = map[string]string{storagev1.ComponentsAnnotation: strings.Join(components, ",")}
	}
	if _, err := f.cairn.StorageV1alpha1().Snapshots(appNS).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	return name
}

// backupRequest backs up the fixture's data volume as component.
func (f *fixture) backupRequest(snapshot, component string) BackupRequest {
	return BackupRequest{Namespace: appNS, BackupSession: sessionBS, Snapshot: snapshot, Component: component, Paths: []string{f.data}}
}

// markSucceeded sets a Snapshot's overall phase, as the operator does once
// its components finished.
func (f *fixture) markSucceeded(name string, at time.Time) {
	f.t.Helper()
	ctx := context.Background()
	s, err := f.cairn.StorageV1alpha1().Snapshots(appNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	s.Status.Phase = storagev1.SnapshotSucceeded
	s.Status.SnapshotTime = &metav1.Time{Time: at}
	if _, err := f.cairn.StorageV1alpha1().Snapshots(appNS).UpdateStatus(ctx, s, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// restoreSession adds a RestoreSession of snapshot from the fixture's
// repository, with the password in Secret enc.
func (f *fixture) restoreSession(name, snapshot, enc string, components ...string) string {
	f.t.Helper()
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: name},
		Spec: corev1alpha1.RestoreSessionSpec{DataSource: corev1alpha1.RestoreDataSource{
			Repository: repoName, Snapshot: snapshot, EncryptionSecret: common.ObjectReference{Name: enc}, Components: components}},
	}
	if _, err := f.cairn.CoreV1alpha1().RestoreSessions(appNS).Create(context.Background(), rs, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	return name
}

func (f *fixture) component(snapshot, name string) storagev1.Component {
	f.t.Helper()
	s, err := f.cairn.StorageV1alpha1().Snapshots(appNS).Get(context.Background(), snapshot, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	c, ok := s.Status.Components[name]
	if !ok {
		f.t.Fatalf("Snapshot %s has no component %s: %+v", snapshot, name, s.Status.Components)
	}
	return c
}

func (f *fixture) restoreComponent(session, name string) corev1alpha1.ComponentRestoreStatus {
	f.t.Helper()
	rs, err := f.cairn.CoreV1alpha1().RestoreSessions(appNS).Get(context.Background(), session, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	c, ok := rs.Status.Components[name]
	if !ok {
		f.t.Fatalf("RestoreSession %s has no component %s: %+v", session, name, rs.Status.Components)
	}
	return c
}

// engine opens the engine repository the fixture's local storage holds.
func (f *fixture) engine() *repo.Repository {
	f.t.Helper()
	ctx := context.Background()
	be, err := backend.Open(ctx, "file://"+f.storageDir+"/shop/deployment/shop", backend.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, goodPasswd, engineOptions)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { r.Close() })
	return r
}

// statusPatches are the bodies of every patch sent to the status of a
// resource ("snapshots" or "restoresessions"), decoded.
func statusPatches(t *testing.T, actions []k8stesting.Action, resource string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, a := range actions {
		p, ok := a.(k8stesting.PatchAction)
		if !ok || a.GetResource().Resource != resource {
			continue
		}
		if a.GetSubresource() != "status" || p.GetPatchType() != "application/merge-patch+json" {
			t.Fatalf("patch of %s/%s with type %s: want a merge patch of the status subresource", resource, a.GetSubresource(), p.GetPatchType())
		}
		var body map[string]any
		if err := json.Unmarshal(p.GetPatch(), &body); err != nil {
			t.Fatal(err)
		}
		out = append(out, body)
	}
	return out
}

// writeFiles creates files (slash path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// randomFile writes n random (incompressible) bytes to path.
func randomFile(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sameTree fails unless every file, directory and mode under want is
// under got with the same bytes, and got has nothing more.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		seen[rel] = true
		wi, _ := d.Info()
		gi, err := os.Lstat(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("%s: not restored: %v", rel, err)
			return nil
		}
		if wi.Mode() != gi.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		if wi.Mode().IsRegular() {
			if !wi.ModTime().Equal(gi.ModTime()) {
				t.Errorf("%s: mtime %v, want %v", rel, gi.ModTime(), wi.ModTime())
			}
			wb, _ := os.ReadFile(p)
			gb, _ := os.ReadFile(filepath.Join(got, rel))
			if !bytes.Equal(wb, gb) {
				t.Errorf("%s: content differs (%d bytes, want %d)", rel, len(gb), len(wb))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(got, func(p string, d fs.DirEntry, err error) error {
		if rel, _ := filepath.Rel(got, p); err == nil && !seen[rel] {
			t.Errorf("%s: restored but not in the source", rel)
		}
		return nil
	})
}

// cancelOnFirstProgress cancels ctx (with cause) when the first progress
// patch reaches resource: the work is then surely under way.
func cancelOnFirstProgress(c *cairnfake.Clientset, resource string, cancel context.CancelCauseFunc, cause error) {
	var once sync.Once
	c.PrependReactor("patch", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		if bytes.Contains(a.(k8stesting.PatchAction).GetPatch(), []byte(`"progress":{`)) {
			once.Do(func() { cancel(cause) })
		}
		return false, nil, nil
	})
}

var (
	metavOpts   = metav1.DeleteOptions{}
	metavUpdate = metav1.UpdateOptions{}
	metavCreate = metav1.CreateOptions{}
)

// progressRecorder keeps the body of every progress patch.
func progressRecorder(seen *[]string) k8stesting.ReactionFunc {
	var mu sync.Mutex
	return func(a k8stesting.Action) (bool, runtime.Object, error) {
		body := string(a.(k8stesting.PatchAction).GetPatch())
		if strings.Contains(body, `"progress":{`) {
			mu.Lock()
			*seen = append(*seen, body)
			mu.Unlock()
		}
		return false, nil, nil
	}
}

// copyTree copies the regular files and directories under src to dst,
// keeping modes and modification times.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := os.MkdirAll(out, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(out, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, b, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(out, info.ModTime(), info.ModTime())
	})
}
