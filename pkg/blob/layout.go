package blob

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// Keys of the records Cairn keeps in a storage, relative to its prefix.
const (
	// MetadataKey records the cluster that initialised the storage.
	MetadataKey = "metadata.yaml"
	// RepositoryFile, under a repository's directory, records the
	// Repository that owns the directory.
	RepositoryFile = "repository.yaml"
)

// LayoutVersion is the version of the records this package writes; a
// record of a later version is refused rather than misread.
const LayoutVersion = 1

// maxRecord bounds a record's size: they are a few hundred bytes, and a
// bucket's content is not trusted to be small.
const maxRecord = 64 << 10

// ObjectRef names a Kubernetes object in a record.
type ObjectRef struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       types.UID `json:"uid"`
}

// String is namespace/name.
func (r ObjectRef) String() string { return r.Namespace + "/" + r.Name }

// StorageMetadata is metadata.yaml: which cluster (its kube-system
// namespace UID) and which BackupStorage initialised the storage. Another
// cluster that finds it adopts the storage instead of writing over it.
type StorageMetadata struct {
	Version       int       `json:"version"`
	Cluster       string    `json:"cluster"`
	BackupStorage ObjectRef `json:"backupStorage"`
	CreatedAt     time.Time `json:"createdAt"`
}

// RepositoryMetadata is repository.yaml: the Repository that owns a
// directory (its cluster, namespace, name and UID) and its spec, so a new
// cluster can recreate the object and restore from the directory.
type RepositoryMetadata struct {
	Version    int                      `json:"version"`
	Cluster    string                   `json:"cluster"`
	Repository ObjectRef                `json:"repository"`
	Spec       storagev1.RepositorySpec `json:"spec"`
	CreatedAt  time.Time                `json:"createdAt"`
}

// Encode renders a record as YAML.
func Encode(record any) ([]byte, error) {
	return yaml.Marshal(record)
}

// ParseStorageMetadata reads metadata.yaml. The bytes come from a bucket
// anyone with its credentials may have written, so every field is checked.
func ParseStorageMetadata(data []byte) (*StorageMetadata, error) {
	var m StorageMetadata
	if err := parse(data, &m); err != nil {
		return nil, err
	}
	if err := checkHeader(m.Version, m.Cluster, m.BackupStorage); err != nil {
		return nil, err
	}
	return &m, nil
}

// ParseRepositoryMetadata reads repository.yaml, checking every field.
func ParseRepositoryMetadata(data []byte) (*RepositoryMetadata, error) {
	var m RepositoryMetadata
	if err := parse(data, &m); err != nil {
		return nil, err
	}
	if err := checkHeader(m.Version, m.Cluster, m.Repository); err != nil {
		return nil, err
	}
	return &m, nil
}

func parse(data []byte, into any) error {
	if len(data) > maxRecord {
		return fmt.Errorf("record of %d bytes is larger than %d: not written by Cairn", len(data), maxRecord)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		return fmt.Errorf("record is not valid YAML: %w", err)
	}
	return nil
}

func checkHeader(version int, cluster string, ref ObjectRef) error {
	switch {
	case version < 1:
		return fmt.Errorf("record has no version: not written by Cairn")
	case version > LayoutVersion:
		return fmt.Errorf("record has version %d, newer than this Cairn's %d: upgrade Cairn", version, LayoutVersion)
	case cluster == "":
		return fmt.Errorf("record names no cluster")
	case ref.Namespace == "" || ref.Name == "" || ref.UID == "":
		return fmt.Errorf("record names no object (namespace, name and uid)")
	}
	return nil
}
