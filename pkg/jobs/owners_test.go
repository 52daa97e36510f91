package jobs

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// TestRestoreJobAsksForOwnerRightsOnlyWhenNeeded: a restore Job runs as
// the target's user with no capability while that user and its groups own
// every file; when the snapshot holds other owners it runs as root with
// exactly CHOWN and FOWNER (everything else dropped, no escalation, the
// target's groups kept), unless the task's restoreOwners param is "false"
// or the snapshot recorded no owners.
func TestRestoreJobAsksForOwnerRightsOnlyWhenNeeded(t *testing.T) {
	uid, gid, fsGroup := int64(1000), int64(1000), int64(2000)
	target := &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &gid, FSGroup: &fsGroup, SupplementalGroups: []int64{3000}}
	rs := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "undo", UID: "u"}}
	task := &addonsv1alpha1.Task{Name: "logical-backup-restore", Parameters: []common.ParameterDefinition{{Name: ParamRestoreOwners, Default: "true"}}}
	fn := &addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "f"}, Spec: addonsv1alpha1.FunctionSpec{Image: "img", Args: []string{"restore"}}}
	owners := func(uids, gids []int64, truncated bool) *storagev1alpha1.FileOwners {
		return &storagev1alpha1.FileOwners{UIDs: uids, GIDs: gids, Truncated: truncated}
	}
	for _, tc := range []struct {
		name   string
		owners *storagev1alpha1.FileOwners
		params map[string]string
		who    string // "" : no owner rights
	}{
		{"no owners recorded", nil, nil, ""},
		{"the target's user and groups", owners([]int64{1000}, []int64{1000, 2000, 3000}, false), nil, ""},
		{"other users", owners([]int64{0, 1000, 1001}, []int64{1000}, false), nil, "users 0, 1001"},
		{"another group", owners([]int64{1000}, []int64{1000, 4000}, false), nil, "groups 4000"},
		{"too many to list", owners([]int64{1000}, []int64{1000}, true), nil, "more users or groups than the snapshot lists"},
		{"turned off by the param", owners([]int64{0}, []int64{0}, false), map[string]string{ParamRestoreOwners: "false"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := RestoreJobInput{Session: rs, Task: task, TaskRef: &corev1alpha1.TaskReference{Params: tc.params}, Function: fn,
				Component: Component{Name: ComponentDump, Volumes: PVCVolumes("data"), PodSecurity: target}, Snapshot: "s", Image: "img", Owners: tc.owners}
			needed, who := RestoresOwners(in)
			if needed != (tc.who != "") || who != tc.who {
				t.Fatalf("RestoresOwners = %v, %q; want %q", needed, who, tc.who)
			}
			job, err := RestoreJob(in)
			if err != nil {
				t.Fatal(err)
			}
			pod := job.Spec.Template.Spec
			c := pod.Containers[0].SecurityContext
			if *c.AllowPrivilegeEscalation || !*c.ReadOnlyRootFilesystem || !slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Fatalf("container security %+v", c)
			}
			if *pod.SecurityContext.FSGroup != fsGroup || *pod.SecurityContext.RunAsGroup != gid || !slices.Equal(pod.SecurityContext.SupplementalGroups, []int64{3000}) {
				t.Fatalf("the target's groups were not kept: %+v", pod.SecurityContext)
			}
			if tc.who == "" {
				if *pod.SecurityContext.RunAsUser != uid || !*pod.SecurityContext.RunAsNonRoot || !*c.RunAsNonRoot || len(c.Capabilities.Add) != 0 {
					t.Fatalf("a restore of the target's own files got %+v / %+v", pod.SecurityContext, c)
				}
				return
			}
			if *pod.SecurityContext.RunAsUser != 0 || *pod.SecurityContext.RunAsNonRoot || *c.RunAsNonRoot || !slices.Equal(c.Capabilities.Add, OwnerCapabilities) {
				t.Fatalf("a restore of other owners got %+v / %+v", pod.SecurityContext, c)
			}
		})
	}
	if RunnerUser(nil) != RunnerUID || RunnerUser(target) != uid {
		t.Fatal("RunnerUser")
	}
}
