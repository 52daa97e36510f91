package cairnmetrics

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// monitoringDir holds the dashboard, the alerts and their unit tests.
var monitoringDir = filepath.Join("..", "..", "..", "deploy", "monitoring")

// ruleFile is a Prometheus rules file: a PrometheusRule's spec.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert  string `json:"alert,omitempty"`
			Record string `json:"record,omitempty"`
			Expr   string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

func readPrometheusRule(t *testing.T) (spec map[string]any, rules ruleFile) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       map[string]any `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(raw, &obj); err != nil {
		t.Fatal(err)
	}
	if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml is a %s %s", obj.APIVersion, obj.Kind)
	}
	body, _ := json.Marshal(obj.Spec)
	if err := json.Unmarshal(body, &rules); err != nil {
		t.Fatal(err)
	}
	return obj.Spec, rules
}

// dashboardQueries returns every PromQL query of the dashboard: the panels'
// targets, and the metric selectors of the template variables' label_values.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(monitoringDir, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok {
				out = append(out, e)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(dash["panels"])
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`)
	vars, _ := dash["templating"].(map[string]any)["list"].([]any)
	for _, v := range vars {
		q, _ := v.(map[string]any)["definition"].(string)
		if m := labelValues.FindStringSubmatch(q); m != nil {
			out = append(out, m[1])
		} else if q != "" {
			t.Errorf("template variable query %q is not label_values(<selector>, <label>)", q)
		}
	}
	return out
}

// exportedNames are the names of every series the operator's registry
// gathers once every Cairn metric has a value (histograms as _bucket, _sum
// and _count), and the test fails if a described metric is missing there.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	f := newFixture(t, gaugeScenario()...)
	done := backupSession("done", "web", "nightly", now, succ, "1m")
	done.Status.RetentionPolicy = []corev1alpha1.RetentionPolicyApplyStatus{
		{Ref: common.ObjectReference{Name: "keep"}, Repository: "web-s3", Phase: corev1alpha1.RetentionPolicyFailedToApply}}
	f.c.t.backupFinished(done)
	f.c.t.restoreFinished(restore("r", "web-s3", corev1alpha1.RestoreSucceeded, "1m"))

	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range families {
		switch mf.GetType().String() {
		case "HISTOGRAM":
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		case "SUMMARY":
			names[mf.GetName()+"_sum"], names[mf.GetName()+"_count"] = true, true
		}
		names[mf.GetName()] = true
	}
	ch := make(chan *prometheus.Desc, 64)
	go func() { f.c.Describe(ch); close(ch) }()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m == nil || !names[m[1]] {
			t.Errorf("described metric %s has no series in the test scenario: extend it", d)
		}
	}
	return names
}

// TestMonitoringUsesOnlyExportedMetrics keeps the dashboard and the alerts in
// step with the operator: every metric name a query or alert selects must be
// one the operator's registry really exports.
func TestMonitoringUsesOnlyExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	_, rules := readPrometheusRule(t)
	var exprs []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	if len(exprs) < 3 {
		t.Fatalf("only %d rules in prometheusrule.yaml", len(exprs))
	}
	queries := dashboardQueries(t)
	used := map[string]bool{}
	for _, e := range append(exprs, queries...) {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("query selects no metric: %s", e)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("%q is not a metric the operator exports (query: %s)", n, e)
			}
		}
	}
	// What the dashboard must show, at least.
	for _, n := range []string{BackupSessionsCompleted, BackupLastSuccess, BackupLastDuration, BackupSessionDuration + "_bucket",
		BackupLastUploadedBytes, BackupUploadedBytes, RepositorySize, RestoreSessions} {
		if !used[n] {
			t.Errorf("the dashboard and alerts do not use %s", n)
		}
	}
}

// TestMonitoringDocsNameEveryMetric keeps docs/monitoring.md's list complete.
func TestMonitoringDocsNameEveryMetric(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range exportedNames(t) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if strings.HasPrefix(name, "cairn_") && !strings.HasPrefix(name, "cairn_controller_") && !strings.Contains(string(doc), "`"+base+"`") {
			t.Errorf("docs/monitoring.md does not describe `%s`", base)
		}
	}
}

