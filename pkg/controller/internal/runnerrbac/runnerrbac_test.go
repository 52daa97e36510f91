package runnerrbac

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/pkg/jobs"
)

// TestRemoveDeletesOnce: the informer may list a runner ServiceAccount for
// a moment after Remove deleted it, while each update of a finished
// session's Jobs and pods calls Remove again; the account is deleted once.
func TestRemoveDeletesOnce(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "cairn-backup-s1", UID: "uid-sa",
		Labels: map[string]string{jobs.RBACLabel: jobs.RBACLabelValue("app", "s1")}}}
	kube := kubefake.NewSimpleClientset(sa)
	inf := informers.NewSharedInformerFactory(kube, 0)
	accounts := inf.Core().V1().ServiceAccounts()
	if err := accounts.Informer().GetIndexer().Add(sa); err != nil {
		t.Fatal(err)
	}
	m := &Manager{Kube: kube, Accounts: accounts.Lister(), Roles: inf.Rbac().V1().Roles().Lister(), Bindings: inf.Rbac().V1().RoleBindings().Lister()}
	for i := 0; i < 3; i++ {
		if err := m.Remove(context.Background(), "app", "s1"); err != nil {
			t.Fatal(err)
		}
	}
	deletes := 0
	for _, a := range kube.Actions() {
		if a.GetVerb() == "delete" {
			deletes++
		}
	}
	if deletes != 1 {
		t.Fatalf("%d deletes of a ServiceAccount the cache still lists, want 1", deletes)
	}
}
