//go:build tools

// Package tools pins rancher's local-path-provisioner, which gives the test
// cluster dynamic hostPath PersistentVolumes. Its own module keeps its older
// Kubernetes client libraries away from Cairn's.
package tools

import _ "github.com/rancher/local-path-provisioner"
