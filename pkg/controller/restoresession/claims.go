package restoresession

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/targets"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/volumeclaims"
)

// Reasons of restores into claims made from volumeClaimTemplates.
const (
	ReasonClaimExists = "ClaimExists"
)

// claimTemplates are the volumeClaimTemplates of the session's task and
// the mounts that say where each template's claim goes.
func claimTemplates(rs *corev1alpha1.RestoreSession) ([]corev1.PersistentVolumeClaimTemplate, []corev1.VolumeMount) {
	for _, t := range rs.Spec.Addon.Tasks {
		if tv := t.TargetVolumes; tv != nil && len(tv.VolumeClaimTemplates) > 0 {
			return tv.VolumeClaimTemplates, tv.VolumeMounts
		}
	}
	return nil, nil
}

// components splits the restore into the components one Job each fills.
// Without volumeClaimTemplates they are the target's (its volumes, where
// its pods mount them). With them (disaster recovery: the claims are gone)
// each component gets the claims its templates render to, ${POD_ORDINAL}
// being the replica of a "<name>-pod-<ordinal>" component; they are
// returned to be created, and the Job mounts each one where its template's
// mount (targetVolumes.volumeMounts, by the template's name) says, or, for
// a single template, at the one path the component backed up. The runner
// runs as the target workload's user when the workload still exists.
func (c *Controller) components(ctx context.Context, rs *corev1alpha1.RestoreSession, src *source, target common.TypedObjectReference) ([]jobs.Component, []*corev1.PersistentVolumeClaim, error) {
	templates, mounts := claimTemplates(rs)
	if len(templates) == 0 {
		comps, err := c.targets.Components(ctx, rs.Namespace, target)
		return comps, nil, err
	}
	security, err := c.workloadSecurity(ctx, rs.Namespace, target)
	if err != nil {
		return nil, nil, err
	}
	var comps []jobs.Component
	var claims []*corev1.PersistentVolumeClaim
	for _, name := range src.components {
		var ordinal *int32
		if n, ok := volumeclaims.Ordinal(name); ok {
			ordinal = &n
		}
		rendered, err := volumeclaims.Render(rs.Namespace, templates, ordinal)
		if err != nil {
			return nil, nil, &targets.Error{Reason: ReasonInvalid, Msg: fmt.Sprintf("component %s: %v", name, err)}
		}
		paths := splitPaths(src.snapshot.Status.Components[name].Path)
		comp := jobs.Component{Name: name, PodSecurity: security}
		for i, claim := range rendered {
			path, msg := mountPathOf(templates[i].Name, len(templates), mounts, paths)
			if msg != "" {
				return nil, nil, &targets.Error{Reason: ReasonInvalid, Msg: fmt.Sprintf("component %s: %s", name, msg)}
			}
			vol := fmt.Sprintf("claim-%d", i)
			comp.Volumes = append(comp.Volumes, jobs.TargetVolume{Name: vol, ClaimName: claim.Name,
				Mounts: []corev1.VolumeMount{{Name: vol, MountPath: path}}})
			claims = append(claims, claim)
		}
		comps = append(comps, comp)
	}
	return comps, claims, nil
}

// mountPathOf is where the claim of template name is mounted: the mountPath
// of the targetVolumes.volumeMounts entry of that name, else, when there is
// one template and the component backed up one path, that path. The second
// result says what to add when neither applies.
func mountPathOf(name string, templates int, mounts []corev1.VolumeMount, paths []string) (string, string) {
	for _, m := range mounts {
		if m.Name == name {
			return m.MountPath, ""
		}
	}
	if templates == 1 && len(paths) == 1 {
		return paths[0], ""
	}
	return "", fmt.Sprintf("say where the claim of volumeClaimTemplate %q is mounted: add targetVolumes.volumeMounts {name: %q, mountPath: <a path the snapshot holds, one of %v>}", name, name, paths)
}

func splitPaths(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// workloadSecurity is the pod security context of target when it is a
// workload that still exists (scaled to zero, say), so the runner writes
// the files as the application's user; nil otherwise.
func (c *Controller) workloadSecurity(ctx context.Context, ns string, t common.TypedObjectReference) (*corev1.PodSecurityContext, error) {
	var spec *corev1.PodSpec
	var err error
	apps := c.kube.AppsV1()
	switch t.Kind {
	case "StatefulSet":
		s, e := apps.StatefulSets(ns).Get(ctx, t.Name, metav1.GetOptions{})
		if err = e; e == nil {
			spec = &s.Spec.Template.Spec
		}
	case "Deployment":
		d, e := apps.Deployments(ns).Get(ctx, t.Name, metav1.GetOptions{})
		if err = e; e == nil {
			spec = &d.Spec.Template.Spec
		}
	case "DaemonSet":
		d, e := apps.DaemonSets(ns).Get(ctx, t.Name, metav1.GetOptions{})
		if err = e; e == nil {
			spec = &d.Spec.Template.Spec
		}
	default:
		return nil, nil
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", t.Kind, ns, t.Name, err)
	}
	return spec.SecurityContext, nil
}

// ensureClaims creates the claims of a restore from volumeClaimTemplates,
// marked as this restore's. A claim that already exists and is not this
// restore's own is never overwritten, and then none is created: msg names
// it and what to do.
func (c *Controller) ensureClaims(ctx context.Context, rs *corev1alpha1.RestoreSession, claims []*corev1.PersistentVolumeClaim) (string, error) {
	mine := rs.Namespace + "/" + rs.Name
	for _, claim := range claims {
		if have, err := c.claims.PersistentVolumeClaims(rs.Namespace).Get(claim.Name); err == nil && have.Annotations[volumeclaims.CreatedByAnnotation] != mine {
			return (&volumeclaims.ExistsError{Namespace: have.Namespace, Name: have.Name, By: have.Annotations[volumeclaims.CreatedByAnnotation]}).Error(), nil
		}
	}
	for _, claim := range claims {
		if _, err := volumeclaims.Create(ctx, c.kube.CoreV1().PersistentVolumeClaims(rs.Namespace), claim, mine, controller.FieldManager); err != nil {
			var exists *volumeclaims.ExistsError
			if errors.As(err, &exists) {
				return exists.Error(), nil
			}
			return "", fmt.Errorf("creating the claims of volumeClaimTemplates: %w", err)
		}
	}
	return "", nil
}
