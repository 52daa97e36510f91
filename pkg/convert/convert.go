package convert

import (
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Cairn's API groups and the version every converted object gets.
const (
	cairnStorage = "storage.cairn.dev"
	cairnCore    = "core.cairn.dev"
	cairnVersion = "v1alpha1"
)

// KubeStash's API groups.
const (
	ksStorage = "storage.kubestash.com"
	ksCore    = "core.kubestash.com"
	ksAddons  = "addons.kubestash.com"
)

// Object is one converted (or passed-through) object.
type Object struct {
	// Source is "file:line" of the KubeStash object.
	Source string
	// From is "apiVersion Kind namespace/name" of the input.
	From string
	// Node is the output object (a YAML mapping with its comments).
	Node *yaml.Node
	// Passthrough is true for an object of another API group, copied as is.
	Passthrough bool
}

// Result is the outcome of converting a set of documents.
type Result struct {
	// Objects are the converted objects, in input order.
	Objects []Object
	// Warnings name every field that was dropped or changed.
	Warnings []Warning
	// Notes are facts a user must know about a converted object that are
	// not about one field (data format, Secrets).
	Notes []Warning
	// Refused are the objects that could not be converted.
	Refused []*RefusedError
}

// kindConv converts one KubeStash kind.
type kindConv struct {
	group string // Cairn group
	spec  rule   // converts spec
	// post completes the converted spec (defaults Cairn requires).
	post func(c *ctx, in *yaml.Node, spec *mapping)
	// notes are written above the object and reported once per object.
	notes func(c *ctx, out *mapping)
}

// kinds maps "group/Kind" of KubeStash to its conversion.
var kinds = map[string]kindConv{
	ksStorage + "/BackupStorage":    {group: cairnStorage, spec: sub(backupStorageSpec), notes: backupStorageNotes},
	ksStorage + "/RetentionPolicy":  {group: cairnStorage, spec: sub(retentionPolicySpec)},
	ksStorage + "/Repository":       {group: cairnStorage, spec: sub(repositorySpec), notes: dataFormatNote, post: repositoryPost},
	ksCore + "/BackupConfiguration": {group: cairnCore, spec: sub(backupConfigurationSpec), notes: dataFormatNote, post: backupConfigurationPost},
	ksCore + "/RestoreSession":      {group: cairnCore, spec: sub(restoreSessionSpec), notes: restoreNote, post: restoreSessionPost},
	ksCore + "/HookTemplate":        {group: cairnCore, spec: via(hookTemplateSpec)},
}

// Convert converts KubeStash documents to Cairn objects. Documents are
// converted together, because a BackupConfiguration may need the default
// RetentionPolicy another document declares.
func Convert(file string, docs []Document) *Result {
	return ConvertAll(map[string][]Document{file: docs}, []string{file})
}

// ConvertAll converts the documents of several files (in the order of
// files) together.
func ConvertAll(byFile map[string][]Document, files []string) *Result {
	res := &Result{}
	var all []Document
	for _, f := range files {
		all = append(all, byFile[f]...)
	}
	idx := newIndex(all)
	for _, f := range files {
		for _, d := range byFile[f] {
			convertDoc(res, f, d, idx)
		}
	}
	return res
}

// convertDoc converts one document into res.
func convertDoc(res *Result, file string, d Document, idx *index) {
	group, version := splitAPIVersion(d.APIVersion())
	c := &ctx{file: file, doc: d, object: objectName(d), index: idx, budget: maxNodes}
	from := printable(d.APIVersion()) + " " + c.object
	if why, ok := refusedKinds[group+"/"+d.Kind()]; ok {
		res.Refused = append(res.Refused, &RefusedError{Source: d.Source, Object: c.object, Reason: why[0], Instead: why[1]})
		return
	}
	k, ok := kinds[group+"/"+d.Kind()]
	if !ok {
		if reason, instead, refuse := foreign(group, d.Kind()); refuse {
			res.Refused = append(res.Refused, &RefusedError{Source: d.Source, Object: c.object, Reason: printable(reason), Instead: instead})
			return
		}
		res.Warnings = append(res.Warnings, Warning{Source: d.Source, Object: c.object, Field: "apiVersion",
			Msg: "not a KubeStash object (" + printable(d.APIVersion()) + "): passed through unchanged"})
		res.Objects = append(res.Objects, Object{Source: d.Source, From: from, Node: c.clone(d.Node), Passthrough: true})
		return
	}
	out := newMapping()
	out.setString("apiVersion", k.group+"/"+cairnVersion)
	out.setString("kind", d.Kind())
	c.apply("", d.Node, out, fields{
		"apiVersion": via(func(c *ctx, path string, v *yaml.Node, out *mapping) {
			if version != cairnVersion {
				c.warn(out, v, path, "KubeStash "+version+" read as v1alpha1, the only version Cairn has: check the output")
			}
		}),
		"kind":     via(func(*ctx, string, *yaml.Node, *mapping) {}),
		"metadata": sub(metadataFields),
		"spec":     k.spec,
		"status":   clusterState,
	})
	c.stateWarning(out)
	if c.refused == nil && scalar(lookup(out.node, "metadata", "name")) == "" && scalar(lookup(out.node, "metadata", "generateName")) == "" {
		c.refuse("it has no metadata.name", "name it")
	}
	if k.post != nil && c.refused == nil && out.get("spec") != nil {
		k.post(c, lookup(d.Node, "spec"), out.child("spec"))
	}
	if c.refused == nil && out.get("spec") == nil {
		if d.Kind() != "RetentionPolicy" {
			c.refuse("it has no spec", "write the spec")
		}
		out.child("spec") // a RetentionPolicy of KubeStash's defaults: spec: {}
	}
	if c.refused != nil {
		res.Refused = append(res.Refused, c.refused)
		return
	}
	if k.notes != nil {
		n := len(c.warns)
		k.notes(c, out)
		res.Notes = append(res.Notes, c.warns[n:]...)
		c.warns = c.warns[:n]
	}
	res.Warnings = append(res.Warnings, c.warns...)
	res.Objects = append(res.Objects, Object{Source: d.Source, From: from, Node: out.node})
}

// refusedKinds are KubeStash kinds Cairn has no counterpart for: the reason
// and what to do instead.
var refusedKinds = map[string][2]string{
	ksCore + "/BackupBlueprint": {"Cairn has no BackupBlueprint (no auto-backup from annotations)",
		"write one BackupConfiguration per target: convert a BackupConfiguration that KubeStash created from the blueprint (kubectl get backupconfiguration -o yaml)"},
	ksCore + "/BackupBatch": {"Cairn has no BackupBatch",
		"write one BackupConfiguration per target; sessions with the same schedule run side by side"},
	ksCore + "/RestoreBatch":              {"Cairn has no RestoreBatch", "write one RestoreSession per target"},
	ksCore + "/BackupVerifier":            {"Cairn has no backup verification objects", "schedule a RestoreSession into a scratch target, or run `cairn repo check --read-data` against the bucket"},
	ksCore + "/BackupVerificationSession": {"Cairn has no backup verification objects", "run `cairn repo check --read-data` against the bucket"},
	ksCore + "/BackupSession": {"a BackupSession is the record of one run, not configuration",
		"convert the BackupConfiguration and start a run with `kubectl cairn trigger <config>`"},
	ksStorage + "/Snapshot": {"a Snapshot is the record of KubeStash data, which Cairn cannot read (Cairn's repository format is not restic's)",
		"keep KubeStash (or restic) to restore old snapshots; Cairn's operator creates Snapshot objects for its own backups"},
	ksAddons + "/Addon": {"KubeStash Addons run KubeStash's images and tasks",
		"use Cairn's own Addons (workload-addon, pvc-addon, installed with Cairn); a custom Addon must be rewritten for Cairn's runner (docs/runner.md)"},
	ksAddons + "/Function": {"KubeStash Functions run KubeStash's images",
		"use Cairn's own Functions (cairn-backup, cairn-restore); a custom Function must be rewritten for Cairn's runner (docs/runner.md)"},
}

// foreign decides about a kind converter does not convert: other KubeStash
// and Stash groups are refused, anything else is passed through.
func foreign(group, kind string) (reason, instead string, refuse bool) {
	switch {
	case group == ksStorage || group == ksCore || group == ksAddons || strings.HasSuffix(group, ".kubestash.com"):
		return "Cairn has no counterpart of KubeStash's " + kind + " (" + group + ")", "see docs/migrate-from-kubestash.md for what converts", true
	case strings.HasSuffix(group, "stash.appscode.com"):
		return "this is a Stash (v1alpha1/v1beta1) object, not KubeStash", "write the Cairn objects by hand (docs/api.md), or migrate to KubeStash's API first and convert that", true
	}
	return "", "", false
}

// splitAPIVersion splits "group/version" ("v1" has no group).
func splitAPIVersion(av string) (group, version string) {
	if i := strings.LastIndex(av, "/"); i >= 0 {
		return av[:i], av[i+1:]
	}
	return "", av
}

// objectName is "Kind namespace/name" (or "Kind name") for messages.
func objectName(d Document) string {
	md := lookup(d.Node, "metadata")
	name, ns := scalar(lookup(md, "name")), scalar(lookup(md, "namespace"))
	if name == "" {
		name = "(unnamed)"
	}
	if ns != "" {
		name = ns + "/" + name
	}
	return printable(d.Kind() + " " + name)
}

// namespace of the object being converted ("" when the input has none).
func (c *ctx) namespace() string {
	return scalar(lookup(lookup(c.doc.Node, "metadata"), "namespace"))
}

// metadataFields: what identifies the object is kept; what the API server
// or KubeStash's operator set is not.
var metadataFields = fields{
	"name":                       keep,
	"generateName":               keep,
	"namespace":                  keep,
	"labels":                     keep,
	"annotations":                via(annotations),
	"uid":                        clusterState,
	"resourceVersion":            clusterState,
	"generation":                 clusterState,
	"creationTimestamp":          clusterState,
	"deletionTimestamp":          clusterState,
	"deletionGracePeriodSeconds": clusterState,
	"managedFields":              clusterState,
	"selfLink":                   clusterState,
	"ownerReferences":            clusterState,
	"finalizers":                 clusterState,
}

// clusterState drops a field that the API server or KubeStash's operator
// set (status, uid, finalizers...). They are named together in one warning
// per object, so that converting `kubectl get -o yaml` output does not bury
// the warnings that matter.
var clusterState = via(func(c *ctx, path string, v *yaml.Node, _ *mapping) {
	if len(c.state) == 0 {
		c.stateAt = v
	}
	c.state = append(c.state, path)
})

// stateWarning is the one warning about the cluster state dropped.
func (c *ctx) stateWarning(out *mapping) {
	if len(c.state) > 0 {
		c.drop(out, c.stateAt, strings.Join(c.state, ", "), "cluster state (set by the API server or KubeStash's operator), not configuration")
	}
}

// lastApplied is kubectl's copy of the previous apply, which would be
// KubeStash's object.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// annotations are kept but kubectl's last-applied copy of the KubeStash
// object.
func annotations(c *ctx, path string, v *yaml.Node, out *mapping) {
	cp := c.clone(v)
	if cp.Kind == yaml.MappingNode {
		m := &mapping{node: cp}
		if m.get(lastApplied) != nil {
			m.remove(lastApplied)
			clusterState.conv(c, join(path, lastApplied), v, out)
		}
		if m.empty() {
			return
		}
	}
	out.set("annotations", cp)
}

// index is what conversion needs to know across documents.
type index struct {
	// defaultRP are the RetentionPolicies with default: true, by namespace.
	defaultRP map[string][]rpRef
	// sharedRP are default RetentionPolicies usable from all namespaces.
	sharedRP []rpRef
}

// rpRef names a RetentionPolicy.
type rpRef struct{ name, namespace string }

// newIndex scans docs for default RetentionPolicies.
func newIndex(docs []Document) *index {
	idx := &index{defaultRP: map[string][]rpRef{}}
	for _, d := range docs {
		g, _ := splitAPIVersion(d.APIVersion())
		if g != ksStorage || d.Kind() != "RetentionPolicy" {
			continue
		}
		spec := lookup(d.Node, "spec")
		if scalar(lookup(spec, "default")) != "true" {
			continue
		}
		md := lookup(d.Node, "metadata")
		r := rpRef{name: scalar(lookup(md, "name")), namespace: scalar(lookup(md, "namespace"))}
		if r.name == "" {
			continue
		}
		idx.defaultRP[r.namespace] = append(idx.defaultRP[r.namespace], r)
		if scalar(lookup(lookup(lookup(spec, "usagePolicy"), "allowedNamespaces"), "from")) == "All" {
			idx.sharedRP = append(idx.sharedRP, r)
		}
	}
	sort.Slice(idx.sharedRP, func(i, j int) bool {
		return idx.sharedRP[i].namespace+"/"+idx.sharedRP[i].name < idx.sharedRP[j].namespace+"/"+idx.sharedRP[j].name
	})
	return idx
}

// defaultRetention is the RetentionPolicy KubeStash would pick for a
// backend without one in namespace ns: the default of ns, else the one
// default shared with all namespaces. ok is false when the inputs do not
// decide it.
func (x *index) defaultRetention(ns string) (rpRef, bool) {
	if l := x.defaultRP[ns]; len(l) == 1 {
		return l[0], true
	}
	if len(x.defaultRP[ns]) == 0 && len(x.sharedRP) == 1 {
		return x.sharedRP[0], true
	}
	return rpRef{}, false
}
