// Package source finds the Snapshot a `kubectl cairn restore` or
// `download` names: a Snapshot object by name, or "latest", the newest
// Succeeded Snapshot of a repository (the rule the operator applies to a
// RestoreSession of latest), with the repository guessed only when exactly
// one fits, so a guess never picks the wrong application's data.
package source

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// ErrNotRestorable is returned for a Snapshot that did not succeed, or a
// repository without a Succeeded Snapshot.
var ErrNotRestorable = errors.New("nothing restorable")

// ErrAmbiguous is returned when "latest" needs a repository and none or
// several fit.
var ErrAmbiguous = errors.New("which repository is meant")

// Request names the snapshot to find.
type Request struct {
	// Snapshot is a Snapshot object's name or "latest".
	Snapshot string
	// Repository narrows "latest" to one Repository; "" guesses it.
	Repository string
	// App, when set, is what "latest" guesses the repository by: the
	// Repository whose spec.appRef is this workload or PVC.
	App *common.TypedObjectReference
}

// Found is a Snapshot and the Repository it is in.
type Found struct {
	Snapshot   *storagev1alpha1.Snapshot
	Repository *storagev1alpha1.Repository
}

// Find resolves q in namespace.
func Find(ctx context.Context, c cairnclient.Interface, namespace string, q Request) (*Found, error) {
	st := c.StorageV1alpha1()
	if q.Snapshot == "" {
		return nil, errors.New("no snapshot given: name a Snapshot (kubectl cairn snapshots lists them) or latest")
	}
	if q.Snapshot != corev1alpha1.LatestSnapshot {
		snap, err := st.Snapshots(namespace).Get(ctx, q.Snapshot, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("Snapshot %s/%s does not exist (kubectl cairn snapshots lists them): %w", namespace, q.Snapshot, err)
		}
		if err != nil {
			return nil, fmt.Errorf("reading Snapshot %s/%s: %w", namespace, q.Snapshot, err)
		}
		if q.Repository != "" && snap.Spec.Repository != q.Repository {
			return nil, fmt.Errorf("Snapshot %s is in Repository %s, not %s", snap.Name, snap.Spec.Repository, q.Repository)
		}
		if snap.Status.Phase != storagev1alpha1.SnapshotSucceeded {
			return nil, fmt.Errorf("Snapshot %s is %s, not Succeeded: pick another one: %w", snap.Name, phase(snap), ErrNotRestorable)
		}
		rp, err := repository(ctx, c, namespace, snap.Spec.Repository)
		if err != nil {
			return nil, err
		}
		return &Found{Snapshot: snap, Repository: rp}, nil
	}
	rp, err := guessRepository(ctx, c, namespace, q)
	if err != nil {
		return nil, err
	}
	list, err := st.Snapshots(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the Snapshots of namespace %s: %w", namespace, err)
	}
	var newest *storagev1alpha1.Snapshot
	for i := range list.Items {
		s := &list.Items[i]
		if s.Spec.Repository == rp.Name && s.Status.Phase == storagev1alpha1.SnapshotSucceeded && (newest == nil || Newer(s, newest)) {
			newest = s
		}
	}
	if newest == nil {
		return nil, fmt.Errorf("Repository %s/%s has no Succeeded Snapshot yet (kubectl cairn trigger backs up now): %w", namespace, rp.Name, ErrNotRestorable)
	}
	return &Found{Snapshot: newest, Repository: rp}, nil
}

func repository(ctx context.Context, c cairnclient.Interface, namespace, name string) (*storagev1alpha1.Repository, error) {
	rp, err := c.StorageV1alpha1().Repositories(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading Repository %s/%s: %w", namespace, name, err)
	}
	return rp, nil
}

// guessRepository is q.Repository, else the one Repository of q.App,
// else the namespace's only Repository.
func guessRepository(ctx context.Context, c cairnclient.Interface, namespace string, q Request) (*storagev1alpha1.Repository, error) {
	if q.Repository != "" {
		return repository(ctx, c, namespace, q.Repository)
	}
	list, err := c.StorageV1alpha1().Repositories(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the Repositories of namespace %s: %w", namespace, err)
	}
	var fit []*storagev1alpha1.Repository
	var all []string
	for i := range list.Items {
		rp := &list.Items[i]
		all = append(all, rp.Name)
		if q.App == nil || SameApp(rp.Spec.AppRef.WithNamespace(namespace), q.App.WithNamespace(namespace)) {
			fit = append(fit, rp)
		}
	}
	sort.Strings(all)
	switch {
	case len(fit) == 1:
		return fit[0], nil
	case len(all) == 0:
		return nil, fmt.Errorf("namespace %s has no Repository: nothing was backed up here: %w", namespace, ErrNotRestorable)
	case q.App != nil && len(fit) == 0:
		return nil, fmt.Errorf("no Repository of namespace %s holds backups of %s %s (there are %s): pass --repository: %w", namespace, q.App.Kind, q.App.Name, strings.Join(all, ", "), ErrAmbiguous)
	}
	var names []string
	for _, rp := range fit {
		names = append(names, rp.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("latest of which Repository? namespace %s has %s: pass --repository: %w", namespace, strings.Join(names, ", "), ErrAmbiguous)
}

// SameApp compares two references by group, kind, name and namespace.
func SameApp(a, b common.TypedObjectReference) bool {
	return a.APIGroup == b.APIGroup && strings.EqualFold(a.Kind, b.Kind) && a.Name == b.Name && a.Namespace == b.Namespace
}

// Newer orders Snapshots as the operator does for latest: by snapshot
// time, then creation time, then name.
func Newer(a, b *storagev1alpha1.Snapshot) bool {
	ta, tb := a.CreationTimestamp, b.CreationTimestamp
	if a.Status.SnapshotTime != nil {
		ta = *a.Status.SnapshotTime
	}
	if b.Status.SnapshotTime != nil {
		tb = *b.Status.SnapshotTime
	}
	if !ta.Equal(&tb) {
		return tb.Before(&ta)
	}
	return a.Name > b.Name
}

func phase(s *storagev1alpha1.Snapshot) string {
	if s.Status.Phase == "" {
		return string(storagev1alpha1.SnapshotPending)
	}
	return string(s.Status.Phase)
}
