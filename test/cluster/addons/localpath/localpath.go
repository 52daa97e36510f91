// Package localpath installs rancher's local-path-provisioner into the test
// cluster: a default StorageClass "local-path" whose claims (ReadWriteOnce,
// ReadWriteOncePod and ReadWriteMany alike) bind to hostPath volumes in a
// directory of the cluster, created and removed by busybox helper pods.
// The provisioner runs as a host process with the admin kubeconfig; the
// helper pods run in the cluster.
package localpath

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/test/cluster/addons"
)

// Version is the pinned local-path-provisioner release (hack/mk/storage.mk
// LOCAL_PATH_VERSION).
const Version = "v0.0.30"

// Names of what Install creates.
const (
	// StorageClass is the default StorageClass name.
	StorageClass = "local-path"
	// Provisioner is the StorageClass provisioner name.
	Provisioner = "cairn.local/local-path"
	// Namespace holds the helper pods and the configuration.
	Namespace = "cairn-storage"
	// DefaultHelperImage is the busybox image the cluster imports at start.
	DefaultHelperImage = "cairn.local/busybox:1"
)

// Options tune Install; the zero value suits the harness.
type Options struct {
	// ClusterDir is the cluster's state directory. Default: the directory
	// holding the kubeconfig.
	ClusterDir string
	// HelperImage runs the mkdir/rm helper pods. It must already be on
	// the node. Default: DefaultHelperImage.
	HelperImage string
}

// VolumeDir is the host directory that holds all volumes of a cluster.
func VolumeDir(clusterDir string) string { return filepath.Join(clusterDir, "local-path") }

// Install applies the namespace, configuration and StorageClass and starts
// the provisioner. Running it again replaces the provisioner process.
func Install(ctx context.Context, kubeconfig string, opts Options) error {
	if opts.ClusterDir == "" {
		opts.ClusterDir = filepath.Dir(kubeconfig)
	}
	if opts.HelperImage == "" {
		opts.HelperImage = DefaultHelperImage
	}
	bin, err := addons.Tool(filepath.Join("bin", "local-path-provisioner-"+Version))
	if err != nil {
		return err
	}
	volumes := VolumeDir(opts.ClusterDir)
	if err := os.MkdirAll(volumes, 0o755); err != nil {
		return fmt.Errorf("local-path volume directory: %w", err)
	}
	c, err := addons.NewClient(kubeconfig)
	if err != nil {
		return err
	}
	manifest, err := manifests(volumes, opts.HelperImage)
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, manifest); err != nil {
		return fmt.Errorf("local-path: %w", err)
	}
	const name = "local-path-provisioner"
	if err := addons.StartProcess(opts.ClusterDir, name, bin, "start",
		"--kubeconfig", kubeconfig,
		"--provisioner-name", Provisioner,
		"--namespace", Namespace,
		"--configmap-name", "local-path-config",
		"--service-account-name", "local-path-helper",
		"--helper-image", opts.HelperImage,
	); err != nil {
		return err
	}
	// It reads its configuration at once and exits if that fails.
	return addons.StayUp(opts.ClusterDir, name, 3*time.Second)
}

// manifests renders the namespace, helper service account, configuration
// and the default StorageClass.
func manifests(volumeDir, helperImage string) ([]byte, error) {
	// One shared directory instead of per-node paths: the cluster has one
	// node, and only the shared mode of local-path allows ReadWriteMany.
	// Quoted as a YAML double-quoted scalar, whose escapes include Go's.
	cfg, err := json.Marshal(map[string]string{"sharedFileSystemPath": volumeDir})
	if err != nil {
		return nil, err
	}
	indent := func(s string) string { return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") }
	helperPod := `apiVersion: v1
kind: Pod
metadata:
  name: helper-pod
spec:
  containers:
  - name: helper-pod
    image: ` + helperImage + `
    imagePullPolicy: Never`
	return []byte(`apiVersion: v1
kind: Namespace
metadata:
  name: ` + Namespace + `
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: local-path-helper
  namespace: ` + Namespace + `
automountServiceAccountToken: false
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-path-config
  namespace: ` + Namespace + `
data:
  config.json: ` + strconv.Quote(string(cfg)) + `
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$VOL_DIR"
  helperPod.yaml: |-
` + indent(helperPod) + `
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: ` + StorageClass + `
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
    defaultVolumeType: hostPath
provisioner: ` + Provisioner + `
reclaimPolicy: Delete
volumeBindingMode: Immediate
`), nil
}
