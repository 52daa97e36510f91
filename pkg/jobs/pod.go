// Package jobs builds the specs of the Jobs and CronJobs the operator runs
// (trigger CronJobs now; backup, restore and maintenance Jobs next) from a
// BackupConfiguration, an Addon and its Functions. Everything here is a pure
// function of its inputs, so every branch is table-tested without a cluster
// and the controllers only compare and apply.
package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// RunnerUID is the user Cairn's own containers run as when nothing else is
// asked for (the "nonroot" user of distroless images).
const RunnerUID = 65532

// SpecHashAnnotation holds a hash of the spec the operator last wrote, so a
// sync compares one string instead of the fields the API server defaulted.
const SpecHashAnnotation = "cairn.dev/spec-hash"

// Hash returns a short stable hash of v's JSON form.
func Hash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Specs are plain structs; a marshal error is a programming error.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func ptr[T any](v T) *T { return &v }

// RestrictedContainerSecurity is the container security context of every
// container Cairn creates: not root, no privilege escalation, no
// capabilities, a read-only root file system and the runtime's default
// seccomp profile (the Kubernetes "restricted" pod security standard).
func RestrictedContainerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr(true),
		AllowPrivilegeEscalation: ptr(false),
		ReadOnlyRootFilesystem:   ptr(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// RestrictedPodSecurity is the pod security context of Cairn's own pods
// when the user sets none.
func RestrictedPodSecurity() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		RunAsUser:      ptr(int64(RunnerUID)),
		RunAsGroup:     ptr(int64(RunnerUID)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// SmallResources are the requests and limits of short control pods (the
// trigger), which only talk to the API server.
func SmallResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
}

// ApplyRuntimeSettings applies a user's pod runtime settings (scheduling,
// security context, pull secrets, service account) over spec. Nil changes
// nothing.
func ApplyRuntimeSettings(spec *corev1.PodSpec, s *common.PodRuntimeSettings) {
	if s == nil {
		return
	}
	if len(s.NodeSelector) > 0 {
		spec.NodeSelector = s.NodeSelector
	}
	if s.ServiceAccountName != "" {
		spec.ServiceAccountName = s.ServiceAccountName
	}
	if len(s.Tolerations) > 0 {
		spec.Tolerations = s.Tolerations
	}
	if s.Affinity != nil {
		spec.Affinity = s.Affinity
	}
	if s.PriorityClassName != "" {
		spec.PriorityClassName = s.PriorityClassName
	}
	if s.SecurityContext != nil {
		spec.SecurityContext = s.SecurityContext
	}
	if len(s.ImagePullSecrets) > 0 {
		spec.ImagePullSecrets = s.ImagePullSecrets
	}
}
