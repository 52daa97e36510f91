// Package volumeclaims turns a restore task's volumeClaimTemplates into the
// PersistentVolumeClaims a restore creates, and creates them without ever
// touching a claim that already exists. Both restores use it: the
// VolumeSnapshot restore (claims whose dataSourceRef is a VolumeSnapshot) and
// the logical restore into a StatefulSet whose claims are gone (claims the
// engine then fills). A template's name may use ${POD_ORDINAL}, so one
// template gives one claim per replica, as a StatefulSet's own templates do.
package volumeclaims

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/cairnbackup/cairn/pkg/subst"
)

// OrdinalVar is the placeholder a template uses for the replica ordinal.
const OrdinalVar = "POD_ORDINAL"

// CreatedByAnnotation marks a claim with the restore that created it
// ("<namespace>/<RestoreSession>"), so a retried restore recognises its own
// claim and never mistakes a user's claim for one.
const CreatedByAnnotation = "cairn.dev/restored-by"

// TemplateError is a template that cannot give a valid claim; the user has
// to change the RestoreSession.
type TemplateError struct {
	// Template is the template's name as written.
	Template string
	// Msg says what is wrong.
	Msg string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("volumeClaimTemplate %q: %s", e.Template, e.Msg)
}

// ExistsError is a claim that already exists and was not created by this
// restore: it is never overwritten.
type ExistsError struct {
	// Namespace and Name of the claim.
	Namespace, Name string
	// By is the restore that created it, when it was another Cairn restore.
	By string
}

func (e *ExistsError) Error() string {
	if e.By != "" {
		return fmt.Sprintf("PersistentVolumeClaim %s/%s already exists (created by restore %s): it is never overwritten; delete it or name another claim in volumeClaimTemplates", e.Namespace, e.Name, e.By)
	}
	return fmt.Sprintf("PersistentVolumeClaim %s/%s already exists: it is never overwritten; delete it or name another claim in volumeClaimTemplates", e.Namespace, e.Name)
}

// UsesOrdinal reports whether a template's name or data source depends on
// the replica ordinal, that is whether it gives one claim per replica.
func UsesOrdinal(templates []corev1.PersistentVolumeClaimTemplate) bool {
	for _, t := range templates {
		if mentions(t.Name) || (t.Spec.DataSourceRef != nil && mentions(t.Spec.DataSourceRef.Name)) ||
			(t.Spec.DataSource != nil && mentions(t.Spec.DataSource.Name)) {
			return true
		}
	}
	return false
}

func mentions(s string) bool { return strings.Contains(s, "${"+OrdinalVar+"}") }

// Ordinal is the replica ordinal at the end of a StatefulSet component's
// name ("dump-pod-2", "volumesnapshot-pod-2" give 2).
func Ordinal(component string) (int32, bool) {
	i := strings.LastIndex(component, "-pod-")
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(component[i+len("-pod-"):], 10, 32)
	if err != nil || n < 0 {
		return 0, false
	}
	return int32(n), true
}

// Render builds the claims of templates in namespace for one replica
// (ordinal nil: the target has no replicas, and ${POD_ORDINAL} is an
// error). ${POD_ORDINAL} is filled in names, labels, annotations and the
// data source's name; every rendered name must be a valid claim name, and
// two templates may not give the same claim. The claims carry only what
// the templates say: callers add their own labels and data sources.
func Render(namespace string, templates []corev1.PersistentVolumeClaimTemplate, ordinal *int32) ([]*corev1.PersistentVolumeClaim, error) {
	vars := map[string]string{}
	if ordinal != nil {
		vars[OrdinalVar] = strconv.Itoa(int(*ordinal))
	}
	seen := map[string]bool{}
	out := make([]*corev1.PersistentVolumeClaim, 0, len(templates))
	for i := range templates {
		t := &templates[i]
		fill := func(s string) (string, error) {
			v, err := subst.Expand(s, vars)
			var missing *subst.MissingError
			if errors.As(err, &missing) && missing.Name == OrdinalVar {
				return "", &TemplateError{Template: t.Name, Msg: "${POD_ORDINAL} is only known when restoring a StatefulSet's replicas (components <name>-pod-<ordinal>)"}
			}
			if err != nil {
				return "", &TemplateError{Template: t.Name, Msg: err.Error()}
			}
			return v, nil
		}
		if t.Name == "" {
			return nil, &TemplateError{Template: fmt.Sprintf("#%d", i), Msg: "metadata.name is required"}
		}
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: namespace}, Spec: *t.Spec.DeepCopy()}
		var err error
		if pvc.Name, err = fill(t.Name); err != nil {
			return nil, err
		}
		if errs := validation.IsDNS1123Subdomain(pvc.Name); len(errs) > 0 {
			return nil, &TemplateError{Template: t.Name, Msg: fmt.Sprintf("%q is not a valid claim name: %s", pvc.Name, strings.Join(errs, "; "))}
		}
		if seen[pvc.Name] {
			return nil, &TemplateError{Template: t.Name, Msg: fmt.Sprintf("claim %s is named by two templates", pvc.Name)}
		}
		seen[pvc.Name] = true
		if pvc.Labels, err = fillMap(t.Labels, fill); err != nil {
			return nil, err
		}
		if pvc.Annotations, err = fillMap(t.Annotations, fill); err != nil {
			return nil, err
		}
		if ref := pvc.Spec.DataSourceRef; ref != nil {
			if ref.Name, err = fill(ref.Name); err != nil {
				return nil, err
			}
		}
		if ref := pvc.Spec.DataSource; ref != nil {
			if ref.Name, err = fill(ref.Name); err != nil {
				return nil, err
			}
		}
		if len(pvc.Spec.AccessModes) == 0 {
			return nil, &TemplateError{Template: t.Name, Msg: "spec.accessModes is required"}
		}
		out = append(out, pvc)
	}
	return out, nil
}

func fillMap(in map[string]string, fill func(string) (string, error)) (map[string]string, error) {
	if in == nil {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		fv, err := fill(v)
		if err != nil {
			return nil, err
		}
		out[k] = fv
	}
	return out, nil
}

// Create creates claim, marked as created by restore (a
// "<namespace>/<RestoreSession>" value of CreatedByAnnotation). A claim of
// that name that this restore created before (a retried Job) is returned as
// it is; any other existing claim is an *ExistsError and is left untouched.
func Create(ctx context.Context, client typedcorev1.PersistentVolumeClaimInterface, claim *corev1.PersistentVolumeClaim, restore, fieldManager string) (*corev1.PersistentVolumeClaim, error) {
	claim = claim.DeepCopy()
	if claim.Annotations == nil {
		claim.Annotations = map[string]string{}
	}
	claim.Annotations[CreatedByAnnotation] = restore
	created, err := client.Create(ctx, claim, metav1.CreateOptions{FieldManager: fieldManager})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating PersistentVolumeClaim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	existing, gerr := client.Get(ctx, claim.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("reading the existing PersistentVolumeClaim %s/%s: %w", claim.Namespace, claim.Name, gerr)
	}
	by := existing.Annotations[CreatedByAnnotation]
	if by == restore {
		return existing, nil
	}
	return nil, &ExistsError{Namespace: claim.Namespace, Name: claim.Name, By: by}
}
