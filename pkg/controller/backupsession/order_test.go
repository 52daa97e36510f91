package backupsession

import (
	"slices"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
)

// TestJobBeforeItsRole: the way to a session's backup Job is its Snapshot
// and its runner's ServiceAccount (the Job's pods need the account), not
// the Role and RoleBinding in the session's namespace, which are among the
// slowest writes an API server takes: the data mover's runner retries its
// first read until they are there, so they come after the Job. The Role
// and RoleBinding of the storage's namespace come before it, so that once
// the first read is allowed, every read is.
func TestJobBeforeItsRole(t *testing.T) {
	k, c := setup()
	f := newFixture(t, k, c)
	var mu sync.Mutex
	var creates []string
	record := func(a clienttesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		creates = append(creates, a.GetResource().Resource+" in "+a.GetNamespace())
		return false, nil, nil
	}
	f.Kube.PrependReactor("create", "*", record)
	f.Cairn.PrependReactor("create", "*", record)
	f.sync("web-daily-1")
	at := func(what string) int {
		i := slices.Index(creates, what)
		if i < 0 {
			t.Fatalf("no %s created: %v", what, creates)
		}
		return i
	}
	job := at("jobs in app")
	for _, before := range []string{"snapshots in app", "serviceaccounts in app", "roles in infra", "rolebindings in infra"} {
		if at(before) > job {
			t.Errorf("%s created after the Job: %v", before, creates)
		}
	}
	if at("roles in app") < job || at("rolebindings in app") < at("roles in app") {
		t.Errorf("want the Job, then the Role, then the RoleBinding in the session's namespace: %v", creates)
	}
}
