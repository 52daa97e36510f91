package convert

import (
	"bytes"
	"strings"
	"testing"
)

// convertString converts one YAML stream and returns the output, the
// report and the refusals.
func convertString(t *testing.T, in string) (out, report string, res *Result) {
	t.Helper()
	docs, errs := Decode("in.yaml", strings.NewReader(in))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	res = Convert("in.yaml", docs)
	var o, r bytes.Buffer
	if err := res.WriteYAML(&o); err != nil {
		t.Fatal(err)
	}
	res.Report(&r)
	return o.String(), r.String(), res
}

const bcHead = `apiVersion: core.kubestash.com/v1alpha1
kind: BackupConfiguration
metadata: {name: bc, namespace: demo}
spec:
  target: {apiGroup: apps, kind: Deployment, name: app}
`

const session = `  sessions:
  - name: s
    scheduler: {schedule: "@daily"}
    repositories: [{name: r, backend: b, directory: /r, encryptionSecret: {name: pw}}]
    addon: {name: workload-addon, tasks: [{name: logical-backup, params: {paths: /data}}]}
`

// TestRefusals: what Cairn cannot carry at all is refused, saying why and
// what to do instead, and nothing is written for it.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct{ name, in, reason string }{
		{"backend without retention and no default known", bcHead + "  backends: [{name: b, storageRef: {name: s}}]\n" + session,
			"spec.backends[0].retentionPolicy is missing"},
		{"azure without storageAccount", "apiVersion: storage.kubestash.com/v1alpha1\nkind: BackupStorage\nmetadata: {name: az}\nspec:\n  storage: {provider: azure, azure: {container: c, secret: s}}\n",
			"storageAccount is missing"},
		{"b2 inferred without provider", "apiVersion: storage.kubestash.com/v1alpha1\nkind: BackupStorage\nmetadata: {name: b2}\nspec:\n  storage: {b2: {bucket: x}}\n",
			"Cairn has no b2 backend"},
		{"tcpSocket hook", "apiVersion: core.kubestash.com/v1alpha1\nkind: HookTemplate\nmetadata: {name: h}\nspec:\n  action: {tcpSocket: {port: 80}}\n  executor: {type: Operator}\n",
			"has no action Cairn can run"},
		{"retention period Cairn cannot read", "apiVersion: storage.kubestash.com/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: rp}\nspec: {maxRetentionPeriod: 3 fortnights}\n",
			`"3 fortnights" is not a sum`},
		{"task Cairn does not have", bcHead + strings.Replace(session, "logical-backup", "manifest-backup", 1),
			`workload-addon has no task "manifest-backup"`},
		{"restore task in a backup", bcHead + strings.Replace(session, "name: logical-backup,", "name: logical-backup-restore,", 1),
			`has no task "logical-backup-restore"`},
		{"no target", strings.Replace(bcHead, "  target: {apiGroup: apps, kind: Deployment, name: app}\n", "", 1) + session,
			"spec.target is missing"},
		{"session without scheduler", bcHead + strings.Replace(session, `    scheduler: {schedule: "@daily"}`+"\n", "", 1),
			"scheduler is missing"},
		{"point-in-time restore", "apiVersion: core.kubestash.com/v1alpha1\nkind: RestoreSession\nmetadata: {name: rs}\nspec:\n  dataSource: {repository: r, pitr: {targetTime: \"2024-01-01T00:00:00Z\"}, encryptionSecret: {name: pw}}\n  addon: {name: pvc-addon, tasks: [{name: logical-backup-restore}]}\n",
			"snapshot is missing"},
		{"other KubeStash group", "apiVersion: config.kubestash.com/v1alpha1\nkind: KubeStashConfig\nmetadata: {name: c}\n",
			"no counterpart of KubeStash's KubeStashConfig"},
		{"Stash v1beta1", "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: c}\n",
			"a Stash (v1alpha1/v1beta1) object"},
		{"Snapshot", "apiVersion: storage.kubestash.com/v1alpha1\nkind: Snapshot\nmetadata: {name: s}\n",
			"Cairn's repository format is not restic's"},
		{"Addon", "apiVersion: addons.kubestash.com/v1alpha1\nkind: Addon\nmetadata: {name: a}\n",
			"use Cairn's own Addons"},
		{"no name", "apiVersion: storage.kubestash.com/v1alpha1\nkind: RetentionPolicy\nmetadata: {namespace: demo}\nspec: {default: true}\n",
			"it has no metadata.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, report, res := convertString(t, tc.in)
			if len(res.Refused) != 1 || !strings.Contains(res.Refused[0].Error(), tc.reason) {
				t.Fatalf("refused %v, want one saying %q", res.Refused, tc.reason)
			}
			if res.Refused[0].Instead == "" {
				t.Errorf("%v says nothing about what to do instead", res.Refused[0])
			}
			if out != "" {
				t.Errorf("a refused object was written:\n%s", out)
			}
			if !strings.Contains(report, "error: in.yaml:") {
				t.Errorf("report lacks the refusal:\n%s", report)
			}
		})
	}
}

