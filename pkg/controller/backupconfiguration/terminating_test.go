package backupconfiguration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
)

// A config in a namespace being deleted creates nothing: the API server
// would refuse every create (403), and a requeue would only repeat them.
func TestNothingIsCreatedInANamespaceBeingDeleted(t *testing.T) {
	k, c := workingSetup(backupConfig(true))
	for i, o := range k {
		if ns, ok := o.(*corev1.Namespace); ok {
			ns = ns.DeepCopy()
			ns.DeletionTimestamp = &metav1.Time{}
			ns.Finalizers = []string{"kubernetes"}
			k[i] = ns
		}
	}
	f := newFixture(t, k, c)
	writes, err := f.sync("app", "web")
	if err != nil {
		t.Fatalf("sync in a terminating namespace: %v", err)
	}
	if len(writes) != 0 {
		t.Fatalf("writes in a terminating namespace: %v", writes)
	}
}

// When the namespace's deletion began after the cache last saw it, the
// API server's refusal ends the sync without an error (no retry storm).
func TestRefusalOfATerminatingNamespaceIsNotRetried(t *testing.T) {
	k, c := workingSetup(backupConfig(true))
	f := newFixture(t, k, c)
	refuse := func(action clienttesting.Action) (bool, runtime.Object, error) {
		err := apierrors.NewForbidden(action.GetResource().GroupResource(), "", nil)
		err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause, Message: "namespace app is being terminated"}}
		return true, nil, err
	}
	f.kube.PrependReactor("create", "*", refuse)
	f.cairn.PrependReactor("create", "*", refuse)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatalf("a create refused because the namespace is terminating must not be retried: %v", err)
	}
}
