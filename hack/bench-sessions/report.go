package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// loadAverage is the machine's 1-minute load average, or -1 when it cannot
// be read: the cluster shares the machine (two cores) with everything
// else, so a latency means little without it.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// load tracks the load average before the sessions and its peak while
// they ran.
type load struct{ before, peak float64 }

func (l *load) sample() { l.peak = max(l.peak, loadAverage()) }

func (l *load) String() string { return fmt.Sprintf("%.1f before, %.0f peak", l.before, l.peak) }

// operatorEvents counts the Events the operator recorded in ns, by reason:
// each Event object is one POST, and each repeat of an identical one (its
// count above 1) one PATCH, so the table's "POST events" can be told
// apart by what they say.
func operatorEvents(ctx context.Context, kube kubernetes.Interface, ns string, sessions int) (string, error) {
	list, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	posts, repeats := map[string]int{}, map[string]int{}
	for _, e := range list.Items {
		if e.Source.Component != "cairn-operator" && e.ReportingController != "cairn-operator" {
			continue
		}
		key := e.InvolvedObject.Kind + " " + e.Reason
		posts[key]++
		if e.Count > 1 {
			repeats[key] += int(e.Count) - 1
		}
	}
	keys := make([]string, 0, len(posts))
	for k := range posts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return posts[keys[i]] > posts[keys[j]] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		part := fmt.Sprintf("%s %.2f", k, float64(posts[k])/float64(sessions))
		if repeats[k] > 0 {
			part += fmt.Sprintf(" (+%.2f repeats)", float64(repeats[k])/float64(sessions))
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", "), nil
}
