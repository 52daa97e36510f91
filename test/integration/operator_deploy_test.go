//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/crs"
	"github.com/cairnbackup/cairn/test/operatortest"
)

// operatorUID is the non-root user the image and the Deployment run as.
const operatorUID = 65532

// TestOperatorDeployed checks the operator as `make deploy` installed it:
// hardened, healthy, observable, leading, with its default Addons and
// Functions and an RBAC that grants what the controllers need and no more.
func TestOperatorDeployed(t *testing.T) {
	c := operatortest.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pod := runningOperatorPod(ctx, t, c.Kube)

	t.Run("non-root and hardened", func(t *testing.T) { checkSecurity(t, pod) })
	t.Run("image", func(t *testing.T) { checkImage(t, pod) })
	t.Run("process uid on the node", func(t *testing.T) { checkProcessUID(t) })
	t.Run("probes answer", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			body, err := httpGet(ctx, "http://"+pod.Status.PodIP+":8081"+path)
			if err != nil || strings.TrimSpace(body) != "ok" {
				t.Errorf("GET %s on the operator pod: %q, %v; want ok", path, body, err)
			}
		}
	})
	t.Run("metrics through the Service", func(t *testing.T) { checkMetrics(ctx, t, c.Kube) })
	t.Run("leader Lease", func(t *testing.T) { checkLease(ctx, t, c.Kube, pod.Name) })
	t.Run("default Addons and Functions", func(t *testing.T) { checkAddons(ctx, t, c) })
	t.Run("RBAC", func(t *testing.T) { checkRBAC(ctx, t, c.Kube) })
}

// runningOperatorPod returns the operator's one running, not terminating pod.
func runningOperatorPod(ctx context.Context, t *testing.T, kube kubernetes.Interface) corev1.Pod {
	t.Helper()
	pods, err := operatortest.OperatorPods(ctx, kube)
	if err != nil {
		t.Fatal(err)
	}
	var running []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			running = append(running, p)
		}
	}
	if len(running) != 1 {
		t.Fatalf("%d running operator pods, want 1 (the Deployment has one replica)", len(running))
	}
	return running[0]
}

func checkSecurity(t *testing.T, pod corev1.Pod) {
	ps := pod.Spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser != operatorUID ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v; want runAsNonRoot, runAsUser %d, seccomp RuntimeDefault", ps, operatorUID)
	}
	if pod.Spec.AutomountServiceAccountToken == nil || !*pod.Spec.AutomountServiceAccountToken || pod.Spec.ServiceAccountName != "cairn-operator" {
		t.Errorf("service account %q, automount %v; want cairn-operator with its token mounted", pod.Spec.ServiceAccountName, pod.Spec.AutomountServiceAccountToken)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	ctr := pod.Spec.Containers[0]
	sc := ctr.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("the container has no security context")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("container: runAsNonRoot is not set")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container: the root file system is writable")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container: privilege escalation is allowed")
	case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0:
		t.Errorf("container capabilities %+v; want all dropped, none added", sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("container: seccomp profile is not RuntimeDefault")
	}
	if ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet == nil || ctr.LivenessProbe.HTTPGet.Path != "/healthz" ||
		ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes: liveness %+v, readiness %+v; want /healthz and /readyz", ctr.LivenessProbe, ctr.ReadinessProbe)
	}
	if ctr.Resources.Requests.Memory().IsZero() || ctr.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v; want memory requests and a limit", ctr.Resources)
	}
	var podNS string
	for _, e := range ctr.Env {
		if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			podNS = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if podNS != "metadata.namespace" {
		t.Error("POD_NAMESPACE does not come from the downward API (metadata.namespace)")
	}
}

// checkImage: the locally built image with a content-derived tag, never
// :latest, and the same image handed to the runner Jobs.
func checkImage(t *testing.T, pod corev1.Pod) {
	ctr := pod.Spec.Containers[0]
	repo, tag, ok := strings.Cut(ctr.Image, ":")
	if !ok || repo != "cairn.local/cairn" || len(tag) != 16 || strings.Trim(tag, "0123456789abcdef") != "" {
		t.Errorf("image %q; want cairn.local/cairn:<16 hex digits of its content hash>", ctr.Image)
	}
	if ctr.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy %s, want IfNotPresent", ctr.ImagePullPolicy)
	}
	runner := ""
	for _, e := range ctr.Env {
		if e.Name == "CAIRN_RUNNER_IMAGE" {
			runner = e.Value
		}
	}
	if runner != ctr.Image {
		t.Errorf("CAIRN_RUNNER_IMAGE %q, want the operator's own image %q", runner, ctr.Image)
	}
}

