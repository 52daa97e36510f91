package ownwrites

import (
	"testing"

	"k8s.io/client-go/tools/cache"
)

// TestWritesWithoutNumbers: a resourceVersion that is not a number (the
// fake API server keeps them empty) is never waited for.
func TestWritesWithoutNumbers(t *testing.T) {
	w := New()
	key := cache.ObjectName{Namespace: "app", Name: "s"}
	w.Wrote(key, "")
	if w.Behind(key, "") {
		t.Fatal("waits for an empty resourceVersion")
	}
	w.Wrote(key, "7")
	if !w.Behind(key, "6") || w.Behind(key, "8") || w.Behind(key, "6") {
		t.Fatal("want behind at 6 until the cache reached 7, then forgotten")
	}
}
