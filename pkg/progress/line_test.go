package progress

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestJSONLines(t *testing.T) {
	var b strings.Builder
	tr := New(context.Background(), JSONLines(&b, "backup"), time.Hour)
	tr.AddTotal(4, 1000)
	tr.AddBytes(250)
	tr.AddFiles(1)
	JSONLines(&b, "backup")(tr.Status()) // a report before the totals are final
	tr.TotalsDone()
	tr.AddError()
	tr.Finish()

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), b.String())
	}
	first, last := lines[0], lines[1]
	if first["type"] != "status" || first["action"] != "backup" || first["totalsKnown"] != false || first["done"] != false {
		t.Fatalf("first line %v", first)
	}
	if _, ok := first["percent"]; ok {
		t.Fatalf("percent present before the totals are known: %v", first)
	}
	if last["done"] != true || last["percent"] != 25.0 || last["bytesDone"] != 250.0 || last["filesTotal"] != 4.0 || last["warnings"] != 1.0 {
		t.Fatalf("last line %v", last)
	}
	if _, ok := last["elapsedSeconds"].(float64); !ok {
		t.Fatalf("elapsedSeconds missing: %v", last)
	}
}

func TestStatusLineETAAndPercentBounds(t *testing.T) {
	l := NewStatusLine("restore", Status{TotalsKnown: true, BytesTotal: 100, BytesDone: 150, ETA: 1500 * time.Millisecond, Elapsed: 2 * time.Second})
	if *l.Percent != 100 || *l.ETASeconds != 1.5 || l.ElapsedSeconds != 2 {
		t.Fatalf("line %+v: percent capped at 100, seconds not nanoseconds", l)
	}
	if l := NewStatusLine("restore", Status{TotalsKnown: true}); l.Percent != nil || l.ETASeconds != nil {
		t.Fatalf("zero totals give no percent or ETA: %+v", l)
	}
}
