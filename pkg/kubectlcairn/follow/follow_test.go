package follow

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestUntilRetriesReadErrorsAndStopsWhenFinal(t *testing.T) {
	reads := []error{errors.New("connection refused"), nil, nil}
	n := 0
	var seen []int
	last, err := Until(context.Background(), time.Millisecond, "thing",
		func(context.Context) (int, error) { err := reads[n]; n++; return n, err },
		func(v int) bool { return v == 3 },
		func(v int) { seen = append(seen, v) })
	if err != nil || last != 3 || len(seen) != 2 || seen[0] != 2 {
		t.Fatalf("last %d, err %v, seen %v", last, err, seen)
	}
}

func TestUntilEndsWhenTheObjectGoes(t *testing.T) {
	gone := apierrors.NewNotFound(schema.GroupResource{Resource: "backupsessions"}, "x")
	_, err := Until(context.Background(), time.Millisecond, "BackupSession ns/x",
		func(context.Context) (int, error) { return 0, gone }, func(int) bool { return false }, nil)
	if err == nil || !strings.Contains(err.Error(), "BackupSession ns/x was deleted") {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Until(ctx, time.Millisecond, "thing", func(context.Context) (int, error) { return 0, errors.New("down") }, func(int) bool { return false }, nil)
	if err == nil || !strings.Contains(err.Error(), "waiting for thing") {
		t.Fatal(err)
	}
}
