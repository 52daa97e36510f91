package blob

import (
	"strings"
	"testing"
	"time"
)

func TestRecordsRoundTrip(t *testing.T) {
	m := &StorageMetadata{Version: 1, Cluster: "c", BackupStorage: ObjectRef{Namespace: "n", Name: "s", UID: "u"}, CreatedAt: time.Unix(1700000000, 0).UTC()}
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseStorageMetadata(data)
	if err != nil || *got != *m {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for in, says := range map[string]string{
		"cluster: c\n":                   "no version",
		"version: 2\ncluster: c\n":       "upgrade Cairn",
		"version: 1\n":                   "no cluster",
		"version: 1\ncluster: c\n":       "names no object",
		"[":                              "not valid YAML",
		strings.Repeat("#", maxRecord+1): "larger than",
	} {
		if _, err := ParseRepositoryMetadata([]byte(in)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%.20q: %v, want %q", in, err, says)
		}
	}
}

// FuzzParseRecords feeds bucket content, which anyone holding the bucket's
// credentials may have written, to both record parsers.
func FuzzParseRecords(f *testing.F) {
	f.Add([]byte("version: 1\ncluster: c\nbackupStorage: {namespace: n, name: s, uid: u}\n"))
	f.Add([]byte("version: 1\ncluster: c\nrepository: {namespace: n, name: r, uid: u}\nspec: {path: a/b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := ParseStorageMetadata(data); err == nil && (m.Cluster == "" || m.BackupStorage.UID == "") {
			t.Fatalf("accepted %+v", m)
		}
		if m, err := ParseRepositoryMetadata(data); err == nil && (m.Cluster == "" || m.Repository.Name == "") {
			t.Fatalf("accepted %+v", m)
		}
	})
}
