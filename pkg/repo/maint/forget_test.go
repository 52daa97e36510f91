package maint_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

func snap(id byte, host string, t time.Time, tags ...string) *repo.Snapshot {
	return &repo.Snapshot{ID: repo.ID{id}, Hostname: host, Paths: []string{"/data"}, Time: t, Tags: tags}
}

func kept(groups []maint.Group) map[byte]bool {
	out := map[byte]bool{}
	for _, g := range groups {
		for _, d := range g.Decisions {
			if d.Keep {
				out[d.Snapshot.ID[0]] = true
			}
		}
	}
	return out
}

func TestApplyPolicyBuckets(t *testing.T) {
	base := time.Date(2026, 3, 10, 12, 0, 0, 0, time.Local)
	var snaps []*repo.Snapshot
	// One snapshot every 6 hours for 40 days: IDs 1..160.
	for i := 0; i < 160; i++ {
		snaps = append(snaps, snap(byte(i+1), "h", base.Add(time.Duration(i)*6*time.Hour)))
	}
	newest := snaps[len(snaps)-1].Time
	cases := []struct {
		name string
		p    maint.Policy
		want int
	}{
		{"last", maint.Policy{Last: 5}, 5},
		{"daily", maint.Policy{Daily: 7}, 7},
		{"last+daily overlap", maint.Policy{Last: 2, Daily: 3}, 4}, // 2 newest are both on the newest day
		{"weekly", maint.Policy{Weekly: 3}, 3},
		{"monthly", maint.Policy{Monthly: 12}, 2}, // only March and April exist
		{"yearly", maint.Policy{Yearly: 5}, 1},
		{"within", maint.Policy{Within: 24 * time.Hour}, 5}, // 0,6,12,18,24 h before newest
	}
	for _, c := range cases {
		groups, err := maint.ApplyPolicy(snaps, c.p, maint.GroupKey{Host: true, Paths: true}, newest)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(kept(groups)); got != c.want {
			t.Errorf("%s: kept %d, want %d", c.name, got, c.want)
		}
		if !kept(groups)[160] {
			t.Errorf("%s: newest snapshot not kept", c.name)
		}
	}
}

func TestApplyPolicyGroupsAndTags(t *testing.T) {
	now := time.Now()
	snaps := []*repo.Snapshot{
		snap(1, "a", now.Add(-3*time.Hour), "keep"),
		snap(2, "a", now.Add(-2*time.Hour)),
		snap(3, "a", now.Add(-1*time.Hour)),
		snap(4, "b", now.Add(-5*time.Hour)),
	}
	groups, err := maint.ApplyPolicy(snaps, maint.Policy{Last: 1, KeepTags: []string{"keep"}}, maint.GroupKey{Host: true, Paths: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	k := kept(groups)
	if len(groups) != 2 || !k[1] || k[2] || !k[3] || !k[4] {
		t.Fatalf("groups=%d kept=%v; want host b's only snapshot, a's newest and the tagged one", len(groups), k)
	}
	byTags, err := maint.ApplyPolicy(snaps, maint.Policy{Last: 1}, maint.GroupKey{Tags: true}, now)
	if err != nil || len(byTags) != 2 || !kept(byTags)[1] || !kept(byTags)[3] || kept(byTags)[4] {
		t.Fatalf("grouped by tags: %d groups, kept %v, %v", len(byTags), kept(byTags), err)
	}
	if _, err := maint.ApplyPolicy(snaps, maint.Policy{}, maint.GroupKey{}, now); err == nil {
		t.Fatal("empty policy accepted")
	}
	if _, err := maint.ApplyPolicy(snaps, maint.Policy{Last: -1}, maint.GroupKey{}, now); err == nil {
		t.Fatal("negative count accepted")
	}
}

func TestForgetDeletesSnapshots(t *testing.T) {
	ctx := context.Background()
	r, _ := repotest.Init(t)
	for i := 0; i < 4; i++ {
		if _, err := repotest.Backup(ctx, r, map[string][]byte{"f": {byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := maint.Forget(ctx, r, maint.Policy{Last: 1}, maint.GroupKey{Host: true}, time.Now(), true); err != nil {
		t.Fatal(err)
	}
	if snaps, _, _ := r.ListSnapshots(ctx); len(snaps) != 4 {
		t.Fatalf("dry run deleted snapshots: %d left", len(snaps))
	}
	if _, _, err := maint.Forget(ctx, r, maint.Policy{Last: 1}, maint.GroupKey{Host: true}, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	if snaps, _, _ := r.ListSnapshots(ctx); len(snaps) != 1 {
		t.Fatalf("%d snapshots left, want 1", len(snaps))
	}
}

func TestStatsDedup(t *testing.T) {
	ctx := context.Background()
	r, _ := repotest.Init(t)
	files := map[string][]byte{"a": randBytes(1 << 20), "b/c": []byte("text text text text text text text text text text text text text text")}
	for i := 0; i < 3; i++ {
		if _, err := repotest.Backup(ctx, r, files); err != nil {
			t.Fatal(err)
		}
	}
	st, err := maint.ComputeStats(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	logical := uint64(3 * (1<<20 + len(files["b/c"])))
	if st.Snapshots != 3 || st.Files != 6 || st.LogicalBytes != logical {
		t.Fatalf("stats = %+v; want 3 snapshots, 6 files, %d logical bytes", st, logical)
	}
	if st.DedupRatio < 2.99 || st.DedupRatio > 3.01 {
		t.Fatalf("dedup ratio %.3f, want 3", st.DedupRatio)
	}
	if st.StoredBytes < int64(st.UniqueStoredBytes) || st.Packs == 0 {
		t.Fatalf("stored %d < unique stored %d", st.StoredBytes, st.UniqueStoredBytes)
	}
}
