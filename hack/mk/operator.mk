# The operator: its scale benchmark (engineer area: lead). Installing it is
# hack/mk/deploy.mk's job.

BENCH_OPERATOR_N ?= 1000
BENCH_SESSIONS_N ?= 100
BENCH_SESSIONS_CONFIGS ?= 0

.PHONY: bench-operator bench-sessions

## bench-operator: BENCH_OPERATOR_N BackupConfigurations on the local cluster: time to all Ready, operator peak RSS, steady-state API writes (table in docs/operator-benchmark.md)
bench-operator: deploy
	$(GO) run ./hack/bench-operator -n $(BENCH_OPERATOR_N) -out $(CACHE)/operator-bench.md

## bench-sessions: BENCH_SESSIONS_N BackupSessions created at once (over BENCH_SESSIONS_CONFIGS configs, 0 = one each) on the local cluster: creation -> backup Job latency p50/p99, operator API writes per successful session (table in docs/operator-benchmark.md)
bench-sessions: deploy
	$(GO) run ./hack/bench-sessions -n $(BENCH_SESSIONS_N) -configs $(BENCH_SESSIONS_CONFIGS) -out $(CACHE)/sessions-bench.md
