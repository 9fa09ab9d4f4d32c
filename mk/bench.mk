# Benchmarks (bench/): the figures of DESIGN.md "Where it must get to", measured on the
# real local stack (kube-apiserver + etcd, the MongoDB-protocol server). Each prints a
# table and writes bench/results/<name>.json; none asserts a timing. See bench/README.md.
BENCHES := failover lateness arming propagation api burst

.PHONY: bench bench-summary bench-memory $(addprefix bench-,$(BENCHES))

bench: node_modules/.stamp ## run every benchmark (about 13 min on 2 cores), then the targets table
	@start=$$(date +%s); \
	for b in $(BENCHES); do echo; echo "===== node bench/$$b.ts"; node bench/$$b.ts; done; \
	echo; node bench/summary.ts --elapsed=$$(( $$(date +%s) - start ))

bench-summary: ## DESIGN targets vs the latest bench/results/*.json
	@node bench/summary.ts

bench-failover: node_modules/.stamp ## 3 replicas, 10 SIGTERM + 10 SIGKILL failovers (ARGS=--n=…)
	node bench/failover.ts $(ARGS)

bench-lateness: node_modules/.stamp ## fire lateness at 1k/10k/100k armed schedules (ARGS=--sizes=…)
	node bench/lateness.ts $(ARGS)

bench-arming: node_modules/.stamp ## time and RSS to arm 10k/100k schedules on becoming leader
	node bench/arming.ts $(ARGS)

bench-propagation: node_modules/.stamp ## POST → armed on the leader, p50/p99
	node bench/propagation.ts $(ARGS)

bench-memory: node_modules/.stamp ## RSS, heap and a heap-snapshot summary of a replica, idle and leading 0/1k/10k (~5 min; not in `make bench`)
	node bench/memory.ts $(ARGS)

bench-api: node_modules/.stamp ## autocannon against one replica: reads and creates per second
	node bench/api.ts $(ARGS)

bench-burst: node_modules/.stamp ## 1k and 10k schedules due at the same instant, per-fire vs batched (ARGS=--large adds 50k)
	node bench/burst.ts $(ARGS)