// checkProcessUID reads, on the node (this machine), the user the
// operator's process really runs as.
func checkProcessUID(t *testing.T) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	found := 0
	for _, f := range procs {
		cmdline, err := os.ReadFile(f)
		if err != nil || !bytes.HasPrefix(cmdline, []byte("/cairn-operator\x00")) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(f), "status"))
		if err != nil {
			continue
		}
		found++
		for _, line := range strings.Split(string(status), "\n") {
			if fields := strings.Fields(line); len(fields) >= 3 && (fields[0] == "Uid:" || fields[0] == "Gid:") {
				if id, _ := strconv.Atoi(fields[2]); id != operatorUID {
					t.Errorf("%s: effective %s %d, want %d", filepath.Dir(f), fields[0], id, operatorUID)
				}
			}
		}
	}
	if found == 0 {
		t.Error("no /cairn-operator process found on the node")
	}
}

func checkMetrics(ctx context.Context, t *testing.T, kube kubernetes.Interface) {
	raw, err := kube.CoreV1().Services(operatortest.Namespace).ProxyGet("http", "cairn-operator-metrics", "metrics", "/metrics", nil).DoRaw(ctx)
	if err != nil {
		t.Fatalf("GET /metrics through Service cairn-operator-metrics: %v", err)
	}
	queues := map[string]bool{}
	var restClient bool
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "cairn_workqueue_"):
			_, rest, ok := strings.Cut(line, `{name="`)
			name, _, _ := strings.Cut(rest, `"`)
			if !ok || name == "" {
				t.Errorf("workqueue series without a queue name: %s", line)
				continue
			}
			queues[name] = true
		case strings.HasPrefix(line, "rest_client_requests_total{") && strings.Contains(line, `method="`):
			restClient = true
		}
	}
	if len(queues) == 0 {
		t.Error("no cairn_workqueue_* series: the controllers' named queues are not exported")
	}
	if !restClient {
		t.Error("no rest_client_requests_total{...method=...}: client-go's request counts are not exported")
	}
	t.Logf("named queues: %v", slices.Sorted(maps.Keys(queues)))
}

func checkLease(ctx context.Context, t *testing.T, kube kubernetes.Interface, podName string) {
	lease, err := operatortest.Until(ctx, time.Minute, "the leader Lease held by pod "+podName,
		func(ctx context.Context) (string, error) {
			l, err := kube.CoordinationV1().Leases(operatortest.Namespace).Get(ctx, "cairn-operator", metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			holder := ""
			if l.Spec.HolderIdentity != nil {
				holder = *l.Spec.HolderIdentity
			}
			if l.Spec.RenewTime == nil || time.Since(l.Spec.RenewTime.Time) > 30*time.Second {
				return holder + " (not renewed in the last 30s)", nil
			}
			return holder, nil
		},
		func(holder string) (bool, string) { return strings.HasPrefix(holder, podName+"_"), "holder " + holder })
	if err != nil {
		t.Error(err)
	} else {
		t.Logf("Lease held by %s", lease)
	}
}

func checkAddons(ctx context.Context, t *testing.T, c operatortest.Clients) {
	addons := c.Cairn.AddonsV1alpha1()
	wantRequired := map[string]bool{"workload-addon": true, "pvc-addon": false}
	for name, pathsRequired := range wantRequired {
		a, err := addons.Addons().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("Addon %s: %v", name, err)
			continue
		}
		var backups, restores []string
		for _, task := range a.Spec.BackupTasks {
			backups = append(backups, task.Name)
		}
		for _, task := range a.Spec.RestoreTasks {
			restores = append(restores, task.Name)
		}
		// Both take VolumeSnapshots; only a claim can be made from one.
		wantRestores := "logical-backup-restore"
		if name == "pvc-addon" {
			wantRestores += ",volume-snapshot-restore"
		}
		if strings.Join(backups, ",") != "logical-backup,volume-snapshot" || strings.Join(restores, ",") != wantRestores {
			t.Errorf("Addon %s tasks: %v / %v; want logical-backup,volume-snapshot / %s", name, backups, restores, wantRestores)
			continue
		}
		params := map[string]bool{}
		for _, p := range a.Spec.BackupTasks[0].Parameters {
			params[p.Name] = true
			if p.Name == "paths" && (p.Required != pathsRequired || (!pathsRequired && p.Default == "")) {
				t.Errorf("Addon %s: paths required=%v default=%q; want required=%v (a PVC defaults to the whole volume)", name, p.Required, p.Default, pathsRequired)
			}
		}
		if !params["paths"] || !params["exclude"] {
			t.Errorf("Addon %s logical-backup parameters %v; want paths and exclude", name, slices.Sorted(maps.Keys(params)))
		}
		for _, task := range append(a.Spec.BackupTasks, a.Spec.RestoreTasks...) {
			f, err := addons.Functions().Get(ctx, task.Function, metav1.GetOptions{})
			if err != nil {
				t.Errorf("Addon %s task %s: Function %s: %v", name, task.Name, task.Function, err)
				continue
			}
			if f.Spec.Image != "${CAIRN_IMAGE}" {
				t.Errorf("Function %s image %q; want ${CAIRN_IMAGE} (the operator's own image, filled in per Job)", f.Name, f.Spec.Image)
			}
		}
	}
}

