package restore

import (
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// kinds maps what --to accepts (kubectl's resource names and short names)
// to the target kind and API group.
var kinds = map[string][2]string{
	"pvc": {"", "PersistentVolumeClaim"}, "persistentvolumeclaim": {"", "PersistentVolumeClaim"}, "persistentvolumeclaims": {"", "PersistentVolumeClaim"},
	"deploy": {"apps", "Deployment"}, "deployment": {"apps", "Deployment"}, "deployments": {"apps", "Deployment"},
	"sts": {"apps", "StatefulSet"}, "statefulset": {"apps", "StatefulSet"}, "statefulsets": {"apps", "StatefulSet"},
	"ds": {"apps", "DaemonSet"}, "daemonset": {"apps", "DaemonSet"}, "daemonsets": {"apps", "DaemonSet"},
}

// ParseTarget reads --to: KIND/NAME as kubectl writes it (pvc/data,
// deployment/web, sts/db, ds/agent; "deployment.apps/web" too).
func ParseTarget(s string) (common.TypedObjectReference, error) {
	kind, name, ok := strings.Cut(s, "/")
	kind = strings.TrimSuffix(strings.ToLower(kind), ".apps")
	k, known := kinds[kind]
	if !ok || name == "" || strings.Contains(name, "/") || !known {
		return common.TypedObjectReference{}, fmt.Errorf("--to %q: want KIND/NAME with KIND one of pvc, deployment, statefulset, daemonset (for example --to pvc/data or --to deployment/web)", s)
	}
	return common.TypedObjectReference{APIGroup: k[0], Kind: k[1], Name: name}, nil
}

// isPVC says whether a target is a PersistentVolumeClaim.
func isPVC(t common.TypedObjectReference) bool {
	return t.APIGroup == "" && t.Kind == "PersistentVolumeClaim"
}
