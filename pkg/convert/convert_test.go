package convert

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the converter's output")

// goldenCases convert KubeStash YAML as its documentation writes it (each
// input file says where it comes from) and compare stdout and stderr with
// testdata/golden. The warnings each case must name are asserted here too,
// so that a regenerated golden file cannot hide a lost warning.
var goldenCases = []struct {
	name    string
	inputs  []string
	refused int
	// warn are field paths that must each be named by a warning.
	warn []string
	// out are strings the Cairn YAML must hold.
	out []string
}{
	{
		name:   "workload-deployment",
		inputs: []string{"workload-deployment.yaml"},
		out: []string{
			"apiVersion: storage.cairn.dev/v1alpha1", "apiVersion: core.cairn.dev/v1alpha1",
			"concurrencyPolicy: Allow # made explicit", "successfulJobsHistoryLimit: 3 # made explicit",
			"Secret encry-secret keeps its name: Cairn reads its RESTIC_PASSWORD key as is",
		},
	},
	{
		name:   "concepts-statefulset",
		inputs: []string{"concepts-statefulset.yaml"},
		warn:   []string{"status"},
		out:    []string{"name: logical-backup-restore # KubeStash's LogicalBackupRestore", "kind: HookTemplate", "kind: Repository"},
	},
	{
		name:   "backends",
		inputs: []string{"backends.yaml"},
		warn:   []string{"spec.storage.s3.endpoint"},
		out:    []string{"endpoint: https://s3.amazonaws.com", "secretName: s3-secret", "storageAccount: kubestash", "claimName: storage-pvc", "fsGroup: 65534"},
	},
	{
		name:   "volumesnapshot",
		inputs: []string{"volumesnapshot.yaml"},
		warn:   []string{"spec.sessions[0].repositories[0].encryptionSecret", "spec.dataSource.encryptionSecret"},
		out:    []string{"name: volume-snapshot\n", "name: volume-snapshot-restore # KubeStash's VolumeSnapshotRestore", "name: gcs-repository-password"},
	},
	{
		name:   "hooks",
		inputs: []string{"hooks.yaml"},
		out:    []string{"container: mysql # KubeStash's action.containerName", "executionPolicy: OnFailure", "type: Operator"},
	},
	{
		name:   "runtime",
		inputs: []string{"runtime.yaml"},
		warn: []string{
			"metadata.uid", "metadata.finalizers", "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration",
			"spec.sessions[0].scheduler.jobTemplate.activeDeadlineSeconds",
			"spec.sessions[0].scheduler.jobTemplate.ttlSecondsAfterFinished",
			"spec.sessions[0].scheduler.jobTemplate.template.metadata",
			"spec.sessions[0].scheduler.jobTemplate.template.spec.nodeName",
			"spec.sessions[0].scheduler.jobTemplate.template.spec.resources",
			"spec.sessions[0].failurePolicy",
			"spec.sessions[0].retryConfig.maxRetry",
			"spec.sessions[0].repositories[0].verificationStrategy",
			"spec.sessions[0].addon.tasks[0].variables",
			"spec.sessions[0].addon.containerRuntimeSettings.ionice",
			"spec.sessions[0].addon.jobTemplate.spec.hostNetwork",
			"spec.sessions[0].addon.jobTemplate.spec.resources",
			"spec.hooks.postRestore[0].runtimeSettings",
			"spec.runtimeSettings.pod.podLabels",
			"spec.runtimeSettings.container.resources",
			"spec.runtimeSettings.container.nice.adjustment",
		},
		out: []string{"backupTimeout: 2h", "maxRetry: 10", "nice: 5", "serviceAccountName: cluster-resource-reader", "priorityClassName: backup", "team: payments",
			"restoreTimeout: 30m", "nice: -20", "memory: 1Gi", "replicas: \"2\""},
	},
	{
		name:   "defaults",
		inputs: []string{"defaults.yaml"},
		out:    []string{"retentionPolicy: # made explicit: KubeStash's default RetentionPolicy\n        name: demo-retention"},
	},
	{
		name:    "refused",
		inputs:  []string{"refused.yaml"},
		refused: 5,
	},
	{
		name:   "list",
		inputs: []string{"list.json"},
		warn:   []string{"apiVersion"},
		out:    []string{"kind: Secret", "RESTIC_PASSWORD", "name: keep-a-year", "monthly: 12"},
	},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for _, in := range tc.inputs {
				paths = append(paths, filepath.Join("testdata", in))
			}
			var stdout, stderr bytes.Buffer
			err := Run(paths, &stdout, &stderr)
			var inc *IncompleteError
			switch {
			case tc.refused == 0 && err != nil:
				t.Fatalf("Run: %v\n%s", err, stderr.String())
			case tc.refused > 0 && (!errors.As(err, &inc) || inc.Refused != tc.refused || inc.Unreadable != 0):
				t.Fatalf("Run = %v, want %d refused\n%s", err, tc.refused, stderr.String())
			}
			for _, w := range tc.warn {
				if !names(stderr.String(), w) {
					t.Errorf("no warning names %s:\n%s", w, stderr.String())
				}
				if !names(stdout.String(), w) && w != "apiVersion" {
					t.Errorf("no comment in the output names %s", w)
				}
			}
			for _, s := range tc.out {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, stdout.String())
				}
			}
			strictlyCairn(t, stdout.Bytes())
			golden(t, tc.name+".yaml", stdout.Bytes())
			golden(t, tc.name+".stderr", stderr.Bytes())
		})
	}
}

// names reports whether a warning (or a comment) in text names field,
// alone or in a list of fields.
func names(text, field string) bool {
	return strings.Contains(text, " "+field+": ") || strings.Contains(text, " "+field+", ")
}

// golden compares got with testdata/golden/name (or rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/convert -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the converter's output:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// strictlyCairn decodes every Cairn object of a converted stream into
// Cairn's Go type, refusing unknown fields: the offline half of the
// integration test's strict server-side validation.
func strictlyCairn(t *testing.T, stream []byte) {
	t.Helper()
	docs, errs := Decode("output", bytes.NewReader(stream))
	if len(errs) > 0 {
		t.Fatalf("the output does not decode: %v", errs)
	}
	for _, d := range docs {
		var obj any
		switch d.APIVersion() + "/" + d.Kind() {
		case "storage.cairn.dev/v1alpha1/BackupStorage":
			obj = &storagev1alpha1.BackupStorage{}
		case "storage.cairn.dev/v1alpha1/RetentionPolicy":
			obj = &storagev1alpha1.RetentionPolicy{}
		case "storage.cairn.dev/v1alpha1/Repository":
			obj = &storagev1alpha1.Repository{}
		case "core.cairn.dev/v1alpha1/BackupConfiguration":
			obj = &corev1alpha1.BackupConfiguration{}
		case "core.cairn.dev/v1alpha1/RestoreSession":
			obj = &corev1alpha1.RestoreSession{}
		case "core.cairn.dev/v1alpha1/HookTemplate":
			obj = &corev1alpha1.HookTemplate{}
		case "addons.cairn.dev/v1alpha1/Addon":
			obj = &addonsv1alpha1.Addon{}
		default:
			if strings.Contains(d.APIVersion(), "cairn.dev") {
				t.Errorf("%s: a Cairn kind the test does not know", d.Source)
			}
			continue
		}
		var buf bytes.Buffer
		if err := (&Result{Objects: []Object{{Node: d.Node}}}).WriteYAML(&buf); err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(buf.Bytes(), obj); err != nil {
			t.Errorf("%s (%s): not a valid Cairn object: %v", d.Source, d.Kind(), err)
		}
	}
}
