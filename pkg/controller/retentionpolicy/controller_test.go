package retentionpolicy

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
)

func TestInvalidPolicyIsReportedOncePerGeneration(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	rp := &storagev1.RetentionPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "keep", UID: "u1", Generation: 1},
		Spec:       storagev1.RetentionPolicySpec{MaxRetentionPeriod: "30 days"},
	}
	cf := cairninformers.NewSharedInformerFactory(cairnfake.NewSimpleClientset(), time.Hour)
	rec := record.NewFakeRecorder(10)
	c := New(controller.Deps{
		Informers: controller.Informers{Cairn: cf, Kube: informers.NewSharedInformerFactory(kubefake.NewSimpleClientset(), time.Hour)},
		Recorder:  rec,
	})
	idx := cf.Storage().V1alpha1().RetentionPolicies().Informer().GetIndexer()
	if err := idx.Add(rp); err != nil {
		t.Fatal(err)
	}
	key := cache.ObjectName{Namespace: "ns", Name: "keep"}
	for i := 0; i < 2; i++ {
		if _, err := c.sync(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.Events) != 1 {
		t.Fatalf("%d events for one generation, want 1", len(rec.Events))
	}
	if ev := <-rec.Events; !strings.Contains(ev, ReasonInvalid) || !strings.Contains(ev, "maxRetentionPeriod") {
		t.Fatalf("event %q", ev)
	}
	// Fixed: no event, and a later breakage is reported again.
	fixed := rp.DeepCopy()
	fixed.Generation, fixed.Spec.MaxRetentionPeriod = 2, "30d"
	_ = idx.Update(fixed)
	if _, err := c.sync(ctx, key); err != nil || len(rec.Events) != 0 {
		t.Fatalf("valid policy: err %v, %d events", err, len(rec.Events))
	}
	broken := fixed.DeepCopy()
	broken.Generation, broken.Spec.MaxRetentionPeriod = 3, "x"
	_ = idx.Update(broken)
	if _, err := c.sync(ctx, key); err != nil || len(rec.Events) != 1 {
		t.Fatalf("broken again: err %v, %d events, want 1", err, len(rec.Events))
	}
	// Deleted: nothing to do, no error.
	_ = idx.Delete(broken)
	if _, err := c.sync(ctx, key); err != nil {
		t.Fatal(err)
	}
}