// checkRBAC: no wildcard anywhere, no verb that lets the operator grant
// more than it holds, and the API server's own answer for a few requests the
// controllers make and a few they must never be able to make.
func checkRBAC(ctx context.Context, t *testing.T, kube kubernetes.Interface) {
	role, err := kube.RbacV1().ClusterRoles().Get(ctx, "cairn-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range role.Rules {
		for _, v := range slices.Concat(r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs) {
			if strings.Contains(v, "*") {
				t.Errorf("ClusterRole rule %d has a wildcard %q: %+v", i, v, r)
			}
		}
		for _, v := range r.Verbs {
			if v == "escalate" || v == "bind" || v == "impersonate" {
				t.Errorf("ClusterRole rule %d grants %q", i, v)
			}
		}
	}
	sa := "system:serviceaccount:" + operatortest.Namespace + ":cairn-operator"
	cases := []struct {
		ns, group, resource, verb, name string
		allowed                         bool
	}{
		{"", "", "secrets", "watch", "", true},
		{"some-app", "batch", "cronjobs", "create", "", true},
		{"some-app", "rbac.authorization.k8s.io", "roles", "create", "", true},
		{"some-app", "storage.cairn.dev", "backupstorages/status", "update", "", true},
		{operatortest.Namespace, "coordination.k8s.io", "leases", "update", "cairn-operator", true},
		{"", "", "secrets", "delete", "", false},
		{"", "", "pods", "create", "", false},
		// Hooks exec in the target's pods (create, and get for the
		// WebSocket upgrade); the operator still cannot create pods.
		{"some-app", "", "pods/exec", "create", "", true},
		{"some-app", "", "pods/exec", "get", "", true},
		{"", "", "pods/attach", "create", "", false},
		{"", "", "pods/portforward", "create", "", false},
		{"some-app", "coordination.k8s.io", "leases", "update", "cairn-operator", false},
		{"", "addons.cairn.dev", "addons", "update", "", false},
		{"", "rbac.authorization.k8s.io", "clusterroles", "escalate", "", false},
		{"", "rbac.authorization.k8s.io", "clusterrolebindings", "create", "", false},
	}
	for _, tc := range cases {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               sa,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + operatortest.Namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: tc.ns, Group: tc.group, Resource: tc.resource, Verb: tc.verb, Name: tc.name},
		}}
		got, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != tc.allowed {
			t.Errorf("operator may %s %s.%s in namespace %q (name %q): %v, want %v (%s)",
				tc.verb, tc.resource, tc.group, tc.ns, tc.name, got.Status.Allowed, tc.allowed, got.Status.Reason)
		}
	}
}

// TestDeployManifestsApplyStrictly applies the manifests the way a user
// does, with kubectl's strict server-side field validation, as server dry
// runs: the base (deploy/, as `kubectl apply -k deploy` on any cluster) and
// the local overlay must pass, so no field in them is unknown to the API
// server (strict validation refuses one instead of pruning it).
func TestDeployManifestsApplyStrictly(t *testing.T) {
	c := operatortest.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, dir := range []string{"deploy", filepath.Join("deploy", "overlays", "local")} {
		out, err := kubectl(ctx, c.Cluster, "apply", "--dry-run=server", "--validate=strict", "-k", filepath.Join(crs.Root(), dir))
		if err != nil {
			t.Fatalf("kubectl apply --dry-run=server -k %s: %v\n%s", dir, err, out)
		}
		for _, want := range []string{"deployment.apps/cairn-operator", "clusterrole.rbac.authorization.k8s.io/cairn-operator",
			"role.rbac.authorization.k8s.io/cairn-operator-leader-election", "service/cairn-operator-metrics",
			"addon.addons.cairn.dev/pvc-addon", "addon.addons.cairn.dev/workload-addon",
			"function.addons.cairn.dev/cairn-backup", "function.addons.cairn.dev/cairn-restore"} {
			if !strings.Contains(out, want) {
				t.Errorf("the dry run of %s did not report %s:\n%s", dir, want, out)
			}
		}
	}
}

func kubectl(ctx context.Context, c *cluster.Cluster, args ...string) (string, error) {
	bin, err := cluster.KubectlPath()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", c.Kubeconfig()}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %s", resp.Status)
	}
	return string(b), err
}
