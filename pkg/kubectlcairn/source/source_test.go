package source

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
)

var db = common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "db"}

func objects() *fake.Clientset {
	return fake.NewSimpleClientset(fixture.Repository("web", fixture.Web), fixture.Repository("db", db),
		fixture.Snapshot("web-old", "web", "web", storagev1alpha1.SnapshotSucceeded, -48*time.Hour, "a"),
		fixture.Snapshot("web-new", "web", "web", storagev1alpha1.SnapshotSucceeded, -24*time.Hour, "b"),
		fixture.Snapshot("web-failed", "web", "web", storagev1alpha1.SnapshotFailed, -time.Hour, ""),
	)
}

func TestFind(t *testing.T) {
	ctx := context.Background()
	c := objects()
	for _, tc := range []struct {
		name       string
		q          Request
		want, repo string
		err        string
		is         error
	}{
		{name: "named", q: Request{Snapshot: "web-old"}, want: "web-old", repo: "web"},
		{name: "latest of the target's repository", q: Request{Snapshot: "latest", App: &fixture.Web}, want: "web-new", repo: "web"},
		{name: "latest of a named repository", q: Request{Snapshot: "latest", Repository: "web"}, want: "web-new", repo: "web"},
		{name: "latest, two repositories", q: Request{Snapshot: "latest"}, err: "db, web", is: ErrAmbiguous},
		{name: "latest of a repository without backups", q: Request{Snapshot: "latest", App: &db}, err: "no Succeeded Snapshot", is: ErrNotRestorable},
		{name: "latest of an app without repository", q: Request{Snapshot: "latest", App: &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "x"}}, err: "--repository", is: ErrAmbiguous},
		{name: "failed snapshot", q: Request{Snapshot: "web-failed"}, err: "is Failed", is: ErrNotRestorable},
		{name: "snapshot of another repository", q: Request{Snapshot: "web-old", Repository: "db"}, err: "is in Repository web"},
		{name: "missing snapshot", q: Request{Snapshot: "nosuch"}, err: "kubectl cairn snapshots lists them"},
		{name: "none given", q: Request{}, err: "no snapshot given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Find(ctx, c, fixture.NS, tc.q)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || (tc.is != nil && !errors.Is(err, tc.is)) {
					t.Fatalf("err %v, want %q (%v)", err, tc.err, tc.is)
				}
				return
			}
			if err != nil || f.Snapshot.Name != tc.want || f.Repository.Name != tc.repo {
				t.Fatalf("found %+v, %v", f, err)
			}
		})
	}
	if _, err := Find(ctx, fake.NewSimpleClientset(), fixture.NS, Request{Snapshot: "latest"}); !errors.Is(err, ErrNotRestorable) {
		t.Fatalf("empty namespace: %v", err)
	}
}
