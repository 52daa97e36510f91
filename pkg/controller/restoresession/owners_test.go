package restoresession

import (
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// TestRestoreOfOtherOwners: a snapshot whose files belong to users other
// than the restore's gets a restore Job that runs as root with only CHOWN
// and FOWNER, and an Event saying so, in a namespace whose Pod Security
// allows it. Where the namespace enforces "restricted", which allows
// neither, the component fails at once with a message that names the
// owners, the label and both ways out, and no Job is created (its pod
// would be refused and the restore would wait for nothing). The task's
// restoreOwners "false" restores there as the target's user.
func TestRestoreOfOtherOwners(t *testing.T) {
	jobName := names.RestoreJob("restore", jobs.ComponentDump)
	for _, tc := range []struct {
		level  string
		params map[string]string
		want   string // the component's error; "" : a Job is created
		root   bool
	}{
		{"baseline", nil, "", true},
		{"", nil, "", true},
		{"restricted", nil, `the snapshot's files belong to users 0, 1001 and groups 0, 2000, whom restore user 65532 cannot give them: ` +
			`setting their owners takes a restore pod that runs as root with the capabilities CHOWN and FOWNER, which namespace app forbids (pod-security.kubernetes.io/enforce=restricted). ` +
			`Label the namespace pod-security.kubernetes.io/enforce=baseline for the restore, or set the restore task's param restoreOwners: "false" to restore the files as user 65532`, false},
		{"restricted", map[string]string{jobs.ParamRestoreOwners: "false"}, "", false},
	} {
		t.Run(tc.level+strings.Join(slices.Sorted(maps.Keys(tc.params)), ","), func(t *testing.T) {
			k, c := setup("old", func(rs *corev1alpha1.RestoreSession) { rs.Spec.Addon.Tasks[0].Params = tc.params })
			for _, o := range c {
				if s, ok := o.(*storagev1alpha1.Snapshot); ok && s.Name == "old" {
					comp := s.Status.Components[jobs.ComponentDump]
					comp.Owners = &storagev1alpha1.FileOwners{UIDs: []int64{0, 1001, 65532}, GIDs: []int64{0, 2000, 65532}}
					s.Status.Components[jobs.ComponentDump] = comp
				}
			}
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}
			if tc.level != "" {
				ns.Labels = map[string]string{LabelPodSecurityEnforce: tc.level}
			}
			f := newFixture(t, append(k, ns), c)
			rs := f.sync()
			job, jobErr := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, jobName, metav1.GetOptions{})
			if tc.want != "" {
				comp := rs.Status.Components[jobs.ComponentDump]
				if rs.Status.Phase != corev1alpha1.RestoreFailed || comp.Phase != storagev1alpha1.ComponentFailed || !strings.HasPrefix(comp.Error, tc.want) {
					t.Fatalf("phase %s, component %+v; want Failed: %s", rs.Status.Phase, comp, tc.want)
				}
				if jobErr == nil {
					t.Fatal("a restore Job was created that the namespace refuses")
				}
				return
			}
			if jobErr != nil {
				t.Fatal(jobErr)
			}
			pod := job.Spec.Template.Spec
			root := *pod.SecurityContext.RunAsUser == 0 && slices.Equal(pod.Containers[0].SecurityContext.Capabilities.Add, jobs.OwnerCapabilities)
			if root != tc.root || rs.Status.Phase.IsFinished() {
				t.Fatalf("phase %s, pod security %+v, container capabilities %+v; want root with CHOWN and FOWNER: %v",
					rs.Status.Phase, pod.SecurityContext, pod.Containers[0].SecurityContext.Capabilities, tc.root)
			}
			var event string
			for len(f.Recorder.Events) > 0 {
				if e := <-f.Recorder.Events; strings.Contains(e, ReasonRestoresOwners) {
					event = e
				}
			}
			if tc.root != strings.Contains(event, "the files belong to users 0, 1001 and groups 0, 2000, other than restore user 65532: its restore Job runs as root with only the capabilities CHOWN and FOWNER") {
				t.Fatalf("event %q", event)
			}
		})
	}
}
