package jobs

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// ParamRestoreOwners is the restore tasks' parameter that turns the
// restore of file owners off ("false"): the files then belong to the
// restore's user, and its Job needs no capability.
const ParamRestoreOwners = "restoreOwners"

// OwnerCapabilities are the capabilities a restore of other users' files
// needs, and the only ones its Job asks for: CHOWN to set any owner,
// FOWNER to set the mode, times and attributes of files it no longer owns.
var OwnerCapabilities = []corev1.Capability{"CHOWN", "FOWNER"}

// ForeignOwners says which owners of a component's files the restore
// runner, run as the target's user and groups (or Cairn's default user),
// cannot give them without CHOWN; "" when it can give them all, or when
// the snapshot did not record its owners (taken before Cairn did).
func ForeignOwners(owners *storagev1alpha1.FileOwners, target *corev1.PodSecurityContext) string {
	if owners == nil {
		return ""
	}
	sc := runnerPodSecurity(target)
	groups := []int64{*sc.RunAsGroup}
	if sc.FSGroup != nil {
		groups = append(groups, *sc.FSGroup)
	}
	groups = append(groups, sc.SupplementalGroups...)
	var users, others []string
	for _, uid := range owners.UIDs {
		if uid != *sc.RunAsUser {
			users = append(users, fmt.Sprint(uid))
		}
	}
	for _, gid := range owners.GIDs {
		if !slices.Contains(groups, gid) {
			others = append(others, fmt.Sprint(gid))
		}
	}
	var why []string
	if len(users) > 0 {
		why = append(why, "users "+strings.Join(users, ", "))
	}
	if len(others) > 0 {
		why = append(why, "groups "+strings.Join(others, ", "))
	}
	if owners.Truncated {
		why = append(why, "more users or groups than the snapshot lists")
	}
	return strings.Join(why, " and ")
}

// RunnerUser is the user a task's runner runs as for a target (its pod's
// user, or Cairn's default), for messages.
func RunnerUser(target *corev1.PodSecurityContext) int64 { return *runnerPodSecurity(target).RunAsUser }

// grantOwnerRights runs a restore as root with only OwnerCapabilities:
// the container runtime gives a non-root process no effective capability
// (capabilities.add only fills its bounding set), so CHOWN takes root.
// Every other capability stays dropped, privilege escalation stays off,
// and the target's groups are kept.
func grantOwnerRights(c *corev1.Container, pod *corev1.PodSpec) {
	pod.SecurityContext.RunAsUser = ptr(int64(0))
	pod.SecurityContext.RunAsNonRoot = ptr(false)
	c.SecurityContext.RunAsNonRoot = ptr(false)
	c.SecurityContext.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: OwnerCapabilities}
}
