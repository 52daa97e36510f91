package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// shared is the cluster of the current test binary, set by Main.
var (
	sharedMu      sync.Mutex
	sharedCluster *Cluster
	sharedErr     error
)

// Main is the TestMain of an integration test package:
//
//	func TestMain(m *testing.M) { cluster.Main(m) }
//
// It reuses the cluster of `make cluster-up` when one runs (and leaves it
// running), otherwise starts one for this test binary and stops it after the
// tests. Set CAIRN_KEEP_CLUSTER=1 to keep a cluster it started, e.g. to look
// at it after a failure.
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx := context.Background()
	opts := Options{Log: os.Stderr}.withDefaults()
	users, err := lockFile(usersLockPath(opts.Dir), false)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	c, err := attachOrStart(ctx, opts)
	sharedMu.Lock()
	sharedCluster, sharedErr = c, err
	sharedMu.Unlock()
	code := m.Run()
	users.unlock()
	if err != nil || !c.owned {
		return code
	}
	// Wait until no other test binary uses the cluster, then stop it.
	last, lerr := lockFile(usersLockPath(opts.Dir), true)
	if lerr == nil {
		defer last.unlock()
	}
	if serr := c.Stop(); serr != nil {
		fmt.Fprintf(os.Stderr, "cluster: stop: %v\n", serr)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// attachOrStart reuses the running cluster or starts one, holding the start
// lock so that test binaries running in parallel do not both start one.
func attachOrStart(ctx context.Context, opts Options) (*Cluster, error) {
	lock, err := lockFile(startLockPath(opts.Dir), true)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	if c, err := Attach(ctx, opts); err == nil {
		fmt.Fprintf(os.Stderr, "cluster: reusing the running cluster in %s\n", c.Dir())
		return c, nil
	}
	c, err := Start(ctx, opts)
	if err == nil && os.Getenv("CAIRN_KEEP_CLUSTER") == "1" {
		c.owned = false
	}
	return c, err
}

// Shared returns the cluster Main started or attached to. It fails the test
// (with the start-up error) when there is none.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedCluster == nil && sharedErr == nil {
		t.Fatal("no shared cluster: the package needs `func TestMain(m *testing.M) { cluster.Main(m) }`")
	}
	if sharedErr != nil {
		t.Fatalf("local cluster unavailable: %v", sharedErr)
	}
	return sharedCluster
}

// Namespace creates a namespace with a unique name derived from the test's
// name and deletes it when the test ends. It waits for the namespace's
// default service account, so pods can be created in it right away.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := namespaceName(t.Name())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"cairn.test/name": labelSafe(t.Name())}}}
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	if err := c.WaitNamespaceReady(ctx, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// WaitNamespaceReady waits (up to a minute) for the namespace's default
// service account, which pods need before they can be created there.
func (c *Cluster) WaitNamespaceReady(ctx context.Context, name string) error {
	return waitFor(ctx, time.Minute, "service account default in namespace "+name, nil, func(ctx context.Context) (bool, string) {
		_, err := c.client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// namespaceName turns a test name into a valid, unique namespace name.
func namespaceName(test string) string {
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	base := labelSafe(strings.ToLower(test))
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	return "t-" + base + "-" + hex.EncodeToString(suffix)
}

// labelSafe keeps [a-z0-9-] (lower-casing letters) and maps the rest to '-'.
func labelSafe(s string) string {
	b := []byte(strings.ToLower(s))
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9') {
			b[i] = '-'
		}
	}
	out := strings.Trim(string(b), "-")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	return out
}