// TestServiceMonitorSelectsTheMetricsService: the ServiceMonitor's selector,
// namespace and port match deploy/operator/service.yaml.
func TestServiceMonitorSelectsTheMetricsService(t *testing.T) {
	var svc struct {
		Metadata struct {
			Namespace string            `json:"namespace"`
			Labels    map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Ports []struct {
				Name string `json:"name"`
			} `json:"ports"`
		} `json:"spec"`
	}
	var sm struct {
		Kind string `json:"kind"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			NamespaceSelector struct {
				MatchNames []string `json:"matchNames"`
			} `json:"namespaceSelector"`
			Endpoints []struct {
				Port        string `json:"port"`
				HonorLabels bool   `json:"honorLabels"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	for path, into := range map[string]any{
		filepath.Join("..", "..", "..", "deploy", "operator", "service.yaml"): &svc,
		filepath.Join(monitoringDir, "servicemonitor.yaml"):                   &sm,
	} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, into); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if sm.Kind != "ServiceMonitor" || len(sm.Spec.Selector.MatchLabels) == 0 || len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("servicemonitor.yaml: %+v", sm)
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s; the Service has %v", k, v, svc.Metadata.Labels)
		}
	}
	if !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, svc.Metadata.Namespace) {
		t.Errorf("the ServiceMonitor looks in %v, the Service is in %s", sm.Spec.NamespaceSelector.MatchNames, svc.Metadata.Namespace)
	}
	ep := sm.Spec.Endpoints[0]
	if !slices.ContainsFunc(svc.Spec.Ports, func(p struct {
		Name string `json:"name"`
	}) bool {
		return p.Name == ep.Port
	}) {
		t.Errorf("the ServiceMonitor scrapes port %q, which the Service does not name", ep.Port)
	}
	if !ep.HonorLabels {
		t.Error("without honorLabels the metrics' namespace label becomes exported_namespace and the alerts' matching breaks")
	}
}

// TestAlertsWithPromtool checks the PrometheusRule's spec and the dashboard's
// queries with promtool and runs the alerts' unit tests. promtool comes from
// Debian's prometheus package (`make test-monitoring` installs it); without
// it the test skips, unless CAIRN_REQUIRE_TOOLS=1.
func TestAlertsWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CAIRN_REQUIRE_TOOLS") == "1" {
			t.Fatal("promtool is missing: run make test-monitoring, which installs Debian's prometheus package")
		}
		t.Skip("promtool is missing (make test-monitoring installs it)")
	}
	dir := t.TempDir()
	spec, _ := readPrometheusRule(t)
	write := func(name string, v any) {
		body, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rules.yaml", spec)
	tests, err := os.ReadFile(filepath.Join(monitoringDir, "tests", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yaml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	// The dashboard's queries as recording rules: promtool parses each one.
	// Grafana's variables become what Grafana substitutes: a regexp, a range.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "5m", "$__range", "1d", "$namespace", ".*", "$config", ".*")
	var recs []map[string]string
	for i, q := range dashboardQueries(t) {
		recs = append(recs, map[string]string{"record": fmt.Sprintf("dashboard:query_%d", i), "expr": vars.Replace(q)})
	}
	write("dashboard.yaml", map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": recs}}})

	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"check", "rules", "dashboard.yaml"}, {"test", "rules", "alerts.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		} else {
			t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
		}
	}
}

// TestMonitoringKustomizationBuilds renders deploy/monitoring with the
// cluster's pinned kubectl (`make tools` builds it; skipped without it
// unless CAIRN_REQUIRE_TOOLS=1): a ServiceMonitor, a PrometheusRule and the
// dashboard's ConfigMap, all in cairn-system, the ConfigMap holding
// dashboard.json as it is and labelled for Grafana's sidecar.
func TestMonitoringKustomizationBuilds(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	opts, err := os.ReadFile(filepath.Join(root, "test", "cluster", "options.go"))
	if err != nil {
		t.Fatal(err)
	}
	version := regexp.MustCompile(`(?m)^const KubeVersion = "(.*)"$`).FindSubmatch(opts)
	cache := os.Getenv("CAIRN_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "cairn")
	}
	if version == nil {
		t.Fatal("test/cluster/options.go has no KubeVersion")
	}
	kubectl := filepath.Join(cache, "bin", "kubectl-"+string(version[1]))
	if _, err := os.Stat(kubectl); err != nil {
		if os.Getenv("CAIRN_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is missing: run make tools", kubectl)
		}
		t.Skipf("%s is missing (make tools builds it)", kubectl)
	}
	out, err := exec.Command(kubectl, "kustomize", monitoringDir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/monitoring: %v", err)
	}
	dashboard, err := os.ReadFile(filepath.Join(monitoringDir, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string            `json:"namespace"`
				Labels    map[string]string `json:"labels"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		kinds[obj.Kind] = true
		if obj.Metadata.Namespace != "cairn-system" {
			t.Errorf("%s in namespace %q, want cairn-system", obj.Kind, obj.Metadata.Namespace)
		}
		if obj.Kind == "ConfigMap" && (obj.Data["cairn.json"] != string(dashboard) || obj.Metadata.Labels["grafana_dashboard"] != "1") {
			t.Errorf("the dashboard ConfigMap does not hold dashboard.json with label grafana_dashboard=1: labels %v", obj.Metadata.Labels)
		}
	}
	for _, k := range []string{"ServiceMonitor", "PrometheusRule", "ConfigMap"} {
		if !kinds[k] {
			t.Errorf("kubectl kustomize deploy/monitoring made no %s (kinds %v)", k, kinds)
		}
	}
}
