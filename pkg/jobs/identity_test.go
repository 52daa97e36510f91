package jobs

import (
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func storageWith(name string, ann map[string]string) *storagev1alpha1.BackupStorage {
	s := &storagev1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: "st", Name: name}}
	if ann != nil {
		s.Spec.RuntimeSettings = &common.PodRuntimeSettings{ServiceAccountAnnotations: ann}
	}
	return s
}

func TestAccountAnnotationsMergeAndConflict(t *testing.T) {
	irsa := map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/backup"}
	got, err := AccountAnnotations(storageWith("a", irsa), storageWith("b", nil), storageWith("c", irsa))
	if err != nil || len(got) != 1 || got["eks.amazonaws.com/role-arn"] != "arn:aws:iam::1:role/backup" {
		t.Fatalf("AccountAnnotations = %v, %v", got, err)
	}
	if got, err := AccountAnnotations(storageWith("b", nil)); got != nil || err != nil {
		t.Fatalf("no annotations: %v, %v; want nil", got, err)
	}
	_, err = AccountAnnotations(storageWith("a", irsa), storageWith("d", map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/other"}))
	var conflict *AnnotationConflictError
	if !errors.As(err, &conflict) || conflict.First != "st/a" || conflict.Second != "st/d" {
		t.Fatalf("conflict: %v", err)
	}
}
