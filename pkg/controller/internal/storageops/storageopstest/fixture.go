package storageopstest

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/controllertest"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
)

// ClusterUID is the identity of the fixture's cluster: the UID of its
// kube-system namespace, which metadata.yaml and repository.yaml record.
const ClusterUID = "cluster-1"

// NewFixture is the fixture the BackupStorage, Repository and Snapshot
// controllers' tests share: controllertest's fakes holding objs (the
// storage kinds in the Cairn clientset, the rest in the Kubernetes one)
// and the cluster's kube-system namespace. Build the controller from its
// Deps, then call Refresh.
func NewFixture(t testing.TB, objs ...runtime.Object) *controllertest.Fixture {
	kubeObjs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: storageops.ClusterNamespace, UID: ClusterUID}}}
	var cairnObjs []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *storagev1.BackupStorage, *storagev1.Repository, *storagev1.Snapshot:
			cairnObjs = append(cairnObjs, o)
		default:
			kubeObjs = append(kubeObjs, o)
		}
	}
	return controllertest.New(t, kubeObjs, cairnObjs)
}

// Writes counts the write actions among actions (create, update, patch,
// delete): a steady state makes none.
func Writes(actions []clienttesting.Action) int {
	n := 0
	for _, a := range actions {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			n++
		}
	}
	return n
}

// Events drains the recorder.
func Events(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// ExpectEvent drains the recorder and fails t unless an Event of reason
// says what it should.
func ExpectEvent(t testing.TB, r *record.FakeRecorder, reason, says string) {
	t.Helper()
	evs := Events(r)
	for _, e := range evs {
		if strings.Contains(e, reason) && strings.Contains(e, says) {
			return
		}
	}
	t.Fatalf("no event %s saying %q in %q", reason, says, evs)
}
