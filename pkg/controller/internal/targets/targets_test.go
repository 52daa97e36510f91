package targets

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// resolverWithEmptyCache returns a Resolver whose informers have not seen
// any object yet, while the API server (the fake clientset) holds objs:
// the moment after a user applied a target and a session together.
func resolverWithEmptyCache(objs ...runtime.Object) *Resolver {
	kube := fake.NewClientset()
	for _, o := range objs {
		if err := kube.Tracker().Add(o); err != nil {
			panic(err)
		}
	}
	return New(controller.Deps{Kube: kube, Informers: controller.Informers{Kube: informers.NewSharedInformerFactory(kube, 0)}})
}

func TestComponentsReadsATargetTheCacheHasNotSeen(t *testing.T) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "fresh"}}
	r := resolverWithEmptyCache(pvc)
	comps, err := r.Components(context.Background(), "ns", common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "fresh"})
	if err != nil {
		t.Fatalf("a claim the API server holds but the cache has not delivered: %v", err)
	}
	if len(comps) != 1 || comps[0].Name != jobs.ComponentDump {
		t.Fatalf("components %+v, want one %s", comps, jobs.ComponentDump)
	}
}

func TestComponentsOfAMissingTargetIsTargetNotFound(t *testing.T) {
	r := resolverWithEmptyCache()
	for _, kind := range []string{"PersistentVolumeClaim", "Deployment", "StatefulSet", "DaemonSet"} {
		_, err := r.Components(context.Background(), "ns", common.TypedObjectReference{Kind: kind, Name: "gone"})
		var terr *Error
		if !errors.As(err, &terr) || terr.Reason != ReasonTargetNotFound {
			t.Fatalf("%s missing from cache and API server: %v, want %s", kind, err, ReasonTargetNotFound)
		}
		if want := kind + " ns/gone does not exist"; terr.Msg != want {
			t.Fatalf("message %q, want %q", terr.Msg, want)
		}
	}
}
