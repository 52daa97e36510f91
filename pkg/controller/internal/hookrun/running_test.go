package hookrun

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRunningSeesOnlyUnfinishedHooksOfItsStage(t *testing.T) {
	session := &metav1.ObjectMeta{Namespace: "app", Name: "web-daily-1", UID: "u1"}
	pre, post := StageKey(session, "pre"), StageKey(session, "post")
	freeze := &run{}
	r := &Runner{runs: map[string]*run{pre + "freeze": freeze, post + "thaw": {done: true}}}
	if !r.Running(pre) {
		t.Fatal("a started pre hook that has not ended is not reported running")
	}
	if r.Running(post) {
		t.Fatal("a finished post hook is reported running")
	}
	other := &metav1.ObjectMeta{Namespace: "app", Name: "web-daily-10", UID: "u2"}
	if r.Running(StageKey(other, "pre")) {
		t.Fatal("another session's hook is reported running")
	}
	freeze.done = true
	if r.Running(pre) {
		t.Fatal("an ended pre hook is still reported running")
	}
}
