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
	k8stesting "k8s.io/client-go/testing"

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

// TestSplitThenPlace: Split names a claim's component from what it already
// holds, and only Place reads the pods, asking the API server for Running
// ones that are not Cairn's (a runner on the claim is not its user): it pins a ReadWriteOnce claim to the node of the Running pod
// that mounts it and takes that pod's user; the components Split returned
// stay as they were (a start reads them while Place runs).
func TestSplitThenPlace(t *testing.T) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}}
	user := int64(1000)
	pod := func(name string, phase corev1.PodPhase, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec: corev1.PodSpec{NodeName: node, SecurityContext: &corev1.PodSecurityContext{RunAsUser: &user},
				Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
			Status: corev1.PodStatus{Phase: phase}}
	}
	runner := pod("a-cairn-runner", corev1.PodRunning, "node-c") // a Cairn pod on the claim: not the application
	runner.Labels = map[string]string{"app.kubernetes.io/managed-by": "cairn"}
	root := int64(0)
	runner.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &root}
	r := resolverWithEmptyCache(pvc, runner, pod("old", corev1.PodSucceeded, "node-a"), pod("app", corev1.PodRunning, "node-b"))
	kube := r.kube.(*fake.Clientset)
	comps, place, err := r.Split(context.Background(), "ns", common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range kube.Actions() {
		if a.GetResource().Resource == "pods" {
			t.Fatalf("Split read pods: %v", a)
		}
	}
	placed := place(context.Background())
	if placed[0].NodeName != "node-b" || placed[0].PodSecurity == nil || *placed[0].PodSecurity.RunAsUser != user {
		t.Fatalf("placed %+v, want node-b as user 1000", placed[0])
	}
	if comps[0].NodeName != "" || comps[0].PodSecurity != nil {
		t.Fatalf("Place changed the components Split returned: %+v", comps[0])
	}
	for _, a := range kube.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok && (l.GetListRestrictions().Fields.String() != "status.phase=Running" ||
			l.GetListRestrictions().Labels.String() != "app.kubernetes.io/managed-by!=cairn") {
			t.Fatalf("pods listed with %v, want only Running ones that Cairn did not make", l.GetListRestrictions())
		}
	}
}
