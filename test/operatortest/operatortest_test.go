package operatortest

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// TestWaitCondition checks the rules other tests rely on: a condition counts
// only for the object's current generation, a Get error is retried, and a
// timeout names the object and the conditions last seen.
func TestWaitCondition(t *testing.T) {
	ready := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Checked", ObservedGeneration: 1}
	states := []*storagev1alpha1.BackupStorage{
		nil, // the first Get fails
		{ObjectMeta: metav1.ObjectMeta{Name: "s3", Generation: 2}, Status: storagev1alpha1.BackupStorageStatus{Conditions: []metav1.Condition{ready}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "s3", Generation: 2}, Status: storagev1alpha1.BackupStorageStatus{Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Checked", ObservedGeneration: 2}}}},
	}
	calls := 0
	get := func(ctx context.Context, name string, _ metav1.GetOptions) (*storagev1alpha1.BackupStorage, error) {
		s := states[min(calls, len(states)-1)]
		calls++
		if s == nil {
			return nil, context.DeadlineExceeded
		}
		return s.DeepCopy(), nil
	}
	got, err := WaitCondition(context.Background(), get, "s3", "Ready", metav1.ConditionTrue, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 || got.Status.Conditions[0].ObservedGeneration != 2 {
		t.Errorf("accepted after %d reads with observedGeneration %d; want the third read (generation 2)", calls, got.Status.Conditions[0].ObservedGeneration)
	}

	stale := func(ctx context.Context, name string, _ metav1.GetOptions) (*storagev1alpha1.BackupStorage, error) {
		return states[1].DeepCopy(), nil
	}
	_, err = WaitCondition(context.Background(), stale, "s3", "Ready", metav1.ConditionTrue, time.Second)
	if err == nil || !strings.Contains(err.Error(), "s3 to have condition Ready=True") || !strings.Contains(err.Error(), "Ready=True (Checked, generation 1)") {
		t.Errorf("a condition of an older generation: error %v; want a timeout naming the object and the stale condition", err)
	}
}
