# The operator: its scale benchmark (engineer area: lead). Installing it is
# hack/mk/deploy.mk's job.

BENCH_OPERATOR_N ?= 1000

.PHONY: bench-operator

## bench-operator: BENCH_OPERATOR_N BackupConfigurations on the local cluster: time to all Ready, operator peak RSS, steady-state API writes (table in docs/operator-benchmark.md)
bench-operator: deploy
	$(GO) run ./hack/bench-operator -n $(BENCH_OPERATOR_N) -out $(CACHE)/operator-bench.md
