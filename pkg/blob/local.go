package blob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/types"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// A local BackupStorage is a volume (NFS, a PVC, a hostPath) that only a
// pod mounting it can reach, so the operator does not open it: a short Job
// runs `cairn storage init|record|wipe`, which calls InitStorage,
// RecordRepository or WipeStorage here and reports a JobResult in the
// pod's termination message, read back by the controller.

// MaxResult is the size of a container's termination message: a result
// must fit, so the repositories an init lists are cut to fit it.
const MaxResult = 4096

// JobResult is what a `cairn storage` Job reports. Failure fields are set
// when the storage refused; the rest says what the Job found or did.
type JobResult struct {
	// Reason and Message say why the Job failed ("" on success).
	Reason  Reason `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Storage is the metadata.yaml in place after an init.
	Storage *StorageMetadata `json:"storage,omitempty"`
	// Created: this Job wrote the record (metadata.yaml or repository.yaml).
	Created bool `json:"created,omitempty"`
	// Repositories are the records an init found in an adopted storage.
	Repositories []RepositoryMetadata `json:"repositories,omitempty"`
	// Unread are directories whose repository.yaml could not be read, or
	// that did not fit in the result (Truncated).
	Unread    []string `json:"unread,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
	// Repository is the repository.yaml in place after a record.
	Repository *RepositoryMetadata `json:"repository,omitempty"`
	// Deleted counts the objects a wipe deleted.
	Deleted int `json:"deleted,omitempty"`
}

// Failed is a result for err, with its reason and message.
func Failed(err error, what string) JobResult {
	e := classify(err, what)
	return JobResult{Reason: e.Reason, Message: e.Error()}
}

// Encode renders the result within MaxResult bytes, dropping repositories
// from the end (named in Unread, Truncated set) until it fits.
func (r JobResult) Encode() []byte {
	for {
		data, err := json.Marshal(r)
		if err != nil || len(data) <= MaxResult {
			return data
		}
		switch {
		case len(r.Repositories) > 0:
			last := r.Repositories[len(r.Repositories)-1]
			r.Repositories = r.Repositories[:len(r.Repositories)-1]
			r.Unread = append(r.Unread, last.Spec.Path)
		case len(r.Unread) > 0:
			r.Unread = r.Unread[:len(r.Unread)-1]
		case len(r.Message) > 0:
			r.Message = r.Message[:len(r.Message)/2]
		default:
			return data // records are bounded well below MaxResult
		}
		r.Truncated = true
	}
}

// ParseJobResult reads a termination message. A pod's message is written by
// the Cairn image, yet checked: a record it carries is checked as one read
// from the storage.
func ParseJobResult(data []byte) (*JobResult, error) {
	if len(data) > MaxResult {
		return nil, fmt.Errorf("result of %d bytes is larger than %d", len(data), MaxResult)
	}
	var r JobResult
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("result is not Cairn's: %w", err)
	}
	if r.Storage != nil {
		if err := checkHeader(r.Storage.Version, r.Storage.Cluster, r.Storage.BackupStorage); err != nil {
			return nil, fmt.Errorf("result's storage record: %w", err)
		}
	}
	if r.Repository != nil {
		if err := checkHeader(r.Repository.Version, r.Repository.Cluster, r.Repository.Repository); err != nil {
			return nil, fmt.Errorf("result's repository record: %w", err)
		}
	}
	for _, m := range r.Repositories {
		if err := checkHeader(m.Version, m.Cluster, m.Repository); err != nil {
			return nil, fmt.Errorf("result's repository record %s: %w", m.Spec.Path, err)
		}
	}
	return &r, nil
}

// InitStorage writes metadata.yaml (mine) if there is none, and otherwise
// keeps the one there; when that one is another BackupStorage's (adopted),
// it lists the repository records of the storage.
func InitStorage(ctx context.Context, b *backend.Backend, mine *StorageMetadata) JobResult {
	m, err := ReadStorageMetadata(ctx, b)
	if IsNotFound(err) {
		if err = CreateStorageMetadata(ctx, b, mine); err == nil {
			return JobResult{Storage: mine, Created: true}
		}
		if IsExists(err) {
			m, err = ReadStorageMetadata(ctx, b)
		}
	}
	if errors.Is(err, ErrRecord) {
		return JobResult{Reason: ReasonInvalid, Message: err.Error() + ": point the BackupStorage at another volume or subPath, or remove " + MetadataKey + " if it is not Cairn's"}
	}
	if err != nil {
		return Failed(err, "using "+MetadataKey+" in "+b.URL())
	}
	res := JobResult{Storage: m}
	if m.Cluster == mine.Cluster && m.BackupStorage.UID == mine.BackupStorage.UID {
		return res
	}
	found, err := FindRepositories(ctx, b)
	if err != nil {
		return Failed(err, "listing the repositories in "+b.URL())
	}
	for _, f := range found {
		if f.Err != nil {
			res.Unread = append(res.Unread, f.Dir)
			continue
		}
		f.Meta.Spec.Path = f.Dir
		res.Repositories = append(res.Repositories, *f.Meta)
	}
	return res
}

// RecordRepository writes dir's repository.yaml (mine) if there is none,
// or replaces it when it names takeOver (the UID of an owner the operator
// found gone); otherwise it reports the record in place, for the operator
// to decide on.
func RecordRepository(ctx context.Context, b *backend.Backend, dir string, mine *RepositoryMetadata, takeOver types.UID) JobResult {
	m, err := ReadRepositoryMetadata(ctx, b, dir)
	if err == nil && takeOver != "" && m.Repository.UID == takeOver {
		if err = b.Delete(ctx, RepositoryKey(dir)); err == nil {
			err = backend.ErrNotFound
		}
	}
	if IsNotFound(err) {
		if err = CreateRepositoryMetadata(ctx, b, dir, mine); err == nil {
			return JobResult{Repository: mine, Created: true}
		}
		if IsExists(err) {
			m, err = ReadRepositoryMetadata(ctx, b, dir)
		}
	}
	if errors.Is(err, ErrRecord) {
		return JobResult{Reason: ReasonInvalid, Message: err.Error() + ": use another spec.path, or remove the file if the directory is not Cairn's"}
	}
	if err != nil {
		return Failed(err, "recording the repository in "+b.URL()+"/"+dir)
	}
	return JobResult{Repository: m}
}

// WipeStorage deletes every object under prefix ("" for the whole storage).
func WipeStorage(ctx context.Context, b *backend.Backend, prefix string) JobResult {
	n, err := Wipe(ctx, b, prefix)
	if err != nil {
		r := Failed(err, "wiping "+b.URL()+"/"+prefix)
		r.Deleted = n
		return r
	}
	return JobResult{Deleted: n}
}

// Err is the failure the result reports as an *Error, nil on success.
func (r JobResult) Err() error {
	if r.Reason == "" {
		return nil
	}
	return &Error{Reason: r.Reason, msg: r.Message}
}
