package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/fsfixture"
)

// jsonLines decodes every line of --json output and checks the line
// protocol of docs/cli.md: status lines of the action, the last of them
// done, then exactly one summary as the last line.
func jsonLines(t *testing.T, out, action string, took time.Duration) (status []map[string]any, sum map[string]any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d %q is not a JSON object: %v", i+1, l, err)
		}
		if m["action"] != action {
			t.Fatalf("line %d has action %v, want %s", i+1, m["action"], action)
		}
		switch {
		case i == len(lines)-1:
			if m["type"] != "summary" {
				t.Fatalf("last line is %v, want the summary", m["type"])
			}
			sum = m
		case m["type"] == "status":
			status = append(status, m)
		default:
			t.Fatalf("line %d has type %v before the summary", i+1, m["type"])
		}
	}
	if len(status) == 0 || status[len(status)-1]["done"] != true {
		t.Fatalf("no final status line with done=true in:\n%s", out)
	}
	// At most one line per second, plus the final one.
	if max := int(took/time.Second) + 2; len(status) > max {
		t.Fatalf("%d status lines in %v: more than one a second", len(status), took)
	}
	return status, sum
}

func TestJSONProgressAndSummaryLines(t *testing.T) {
	setupRepo(t)
	// Plain files: the progress of sparse files is not byte-exact yet
	// (the scan counts a hole's bytes, the reader does not).
	src := t.TempDir()
	for i := range 5 {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprint(i)), fsfixture.Random(300<<10, uint64(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	out := mustCairn(t, "repo", "backup", "--json", src)
	status, sum := jsonLines(t, out, "backup", time.Since(start))
	last := status[len(status)-1]
	if last["bytesDone"] != last["bytesTotal"] || last["filesDone"] != last["filesTotal"] || last["percent"] != 100.0 || last["totalsKnown"] != true {
		t.Fatalf("final backup status %v: want everything done, 100%%", last)
	}
	for _, k := range []string{"bytesPerSecond", "elapsedSeconds", "warnings"} {
		if _, ok := last[k].(float64); !ok {
			t.Errorf("status line lacks %s: %v", k, last)
		}
	}
	if id, _ := sum["snapshotId"].(string); len(id) != 64 {
		t.Fatalf("backup summary %v lacks the snapshot ID", sum)
	}

	target := t.TempDir()
	start = time.Now()
	out = mustCairn(t, "repo", "restore", "--json", "--target", target, "latest")
	status, sum = jsonLines(t, out, "restore", time.Since(start))
	if last := status[len(status)-1]; last["bytesDone"] == 0.0 || last["totalsKnown"] != true {
		t.Fatalf("final restore status %v", last)
	}
	if sum["target"] != target || sum["stats"].(map[string]any)["files"] == 0.0 {
		t.Fatalf("restore summary %v", sum)
	}

	// --quiet keeps only the summary.
	out = mustCairn(t, "repo", "backup", "--json", "--quiet", src)
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 0 || !strings.Contains(out, `"type":"summary"`) {
		t.Fatalf("--json --quiet printed more than the summary:\n%s", out)
	}
}
