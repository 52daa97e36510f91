// Package blob is the one place that turns a BackupStorage and its
// credentials Secret into an open bucket (pkg/repo/backend over
// gocloud.dev/blob). The operator opens storages through it, and the Jobs
// it starts get their environment from it, so both read the same Secret
// keys, address the same URLs and report the same reasons when a store
// refuses.
//
// It also fixes the storage's layout: <prefix>/metadata.yaml says which
// cluster initialised the storage, and <prefix>/<directory>/repository.yaml
// says which Repository owns a directory, whose engine repository lives at
// exactly <prefix>/<directory> (RepositoryURL), so `cairn repo ... --repo
// URL` opens it from any machine.
package blob
