// Package opbench holds what the operator benchmarks (hack/bench-operator,
// hack/bench-sessions) share: a namespace with a default BackupStorage on
// MinIO to run against, the operator's process and metrics on this node,
// and running setup work in parallel.
package opbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// OperatorNamespace is where `make deploy` installs the operator.
const OperatorNamespace = "cairn-system"

// Operator is the running operator: its pod's metrics address and its
// process on this node.
type Operator struct {
	// Pod is the operator pod's name: a new name means its counters
	// started again.
	Pod        string
	metricsURL string
	pid        int
}

// FindOperator finds the operator pod and its process (this node runs
// every pod of the local cluster).
func FindOperator(ctx context.Context, kube kubernetes.Interface) (*Operator, error) {
	pods, err := kube.CoreV1().Pods(OperatorNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, p := range pods.Items {
		if p.Status.Phase != "Running" || p.Status.PodIP == "" || !strings.Contains(p.Name, "operator") {
			continue
		}
		pid, err := findProcess("/cairn-operator")
		if err != nil {
			return nil, err
		}
		return &Operator{Pod: p.Name, metricsURL: "http://" + net.JoinHostPort(p.Status.PodIP, "8080") + "/metrics", pid: pid}, nil
	}
	return nil, fmt.Errorf("no running operator pod in %s: run `make deploy`", OperatorNamespace)
}

func findProcess(binary string) (int, error) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		if argv0, _, _ := strings.Cut(string(cmd), "\x00"); strings.HasSuffix(argv0, binary) {
			return strconv.Atoi(filepath.Base(d))
		}
	}
	return 0, fmt.Errorf("no %s process on this node", binary)
}

// HWM is the process's peak resident set (VmHWM) in KiB.
func (o *Operator) HWM() int64 { return o.status("VmHWM:") }

// RSS is the process's resident set now (VmRSS) in KiB.
func (o *Operator) RSS() int64 { return o.status("VmRSS:") }

// status reads a KiB field of the process's /proc status, 0 when the
// process is gone.
func (o *Operator) status(field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", o.pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field); ok {
			kib, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kib
		}
	}
	return 0
}

// Requests scrapes cairn_api_requests_total: its label set -> count.
func (o *Operator) Requests(ctx context.Context) (map[string]float64, error) {
	body, err := o.get(ctx, o.metricsURL)
	if err != nil {
		return nil, fmt.Errorf("scraping the operator's metrics: %w", err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, "cairn_api_requests_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(rest, "} ")
		v, _ := strconv.ParseFloat(value, 64)
		out[labels] = v
	}
	return out, nil
}

// Gauges scrapes the named metrics that have no labels
// (go_memstats_heap_inuse_bytes, go_goroutines...): name -> value.
func (o *Operator) Gauges(ctx context.Context, names ...string) (map[string]float64, error) {
	body, err := o.get(ctx, o.metricsURL)
	if err != nil {
		return nil, fmt.Errorf("scraping the operator's metrics: %w", err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if ok && slices.Contains(names, name) {
			out[name], _ = strconv.ParseFloat(value, 64)
		}
	}
	return out, nil
}

// HeapProfile is the operator's heap profile (pprof's format), served
// only when it runs with --profiling.
func (o *Operator) HeapProfile(ctx context.Context) ([]byte, error) {
	return o.get(ctx, strings.TrimSuffix(o.metricsURL, "/metrics")+"/debug/pprof/heap")
}

func (o *Operator) get(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// DiffWrites returns the write requests between two scrapes by
// "VERB resource", and the Lease writes (leader election's) apart.
func DiffWrites(before, after map[string]float64) (map[string]float64, float64) {
	writes := map[string]float64{}
	var leases float64
	for labels, v := range after {
		d := v - before[labels]
		verb, resource := Label(labels, "verb"), Label(labels, "resource")
		if d == 0 || verb == "GET" || verb == "LIST" || verb == "WATCH" {
			continue
		}
		if resource == "leases" {
			leases += d
			continue
		}
		writes[verb+" "+resource] += d
	}
	return writes, leases
}

// Label is the value of label name in a metric's label set.
func Label(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// Sum adds the counts of a DiffWrites result.
func Sum(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}
