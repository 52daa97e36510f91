//go:build tools

// Package tools pins the upstream CSI snapshot components built for the test
// cluster: snapshot-controller and csi-snapshotter (external-snapshotter v8)
// and the VolumeSnapshot CRDs of its client module.
package tools

import (
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
