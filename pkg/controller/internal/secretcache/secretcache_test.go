package secretcache

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cairnbackup/cairn/pkg/controller/internal/controllertest"
)

func TestGetReadsOncePerResourceVersion(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pw", ResourceVersion: "1"}, Data: map[string][]byte{"CAIRN_PASSWORD": []byte("a")}}
	f := controllertest.New(t, []runtime.Object{secret}, nil)
	r := New(f.Deps)
	meta := f.Deps.Informers.Metadata.ForResource(corev1.SchemeGroupVersion.WithResource("secrets")).Informer().GetIndexer()
	setRV := func(rv string) {
		_ = meta.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pw", ResourceVersion: rv}})
	}
	setRV("1")
	gets := func() int {
		n := 0
		for _, a := range f.Kube.Actions() {
			if a.GetVerb() == "get" && a.GetResource().Resource == "secrets" {
				n++
			}
		}
		return n
	}
	for i := 0; i < 3; i++ {
		if s, err := r.Get(context.Background(), "ns", "pw"); err != nil || string(s.Data["CAIRN_PASSWORD"]) != "a" {
			t.Fatalf("Get: %v %v", s, err)
		}
	}
	if gets() != 1 {
		t.Fatalf("%d GETs for three reads of an unchanged Secret, want 1", gets())
	}
	// The Secret changes: the next read goes to the API server.
	secret.ResourceVersion, secret.Data["CAIRN_PASSWORD"] = "2", []byte("b")
	if _, err := f.Kube.CoreV1().Secrets("ns").Update(context.Background(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	setRV("2")
	if s, err := r.Get(context.Background(), "ns", "pw"); err != nil || string(s.Data["CAIRN_PASSWORD"]) != "b" {
		t.Fatalf("after a change: %v %v", s, err)
	}
	if _, err := r.Get(context.Background(), "ns", "missing"); err == nil {
		t.Fatal("a missing Secret must be an error")
	}
}
