package blob

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

func TestFindRepositoriesAndWipe(t *testing.T) {
	ctx := context.Background()
	b, err := backend.Open(ctx, "file://"+t.TempDir(), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rec := func(ns, name string) *RepositoryMetadata {
		return &RepositoryMetadata{Cluster: "c", Repository: ObjectRef{Namespace: ns, Name: name, UID: types.UID("u-" + name)}}
	}
	for _, dir := range []string{"ns1/app", "ns2/db"} {
		if err := CreateRepositoryMetadata(ctx, b, dir, rec("ns", dir[4:])); err != nil {
			t.Fatal(err)
		}
	}
	if err := CreateRepositoryMetadata(ctx, b, "ns1/app", rec("ns", "other")); !IsExists(err) {
		t.Fatalf("conditional create over an owned directory: %v", err)
	}
	for i := 0; i < wipeBatch+5; i++ { // more than one Wipe batch
		if err := b.Put(ctx, fmt.Sprintf("ns1/app/data/%05d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(ctx, "junk/repository.yaml", []byte("version: 99\n")); err != nil {
		t.Fatal(err)
	}
	found, err := FindRepositories(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	byDir := map[string]FoundRepository{}
	for _, f := range found {
		byDir[f.Dir] = f
	}
	if len(byDir) != 3 || byDir["ns1/app"].Meta.Repository.Name != "app" || byDir["ns2/db"].Meta == nil || byDir["junk"].Err == nil {
		t.Fatalf("found %+v", found)
	}
	n, err := Wipe(ctx, b, "ns1/app/")
	if err != nil || n != wipeBatch+6 {
		t.Fatalf("wiped %d, %v; want %d", n, err, wipeBatch+6)
	}
	if _, err := ReadRepositoryMetadata(ctx, b, "ns1/app"); !IsNotFound(err) {
		t.Fatalf("after wipe: %v", err)
	}
	if _, err := ReadRepositoryMetadata(ctx, b, "ns2/db"); err != nil {
		t.Fatalf("the other directory was touched: %v", err)
	}
}
