package repo

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseConfig: the config decoder never panics and accepts only
// complete configs of the supported version.
func FuzzParseConfig(f *testing.F) {
	good, _ := json.Marshal(Config{Version: FormatVersion, ChunkerSeed: [32]byte{1}, ChunkIDKey: [32]byte{2}})
	f.Add(good)
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err == nil && (cfg.Version != FormatVersion || cfg.ChunkIDKey == [32]byte{}) {
			t.Fatalf("accepted bad config %+v", cfg)
		}
	})
}

// FuzzParseSnapshot: manifests never panic the decoder; accepted ones have
// a root tree.
func FuzzParseSnapshot(f *testing.F) {
	good, _ := json.Marshal(&Snapshot{Time: time.Unix(1, 0), Hostname: "h", Paths: []string{"/"}, Tree: ID{1}, Parent: ID{2}})
	f.Add(good)
	f.Add([]byte(`{"tree":"zz"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sn, err := ParseSnapshot(ID{}, data)
		if err == nil && sn.Tree.IsZero() {
			t.Fatal("accepted a snapshot without tree")
		}
	})
}

// FuzzParsePlan: prune plans never panic the decoder; accepted ones have a
// creation time (without it the grace period could not be judged).
func FuzzParsePlan(f *testing.F) {
	good, _ := json.Marshal(&Plan{Created: time.Unix(5, 0), Packs: []ID{{1}}})
	f.Add(good)
	f.Add([]byte(`{"packs":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePlan(ID{}, data)
		if err == nil && p.Created.IsZero() {
			t.Fatal("accepted a plan without creation time")
		}
	})
}
