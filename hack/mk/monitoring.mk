# Monitoring (engineer area: observability): deploy/monitoring's alerts,
# their unit tests and the Grafana dashboard, checked against the metrics the
# operator exports (pkg/metrics/cairnmetrics).

# promtool comes from Debian's prometheus package. On a machine run by
# systemd, installing it also starts a Prometheus server on :9090 (the
# package's service); `systemctl disable --now prometheus` stops it.
PROMTOOL_DEB_PKG := prometheus

.PHONY: tools-promtool test-monitoring

## tools-promtool: apt-get install Debian's prometheus package (for promtool) when promtool is missing
tools-promtool:
	@command -v promtool >/dev/null || { echo ">> installing $(PROMTOOL_DEB_PKG) (for promtool)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PROMTOOL_DEB_PKG); }

## test-monitoring: `promtool check rules` and `promtool test rules` on deploy/monitoring's alerts, the dashboard's queries parsed by promtool, every metric they name exported by the operator, and `kubectl kustomize deploy/monitoring`
test-monitoring: tools-promtool tools-k8s
	CAIRN_REQUIRE_TOOLS=1 $(GO) test -count=1 -run 'Monitoring|ServiceMonitor|Promtool|MetricNames' ./pkg/metrics/cairnmetrics/
