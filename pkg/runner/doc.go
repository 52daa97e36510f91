// Package runner is what `cairn backup` and `cairn restore` do inside the
// Jobs the operator creates: read the session, Snapshot, Repository,
// BackupStorage and Secrets through the API, open (or, for a first backup,
// initialise) the engine repository, move the data through pkg/archiver or
// pkg/restorer, and report on exactly one component of the Snapshot's or
// RestoreSession's status with a JSON merge patch, so runners of other
// components (StatefulSet replicas, DaemonSet nodes) never overwrite each
// other. It takes its clients as interfaces, so it is tested with fake
// clientsets and a real engine repository; docs/runner.md is the contract
// with the operator.
package runner
