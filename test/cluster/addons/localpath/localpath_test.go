package localpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// TestManifestsParse decodes the rendered manifests the way Apply does and
// checks the parts the provisioner and the tests depend on.
func TestManifestsParse(t *testing.T) {
	m, err := manifests("/var/lib/cairn's cluster/local-path", "cairn.local/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(m), 4096)
	kinds := map[string]*unstructured.Unstructured{}
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("manifest does not decode: %v\n%s", err, m)
		}
		kinds[obj.GetKind()] = obj
	}
	sc := kinds["StorageClass"]
	if sc == nil || sc.GetAnnotations()["storageclass.kubernetes.io/is-default-class"] != "true" || sc.Object["provisioner"] != Provisioner {
		t.Fatalf("StorageClass = %v; want the default class of %s", sc, Provisioner)
	}
	cm := kinds["ConfigMap"]
	if cm == nil {
		t.Fatal("no ConfigMap")
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	var cfg map[string]string
	if err := json.Unmarshal([]byte(data["config.json"]), &cfg); err != nil || cfg["sharedFileSystemPath"] != "/var/lib/cairn's cluster/local-path" {
		t.Fatalf("config.json = %q (%v); want the shared path, quoted safely", data["config.json"], err)
	}
	helper := map[string]any{}
	if err := utilyaml.Unmarshal([]byte(data["helperPod.yaml"]), &helper); err != nil {
		t.Fatalf("helperPod.yaml does not parse: %v\n%s", err, data["helperPod.yaml"])
	}
	for _, k := range []string{"setup", "teardown"} {
		if data[k] == "" {
			t.Errorf("ConfigMap lacks the %s script", k)
		}
	}
	if kinds["Namespace"] == nil || kinds["ServiceAccount"] == nil {
		t.Fatal("namespace or helper service account missing")
	}
}
