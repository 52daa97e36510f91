// Package controller holds what Cairn's controllers share: the clients,
// informer factories, event recorder and metrics a controller is built
// from (Deps), and the labels that mark objects the operator manages. Each
// kind's controller lives in its own package below this one and never
// imports another kind's: a cross-kind wake-up goes through an informer.
package controller

import (
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/metrics"
)

// Labels Cairn puts on what it creates (see pkg/labels).
const (
	LabelManagedBy  = labels.ManagedBy
	ManagedByValue  = labels.ManagedByValue
	ManagedSelector = labels.ManagedSelector
	LabelConfig     = labels.Config
	LabelSession    = labels.Session
	LabelComponent  = labels.Component
)

// FieldManager is the field manager of every write the operator makes.
const FieldManager = "cairn-operator"

// Informers are the shared informer factories controllers register on.
type Informers struct {
	// Cairn watches Cairn's own kinds.
	Cairn cairninformers.SharedInformerFactory
	// Kube watches Kubernetes kinds the operator reads (workloads, PVCs).
	Kube informers.SharedInformerFactory
	// Managed watches Kubernetes objects carrying ManagedSelector only.
	Managed informers.SharedInformerFactory
	// Metadata watches kinds whose content is not needed to notice a change
	// (Secrets): the data is read with a GET when a sync needs it.
	Metadata metadatainformer.SharedInformerFactory
}

// Start starts every informer requested so far.
func (f Informers) Start(stop <-chan struct{}) {
	f.Cairn.Start(stop)
	f.Kube.Start(stop)
	f.Managed.Start(stop)
	f.Metadata.Start(stop)
}

// WaitForCacheSync waits until every started informer has synced.
func (f Informers) WaitForCacheSync(stop <-chan struct{}) bool {
	return allSynced(f.Cairn.WaitForCacheSync(stop)) && allSynced(f.Kube.WaitForCacheSync(stop)) &&
		allSynced(f.Managed.WaitForCacheSync(stop)) && allSynced(f.Metadata.WaitForCacheSync(stop))
}

func allSynced[K comparable](m map[K]bool) bool {
	for _, ok := range m {
		if !ok {
			return false
		}
	}
	return true
}

// Shutdown stops the informers and waits for their goroutines.
func (f Informers) Shutdown() {
	f.Cairn.Shutdown()
	f.Kube.Shutdown()
	f.Managed.Shutdown()
	f.Metadata.Shutdown()
}

// Deps is what a controller is built from.
type Deps struct {
	Kube      kubernetes.Interface
	Cairn     cairnclient.Interface
	Informers Informers
	Recorder  record.EventRecorder
	// Metrics may be nil (tests).
	Metrics *metrics.Registry
	// RunnerImage is the image of the Jobs the operator creates.
	RunnerImage string
	// OperatorNamespace is where the operator runs (its Lease, its Jobs
	// for cluster-wide work).
	OperatorNamespace string
	// RestConfig is the operator's API connection, for what a clientset
	// cannot do (exec in pods for hooks). Nil in unit tests.
	RestConfig *rest.Config
}
