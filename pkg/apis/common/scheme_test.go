package common

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestAddKnownTypes(t *testing.T) {
	gv := schema.GroupVersion{Group: "example.cairn.dev", Version: "v1"}
	scheme := runtime.NewScheme()
	if err := AddKnownTypes(gv, &metav1.Status{})(scheme); err != nil {
		t.Fatal(err)
	}
	if !scheme.Recognizes(gv.WithKind("Status")) {
		t.Fatal("registered type not recognised")
	}
	if !scheme.Recognizes(gv.WithKind("ListOptions")) {
		t.Fatal("meta types (ListOptions) not added to the group version")
	}
}
