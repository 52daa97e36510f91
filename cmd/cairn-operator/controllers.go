package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	cairnscheme "github.com/cairnbackup/cairn/client/clientset/versioned/scheme"
	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/metrics"
)

// clients are the API clients every controller shares.
type clients struct {
	kube  kubernetes.Interface
	cairn cairnclient.Interface
	meta  metadata.Interface
	// config is the connection they share (hooks exec in pods with it).
	config *rest.Config
}

func leaseMeta(o *options) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: o.leaseNamespace, Name: o.leaseName}
}

// runner is a started controller.
type runner interface {
	Run(ctx context.Context, workers int)
}

// startControllers builds the informers and controllers, waits for the
// caches, marks the operator ready and runs every controller until ctx ends.
func startControllers(ctx context.Context, o *options, c clients, reg *metrics.Registry, ready *atomic.Bool) error {
	logger := klog.FromContext(ctx)
	if err := cairnscheme.AddToScheme(scheme.Scheme); err != nil {
		return fmt.Errorf("registering Cairn types for events: %w", err)
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(4)
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "cairn-operator"})

	f := controller.Informers{
		// Every cache drops managedFields (controller.TrimForCache): no
		// controller reads them and they are a large share of each object.
		Cairn: cairninformers.NewSharedInformerFactoryWithOptions(c.cairn, o.resync, cairninformers.WithNamespace(o.namespace),
			cairninformers.WithTransform(controller.TrimForCache)),
		// The kinds the operator only reads also drop kubectl's
		// last-applied copy and the workloads' status.
		Kube: informers.NewSharedInformerFactoryWithOptions(c.kube, o.resync, informers.WithNamespace(o.namespace),
			informers.WithTransform(controller.TrimReadOnly)),
		// Managed objects (Jobs, CronJobs, Pods, ServiceAccounts, Roles) are
		// watched only when they carry Cairn's managed-by label, so the
		// operator's memory follows what it made, not the cluster's size;
		// CronJobs are cached without their job template.
		Managed: informers.NewSharedInformerFactoryWithOptions(c.kube, o.resync, informers.WithNamespace(o.namespace),
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = controller.ManagedSelector }),
			informers.WithTransform(controller.TrimManaged)),
		// Secrets are watched as metadata only: a cluster's Helm release
		// Secrets alone can take hundreds of MiB; the data is read on demand.
		Metadata: metadatainformer.NewFilteredSharedInformerFactory(c.meta, o.resync, o.namespace, nil),
	}
	deps := controller.Deps{
		Kube: c.kube, Cairn: c.cairn, Informers: f, Recorder: recorder, Metrics: reg,
		RunnerImage: o.runnerImage, OperatorNamespace: o.leaseNamespace, RestConfig: c.config,
	}
	runners, err := buildControllers(deps)
	if err != nil {
		return err
	}
	// The metadata factory takes no transform together with a namespace, so
	// its one informer (Secrets) gets it here, before it starts.
	if err := f.Metadata.ForResource(corev1.SchemeGroupVersion.WithResource("secrets")).Informer().SetTransform(controller.TrimForCache); err != nil {
		return fmt.Errorf("trimming the Secret metadata cache: %w", err)
	}
	f.Start(ctx.Done())
	logger.Info("Waiting for informer caches")
	if !f.WaitForCacheSync(ctx.Done()) {
		return fmt.Errorf("informer caches did not sync")
	}
	ready.Store(true)
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx, o.workers) }()
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if err := waitShutdown(done, o.shutdownWait); err != nil {
		logger.Error(err, "Shutting down with syncs still running")
	}
	f.Shutdown()
	return nil
}
