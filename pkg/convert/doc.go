// Package convert turns KubeStash objects (storage.kubestash.com,
// core.kubestash.com, addons.kubestash.com) into the Cairn objects that do
// the same job, so that a KubeStash user can move to Cairn by converting the
// YAML they already keep in Git instead of rewriting it.
//
// Every KubeStash field is listed in a field map (fields_*.go): it is either
// carried to a Cairn field or dropped with a Warning that names it, and the
// output carries the same warning as a YAML comment beside the nearest
// field. Kinds Cairn has no counterpart for are refused with a
// RefusedError. Objects of other API groups (Secrets, workloads) are passed
// through unchanged, with a warning, so a directory of manifests converts as
// a whole.
//
// Run is the entry point of `kubectl cairn convert -f FILE|DIR`; Decode,
// Convert and Result are the smaller typed API under it.
package convert