// TestUnknownFieldIsWarnedNotLost: a field the converter does not know
// (a newer KubeStash, a typo) is named, never dropped silently.
func TestUnknownFieldIsWarnedNotLost(t *testing.T) {
	in := bcHead + "  backends: [{name: b, storageRef: {name: s}, retentionPolicy: {name: rp}, weight: 3}]\n" +
		strings.Replace(session, "  - name: s\n", "  - name: s\n    newKubeStashKnob: {a: 1}\n", 1) + "  pausd: true\n"
	out, _, res := convertString(t, in)
	want := []string{"spec.backends[0].weight", "spec.sessions[0].newKubeStashKnob", "spec.pausd"}
	for _, f := range want {
		found := false
		for _, w := range res.Warnings {
			found = found || (w.Field == f && strings.Contains(w.Msg, "not a KubeStash field this converter knows"))
		}
		if !found {
			t.Errorf("no warning for %s: %v", f, res.Warnings)
		}
		if !strings.Contains(out, "# "+f+": dropped") {
			t.Errorf("no comment for %s in\n%s", f, out)
		}
	}
}

// TestAliasBombIsRefused: a document whose aliases expand to millions of
// nodes is refused, not expanded.
func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: storage.kubestash.com/v1alpha1\nkind: BackupStorage\nmetadata: {name: bomb}\n")
	b.WriteString("x0: &a0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("x" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("spec:\n  storage:\n    provider: local\n    local:\n      mountPath: /x\n      hostPath: {path: /x}\n      emptyDir: *a8\n")
	_, _, res := convertString(t, b.String())
	if len(res.Refused) != 1 || !strings.Contains(res.Refused[0].Reason, "aliases") {
		t.Fatalf("refused = %v", res.Refused)
	}
}

// TestDefaultRetentionSharedFromAnotherNamespace: with no default in the
// config's namespace, the one default shared with all namespaces is used.
func TestDefaultRetentionSharedFromAnotherNamespace(t *testing.T) {
	in := "apiVersion: storage.kubestash.com/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: global, namespace: stash}\nspec: {default: true, usagePolicy: {allowedNamespaces: {from: All}}}\n---\n" +
		bcHead + "  backends: [{name: b, storageRef: {name: s}}]\n" + session
	out, _, res := convertString(t, in)
	if len(res.Refused) != 0 {
		t.Fatal(res.Refused)
	}
	if !strings.Contains(out, "retentionPolicy: # made explicit: KubeStash's default RetentionPolicy\n        name: global\n        namespace: stash") {
		t.Fatalf("default not made explicit:\n%s", out)
	}
}

// TestNamesFromInputCannotBreakComments: a field or object name holding a
// YAML line break or a terminal escape is written as "?", so that it can
// neither end a comment line in the output nor drive a terminal.
func TestNamesFromInputCannotBreakComments(t *testing.T) {
	in := "apiVersion: storage.kubestash.com/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: \"rp\\u2028kind: Evil\"}\nspec:\n  \"a\\u2028injected: true\\r\\x1b[31m\": 1\n"
	out, report, res := convertString(t, in)
	if len(res.Objects) != 1 {
		t.Fatalf("objects %d", len(res.Objects))
	}
	for _, bad := range []string{"\u2028", "\r", "\x1b"} {
		if strings.Contains(report, bad) {
			t.Errorf("report holds %q:\n%q", bad, report)
		}
	}
	docs, errs := Decode("out", strings.NewReader(out))
	if len(errs) > 0 || len(docs) != 1 || lookup(docs[0].Node, "injected") != nil || lookup(docs[0].Node, "spec", "injected") != nil {
		t.Fatalf("the output was changed by a name:\n%s", out)
	}
	if !strings.Contains(out, "# spec.a?injected: true??[31m: dropped") {
		t.Errorf("the dropped field is not named with ? in\n%s", out)
	}
}
