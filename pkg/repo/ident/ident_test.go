package ident

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseStringRoundTrip(t *testing.T) {
	id := ID{0xde, 0xad, 0xbe, 0xef, 31: 0x01}
	got, err := Parse(id.String())
	if err != nil || got != id {
		t.Fatalf("Parse(String()) = %v, %v", got, err)
	}
	if id.Short() != "deadbeef" || id.IsZero() || !(ID{}).IsZero() {
		t.Fatal("Short/IsZero")
	}
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 63), strings.Repeat("a", 65)} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "invalid ID") {
			t.Errorf("Parse(%q) = %v, want an invalid ID error", bad, err)
		}
	}
}

func TestJSONAndOrder(t *testing.T) {
	ids := []ID{{3}, {1}, {2}}
	b, err := json.Marshal(ids)
	if err != nil || !strings.Contains(string(b), ids[0].String()) {
		t.Fatalf("marshal: %s %v", b, err)
	}
	var back []ID
	if err := json.Unmarshal(b, &back); err != nil || back[1] != ids[1] {
		t.Fatalf("unmarshal: %v", err)
	}
	if err := json.Unmarshal([]byte(`["zz"]`), &back); err == nil {
		t.Fatal("bad hex accepted")
	}
	Sort(ids)
	if ids[0] != (ID{1}) || ids[2] != (ID{3}) || Compare(ids[0], ids[1]) >= 0 {
		t.Fatalf("Sort = %v", ids)
	}
	if DataBlob.String() != "data" || TreeBlob.String() != "tree" || BlobType(9).Valid() {
		t.Fatal("blob type names")
	}
}
