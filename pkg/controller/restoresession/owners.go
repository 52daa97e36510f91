package restoresession

import (
	"fmt"

	"github.com/cairnbackup/cairn/pkg/jobs"
)

// LabelPodSecurityEnforce is the namespace label that sets the Pod Security
// level the API server enforces on the namespace's pods.
const LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"

// ReasonRestoresOwners is the Event of a restore Job that runs as root with
// the capabilities CHOWN and FOWNER, to set other users' owners.
const ReasonRestoresOwners = "RestoresOwners"

// ownersForbidden says why namespace ns refuses the pod of a restore Job
// that sets other users' owners (root with CHOWN and FOWNER), or "": the
// Pod Security level "restricted" allows neither, so its Job would create
// no pod and the restore would wait for nothing. Restoring owners, or
// restoring in that namespace at all, is the user's choice to make; the
// message gives both ways out. who names the owners, user the user the
// restore otherwise runs as.
func (c *Controller) ownersForbidden(ns, who string, user int64) string {
	n, err := c.namespaces.Get(ns)
	if err != nil || n.Labels[LabelPodSecurityEnforce] != "restricted" {
		return ""
	}
	return fmt.Sprintf("the snapshot's files belong to %s, whom restore user %d cannot give them: setting their owners takes a restore pod that runs as root with the capabilities CHOWN and FOWNER, "+
		"which namespace %s forbids (%s=restricted). Label the namespace %s=baseline for the restore, "+
		"or set the restore task's param %s: \"false\" to restore the files as user %d, then create the RestoreSession again",
		who, user, ns, LabelPodSecurityEnforce, LabelPodSecurityEnforce, jobs.ParamRestoreOwners, user)
}
