package repo

import (
	"context"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// TestUploadWorkers: a local directory, where data packs stream to disk
// and finishing one is an fsync rather than memory, finishes at least
// localUploads at once; a store that gets packs built in memory keeps
// Options.Uploads, which (with the packers' slots) bounds that memory.
func TestUploadWorkers(t *testing.T) {
	ctx := context.Background()
	local, err := backend.Open(ctx, "file://"+t.TempDir(), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	mem, err := backend.Open(ctx, "mem://", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	defaults := Options{}.withDefaults()
	for _, c := range []struct {
		name string
		be   *backend.Backend
		opts Options
		want int
	}{
		{"file:// default", local, defaults, localUploads},
		{"file:// more than the floor", local, Options{Uploads: 6}.withDefaults(), 6},
		{"file:// without streaming", local, Options{NoStreaming: true}.withDefaults(), defaults.Uploads},
		{"memory packs", mem, defaults, defaults.Uploads},
	} {
		if got := uploadWorkers(c.be, c.opts); got != c.want {
			t.Errorf("%s: %d upload workers, want %d", c.name, got, c.want)
		}
	}
}
