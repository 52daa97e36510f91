//go:build tools

// Package k8stools pins the Kubernetes components that the local test cluster
// runs. Importing the commands here keeps them in go.mod/go.sum so that
// `go build` from this module reproduces the exact same binaries.
package k8stools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
