package repo_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
)

// TestErrorsAreTypedWithoutAdvice: the operator maps library errors to
// status conditions with errors.Is, and a condition must not tell a
// cluster user to run a CLI command (issue 14 item 10). Each failure here
// carries its sentinel and no "cairn ..." advice.
func TestErrorsAreTypedWithoutAdvice(t *testing.T) {
	ctx := context.Background()
	r, _ := newRepo(t)
	for range 2 {
		if _, err := r.SaveSnapshot(ctx, &repo.Snapshot{Tree: r.Hash([]byte("root")), Hostname: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	other, err := r.AddKey(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	empty := "file://" + t.TempDir()
	_, openErr := repo.Open(ctx, openBackend(t, empty, false), "secret", testOpts)
	_, noSnap := r.FindSnapshot(ctx, "ffffffffff")
	_, ambiguous := r.FindSnapshot(ctx, "")
	unknownKey := r.RemoveKey(ctx, repo.ID{1})
	inUse := r.RemoveKey(ctx, r.KeyID())
	future, _ := json.Marshal(map[string]any{"version": repo.FormatVersion + 1})
	_, version := repo.ParseConfig(future)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"open an empty directory", openErr, repo.ErrNoRepository},
		{"unknown snapshot", noSnap, repo.ErrNoSnapshot},
		{"ambiguous prefix", ambiguous, repo.ErrAmbiguousID},
		{"unknown key", unknownKey, repo.ErrNoKey},
		{"key in use", inUse, repo.ErrKeyInUse},
		{"newer format", version, repo.ErrUnsupportedVersion},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
			continue
		}
		if msg := c.err.Error(); strings.Contains(msg, "cairn ") || strings.Contains(msg, "run ") {
			t.Errorf("%s: %q gives a command-line user's advice", c.name, msg)
		}
	}
	if err := r.RemoveKey(ctx, other); err != nil {
		t.Fatal(err)
	}
}
