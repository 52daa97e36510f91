// Package operatortest is what an integration test needs to exercise the
// operator as `make deploy` installed it on the local cluster (in namespace
// cairn-system, with its real RBAC), instead of an operator started inside
// the test process:
//
//	func TestSomething(t *testing.T) {
//	    c := operatortest.Connect(t)           // fails unless the operator is Available
//	    ns := c.Cluster.Namespace(t)
//	    ... create a BackupStorage with c.Cairn ...
//	    bs, err := operatortest.WaitCondition(ctx, c.Cairn.StorageV1alpha1().BackupStorages(ns).Get,
//	        "s3", "Ready", metav1.ConditionTrue, time.Minute)
//	}
//
// Every wait is bounded and its error names what it waited for and the last
// state it saw, so a failure says where to look.
package operatortest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/test/cluster"
)

// Namespace and Deployment name the operator as deploy/ installs it.
const (
	Namespace  = "cairn-system"
	Deployment = "cairn-operator"
)

// Clients are the admin clients of the local cluster; the operator under
// test runs in it with its own ServiceAccount.
type Clients struct {
	// Cluster is the shared local cluster (namespaces, images, Jobs).
	Cluster *cluster.Cluster
	// Kube is the admin clientset.
	Kube kubernetes.Interface
	// Cairn is the admin clientset of Cairn's API groups.
	Cairn cairnclient.Interface
}

// Connect returns the clients and waits (up to two minutes) until the
// operator's Deployment is Available, failing the test with what to run when
// it is not deployed. The package needs cluster.Main in its TestMain.
func Connect(t testing.TB) Clients {
	t.Helper()
	c := cluster.Shared(t)
	cs, err := cairnclient.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := OperatorAvailable(ctx, c.Client(), 2*time.Minute); err != nil {
		t.Fatalf("%v\n(make test-integration deploys it; by hand: make deploy)", err)
	}
	return Clients{Cluster: c, Kube: c.Client(), Cairn: cs}
}

// OperatorAvailable waits until the operator's Deployment has rolled out its
// current template and is Available, and returns it.
func OperatorAvailable(ctx context.Context, kube kubernetes.Interface, timeout time.Duration) (*appsv1.Deployment, error) {
	return Until(ctx, timeout, "Deployment "+Namespace+"/"+Deployment+" to be Available",
		func(ctx context.Context) (*appsv1.Deployment, error) {
			return kube.AppsV1().Deployments(Namespace).Get(ctx, Deployment, metav1.GetOptions{})
		},
		func(d *appsv1.Deployment) (bool, string) {
			st := d.Status
			seen := fmt.Sprintf("generation %d observed %d, %d updated, %d available of %d",
				d.Generation, st.ObservedGeneration, st.UpdatedReplicas, st.AvailableReplicas, st.Replicas)
			for _, c := range st.Conditions {
				seen += fmt.Sprintf("; %s=%s %s", c.Type, c.Status, c.Message)
			}
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			done := st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want &&
				st.AvailableReplicas == want && st.Replicas == want
			return done, seen
		})
}

// Until polls get every half second until done accepts what it returned,
// for at most timeout. Errors from get (a NotFound while the operator has
// not created the object yet, say) are retried; when time runs out the
// error names what was awaited and the last object state or error seen.
func Until[T any](ctx context.Context, timeout time.Duration, what string, get func(context.Context) (T, error), done func(T) (bool, string)) (T, error) {
	var last T
	seen := "nothing read yet"
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		v, err := get(ctx)
		if err != nil {
			seen = err.Error()
			return false, nil
		}
		last = v
		ok, state := done(v)
		seen = state
		return ok, nil
	})
	if err != nil {
		return last, fmt.Errorf("waiting %s for %s: %w; last seen: %s", timeout, what, err, seen)
	}
	return last, nil
}

// Getter is a typed client's Get, e.g. cs.StorageV1alpha1().BackupStorages(ns).Get.
type Getter[T runtime.Object] func(ctx context.Context, name string, opts metav1.GetOptions) (T, error)

// WaitCondition waits until the object named name has the condition
// condType with status want, written for its current generation (a
// condition from before the last spec change does not count). It works for
// every Cairn kind, whose statuses keep []metav1.Condition in
// status.conditions.
func WaitCondition[T runtime.Object](ctx context.Context, get Getter[T], name, condType string, want metav1.ConditionStatus, timeout time.Duration) (T, error) {
	what := fmt.Sprintf("%s to have condition %s=%s", name, condType, want)
	return Until(ctx, timeout, what,
		func(ctx context.Context) (T, error) { return get(ctx, name, metav1.GetOptions{}) },
		func(obj T) (bool, string) {
			gen, conds, err := Conditions(obj)
			if err != nil {
				return false, err.Error()
			}
			c := findCondition(conds, condType)
			if c == nil {
				return false, fmt.Sprintf("generation %d, conditions: %s", gen, describe(conds))
			}
			current := c.ObservedGeneration == 0 || c.ObservedGeneration == gen
			return c.Status == want && current, fmt.Sprintf("generation %d, conditions: %s", gen, describe(conds))
		})
}

// Conditions returns an object's metadata.generation and status.conditions,
// for any kind that keeps metav1.Conditions there.
func Conditions(obj runtime.Object) (int64, []metav1.Condition, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return 0, nil, fmt.Errorf("reading %T: %w", obj, err)
	}
	var out struct {
		Metadata struct {
			Generation int64 `json:"generation"`
		} `json:"metadata"`
		Status struct {
			Conditions []metav1.Condition `json:"conditions"`
		} `json:"status"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, &out); err != nil {
		return 0, nil, fmt.Errorf("reading the conditions of %T: %w", obj, err)
	}
	return out.Metadata.Generation, out.Status.Conditions, nil
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func describe(conds []metav1.Condition) string {
	if len(conds) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(conds))
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s (%s, generation %d): %s", c.Type, c.Status, c.Reason, c.ObservedGeneration, c.Message))
	}
	return strings.Join(parts, "; ")
}

// OperatorPods returns the operator's pods, for their logs, IPs and security
// context.
func OperatorPods(ctx context.Context, kube kubernetes.Interface) ([]corev1.Pod, error) {
	list, err := kube.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + Deployment})
	if err != nil {
		return nil, fmt.Errorf("listing the operator's pods: %w", err)
	}
	return list.Items, nil
}
