//go:build integration

package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/test/scenario"
)

// ownersList prints, for every entry of the claim below /var/db except the
// list itself, its owner, mode, mtime and name, and every file's md5 sum.
const ownersList = `cd /var/db && find . -mindepth 1 ! -name .owners | sort | xargs stat -c '%u:%g %a %Y %n' && find . -type f ! -name .owners | sort | xargs md5sum`

// ownersSeed writes files, directories and a symlink of several users and
// groups (readable by the backup's user, who is none of them), then
// records them in /var/db/.owners.
const ownersSeed = `set -e
cd /var/db
echo app > app.txt && chown 1000:1000 app.txt
echo root > root.txt && chmod 0600 root.txt
mkdir -p other/sub
head -c 200000 /dev/urandom > other/f
echo deep > other/sub/g
chown 1001:2000 other other/f && chown -R 1002:1002 other/sub && chmod 0755 other/sub && chmod 0644 other/sub/g
chmod 0644 root.txt
ln -s app.txt link && chown -h 1003:1003 link
touch -d '2024-01-02 03:04:05' app.txt other/f other/sub/g
(` + ownersList + `) > .owners`

// ownersDamage changes owners, modes and bytes and removes a file, as a
// faulty application or an operator's mistake would.
const ownersDamage = `set -e
cd /var/db
echo damaged > other/f && chown 0:0 other/f
rm root.txt link
chown -R 1005:1005 other/sub && chmod 0700 other/sub
chown 4242:4242 app.txt && chmod 0666 app.txt`

// TestRestoreOwnersOfSeveralUsers: a claim holding files of several users
// and groups (and a symlink of its own user) is backed up by a runner that
// is none of them; the Snapshot records the owners. In a namespace whose
// Pod Security enforces restricted, a restore fails at once, saying what is
// wrong and how to fix it, and creates no Job. With the namespace at
// baseline the restore Job runs as root with only CHOWN and FOWNER, and
// every entry's owner, mode, mtime and bytes are back, over damaged data
// whose directories belong to other users.
func TestRestoreOwnersOfSeveralUsers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	e.asRootInClaim(ctx, t, "seed", "data", ownersSeed)
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, claimConfig("owners", "data"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "owners", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	e.backUpNow(ctx, t, "owners")
	snaps, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(snaps.Items) != 1 {
		t.Fatalf("Snapshots: %v (err %v)", snaps, err)
	}
	owners := snaps.Items[0].Status.Components[jobs.ComponentDump].Owners
	if owners == nil || !slices.Equal(owners.UIDs, []int64{0, 1000, 1001, 1002, 1003}) || !slices.Equal(owners.GIDs, []int64{0, 1000, 1002, 1003, 2000}) {
		t.Fatalf("the Snapshot's owners %+v, want users 0, 1000-1003 and groups 0, 1000, 1002, 1003, 2000", owners)
	}
	e.asRootInClaim(ctx, t, "damage", "data", ownersDamage)

	e.podSecurity(ctx, t, "restricted")
	start := time.Now()
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, claimRestore("refused", "owners", "data", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := e.waitRestoreWhere(ctx, t, "refused", "a final phase", time.Minute, func(rs *corev1alpha1.RestoreSession) bool { return rs.Status.Phase.IsFinished() })
	comp := rs.Status.Components[jobs.ComponentDump]
	for _, want := range []string{"belong to users 0, 1000, 1001, 1002, 1003", "CHOWN and FOWNER", "pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/enforce=baseline", `restoreOwners: "false"`} {
		if rs.Status.Phase != corev1alpha1.RestoreFailed || comp.Phase != storagev1alpha1.ComponentFailed || !strings.Contains(comp.Error, want) {
			job, _ := e.c.Client().BatchV1().Jobs(e.ns).Get(ctx, names.RestoreJob("refused", jobs.ComponentDump), metav1.GetOptions{})
			nsObj, _ := e.c.Client().CoreV1().Namespaces().Get(ctx, e.ns, metav1.GetOptions{})
			snap, _ := e.cairn.StorageV1alpha1().Snapshots(e.ns).Get(ctx, snaps.Items[0].Name, metav1.GetOptions{})
			t.Fatalf("phase %s, component %+v; want Failed saying %q\nnamespace labels %v\nsnapshot %+v\njob %+v\n%s", rs.Status.Phase, comp, want, nsObj.Labels, snap.Status, job, e.c.Diagnose(ctx, e.ns, jobs.LabelRestoreSession+"=refused"))
		}
	}
	if _, err := e.c.Client().BatchV1().Jobs(e.ns).Get(ctx, names.RestoreJob("refused", jobs.ComponentDump), metav1.GetOptions{}); err == nil {
		t.Fatal("a restore Job was created in a namespace that refuses its pod")
	}
	t.Logf("restricted namespace: Failed in %s: %s", time.Since(start).Round(time.Second), comp.Error)

	e.podSecurity(ctx, t, "baseline")
	start = time.Now()
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, claimRestore("owners", "owners", "data", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRestore(ctx, t, "owners")
	t.Logf("baseline namespace: the restore of every owner succeeded in %s", time.Since(start).Round(time.Second))
	job, err := e.c.Client().BatchV1().Jobs(e.ns).Get(ctx, names.RestoreJob("owners", jobs.ComponentDump), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	if caps := pod.Containers[0].SecurityContext.Capabilities; *pod.SecurityContext.RunAsUser != 0 || !slices.Equal(caps.Add, jobs.OwnerCapabilities) || !slices.Equal(caps.Drop, []corev1.Capability{"ALL"}) {
		t.Fatalf("restore Job runs as %d with %+v; want root with only CHOWN and FOWNER", *pod.SecurityContext.RunAsUser, caps)
	}
	e.asRootInClaim(ctx, t, "verify", "data", "set -e; cd /var/db; ("+ownersList+") > /tmp/now; diff .owners /tmp/now")
}

// asRootInClaim runs script as root with claim mounted at /var/db.
func (e *configEnv) asRootInClaim(ctx context.Context, t *testing.T, name, claim, script string) {
	t.Helper()
	spec := scenario.PodSpec(nil, []corev1.Container{scenario.Shell(name, script, scenario.Mount("data", "/var/db"))}, scenario.ClaimVolume("data", claim))
	spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(0)), RunAsGroup: ptr.To(int64(0))}
	if err := scenario.RunJob(ctx, e.c, e.ns, name, spec); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, e.c.Diagnose(ctx, e.ns, "job-name="+name))
	}
}

// podSecurity sets the Pod Security level the test namespace enforces.
func (e *configEnv) podSecurity(ctx context.Context, t *testing.T, level string) {
	t.Helper()
	ns, err := e.c.Client().CoreV1().Namespaces().Get(ctx, e.ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels["pod-security.kubernetes.io/enforce"] = level
	if _, err := e.c.Client().CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the operator's namespace cache follows within moments
}
