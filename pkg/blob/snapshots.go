package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// SnapshotsDir, under a repository's directory, holds one record per
// Snapshot object (<name>.yaml). The engine's own objects live under
// config, keys/, locks/, data/, index/, snapshots/ and plans/, so this
// name can never collide with one of them, and the engine never lists it.
const SnapshotsDir = "cairn-snapshots"

// SnapshotRecord is <directory>/cairn-snapshots/<name>.yaml: a Snapshot
// object as a new cluster needs it to recreate the object, without what
// only makes sense in the cluster that wrote it (uid, resourceVersion,
// owner references, timestamps of the object itself).
type SnapshotRecord struct {
	Version int `json:"version"`
	// Cluster wrote the record (the kube-system namespace UID).
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Labels are the Snapshot's cairn.dev labels (repository, config,
	// session, backup session), which retention and `latest` look up.
	Labels map[string]string        `json:"labels,omitempty"`
	Spec   storagev1.SnapshotSpec   `json:"spec"`
	Status storagev1.SnapshotStatus `json:"status"`
}

// SnapshotKey is the key of the record of Snapshot name in dir.
func SnapshotKey(dir, name string) string { return path.Join(dir, SnapshotsDir, name+".yaml") }

// ParseSnapshotRecord reads a snapshot record, checking every field a
// recreated object depends on: the bytes come from a bucket.
func ParseSnapshotRecord(data []byte) (*SnapshotRecord, error) {
	var m SnapshotRecord
	if err := parse(data, &m); err != nil {
		return nil, err
	}
	switch {
	case m.Version < 1:
		return nil, fmt.Errorf("record has no version: not written by Cairn")
	case m.Version > LayoutVersion:
		return nil, fmt.Errorf("record has version %d, newer than this Cairn's %d: upgrade Cairn", m.Version, LayoutVersion)
	case m.Cluster == "":
		return nil, fmt.Errorf("record names no cluster")
	case m.Spec.Repository == "":
		return nil, fmt.Errorf("record names no repository")
	}
	if errs := validation.IsDNS1123Subdomain(m.Name); len(errs) > 0 {
		return nil, fmt.Errorf("record's name %q is not an object name: %s", m.Name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(m.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("record's namespace %q is not a namespace name: %s", m.Namespace, strings.Join(errs, "; "))
	}
	for k, v := range m.Labels {
		if len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(v)) > 0 {
			return nil, fmt.Errorf("record's label %q=%q is not a valid label", k, v)
		}
	}
	return &m, nil
}

// WriteSnapshotRecord stores m as the record of its Snapshot in dir,
// replacing an older record of the same Snapshot (the status of a final
// Snapshot can still change: an integrity verdict). Writing what is
// already there writes nothing.
func WriteSnapshotRecord(ctx context.Context, b *backend.Backend, dir string, m *SnapshotRecord) error {
	m.Version = LayoutVersion
	data, err := Encode(m)
	if err != nil {
		return err
	}
	key := SnapshotKey(dir, m.Name)
	err = b.Put(ctx, key, data)
	if !IsExists(err) {
		return err
	}
	old, err := b.Get(ctx, key)
	if err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err != nil && !IsNotFound(err) {
		return err
	}
	// Puts are conditional creates: replacing is a delete and a create. A
	// crash between them leaves no record, and the next sync writes it.
	if err := b.Delete(ctx, key); err != nil {
		return err
	}
	return b.Put(ctx, key, data)
}

// DeleteSnapshotRecord removes the record of Snapshot name from dir; a
// missing record is not an error.
func DeleteSnapshotRecord(ctx context.Context, b *backend.Backend, dir, name string) error {
	return b.Delete(ctx, SnapshotKey(dir, name))
}

// FoundSnapshot is a snapshot record found in a repository's directory.
type FoundSnapshot struct {
	// Key of the record in the storage.
	Key string
	// Record is the parsed record, nil when Err says why it cannot be read.
	Record *SnapshotRecord
	Err    error
}

// FindSnapshots reads every snapshot record of the repository in dir. A
// record whose name does not match its key is refused: it would recreate
// an object under another name than the one its key promises.
func FindSnapshots(ctx context.Context, b *backend.Backend, dir string) ([]FoundSnapshot, error) {
	prefix := path.Join(dir, SnapshotsDir) + "/"
	var keys []string
	err := b.List(ctx, prefix, func(o backend.Object) error {
		if strings.HasSuffix(o.Key, ".yaml") && !strings.Contains(strings.TrimPrefix(o.Key, prefix), "/") {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]FoundSnapshot, 0, len(keys))
	for _, k := range keys {
		f := FoundSnapshot{Key: k}
		data, err := b.Get(ctx, k)
		if err == nil {
			f.Record, err = ParseSnapshotRecord(data)
		}
		if err == nil && SnapshotKey(dir, f.Record.Name) != k {
			f.Record, err = nil, fmt.Errorf("record names Snapshot %s, not the one its key names", f.Record.Name)
		}
		if err != nil {
			f.Err = fmt.Errorf("%s: %w: %v", k, ErrRecord, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// RecordedAnnotation, on a Snapshot, holds the Digest of the record last
// written for it, so a Snapshot whose record is current costs no bucket
// request and no API write.
const RecordedAnnotation = "storage.cairn.dev/recorded"

// labelPrefix selects the labels a record keeps.
const labelPrefix = "cairn.dev/"

// SnapshotRecordOf is the record of s, written by cluster.
func SnapshotRecordOf(s *storagev1.Snapshot, cluster string) *SnapshotRecord {
	m := &SnapshotRecord{Version: LayoutVersion, Cluster: cluster, Namespace: s.Namespace, Name: s.Name,
		Spec: *s.Spec.DeepCopy(), Status: *s.Status.DeepCopy()}
	for k, v := range s.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			if m.Labels == nil {
				m.Labels = map[string]string{}
			}
			m.Labels[k] = v
		}
	}
	return m
}

// Digest identifies what a record says about its Snapshot (not who wrote
// it): equal digests mean the stored record need not be written again.
func (m *SnapshotRecord) Digest() string {
	data, err := json.Marshal(struct {
		Namespace, Name string
		Labels          map[string]string
		Spec            storagev1.SnapshotSpec
		Status          storagev1.SnapshotStatus
	}{m.Namespace, m.Name, m.Labels, m.Spec, m.Status})
	if err != nil {
		// Plain API structs; a marshal error is a programming error.
		panic(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12])
}
