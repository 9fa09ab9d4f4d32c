# Demo targets: they talk to the API at BASE_URL, so they work the same against
# `make local-up` (processes) and `make up` (kind, NodePort on localhost:8080).
BASE_URL ?= http://127.0.0.1:8080
export BASE_URL
API := node scripts/api.mjs
# The local-up state folder (scripts/local.ts reads the same variable).
LEASECRON_LOCAL_DIR ?= .local/local
export LEASECRON_LOCAL_DIR
LOCAL_STATE := $(LEASECRON_LOCAL_DIR)/state.json
# The bearer token the demo targets send (scripts/api.mjs): the one `make local-up` generated
# while it runs, else the ServiceAccount token `make up` created for the kind cluster.
API_TOKEN_FILE ?= $(if $(wildcard $(LOCAL_STATE)),$(LEASECRON_LOCAL_DIR)/api-token,.local/kind/api-token)
export API_TOKEN_FILE

.PHONY: apply-schedule get-crs local-up local-down local-reset local-status create-schedule get-schedules get-schedule update-schedule delete-schedule trigger runs leader failover failover-kill logs

local-up: node_modules/.stamp ## start the local stack and 3 replicas on 127.0.0.1:8080-8082 (no Docker); keeps the data of the last run
	@if $(MAKE) --no-print-directory -q dist/.stamp; then echo "build: dist/ is up to date with src/, not compiled"; else $(MAKE) --no-print-directory dist/.stamp; fi
	@node scripts/local.ts up

local-down: ## stop what local-up started (schedules, runs and Schedule objects are kept for the next local-up)
	@node scripts/local.ts down

local-reset: ## stop what local-up started, if running, and wipe its data (LEASECRON_LOCAL_DIR)
	@node scripts/local.ts reset

local-status: ## show the local replicas and their roles
	node scripts/local.ts status

PAYLOAD ?= payloads/create_schedule.json
create-schedule: ## POST a schedule (PAYLOAD=payloads/create_schedule.json)
	@$(API) POST /api/v1/schedules $(PAYLOAD)

get-schedules: ## list schedules
	@$(API) GET /api/v1/schedules

require-id = @test -n "$(ID)" || { echo "usage: make $@ ID=<schedule id>  (ids: make get-schedules)"; exit 2; }

get-schedule: ## show one schedule (ID=…)
	$(require-id)
	@$(API) GET /api/v1/schedules/$(ID)

UPDATE_PAYLOAD ?= payloads/update_schedule.json
update-schedule: ## replace a schedule (ID=…, UPDATE_PAYLOAD=payloads/update_schedule.json)
	$(require-id)
	@$(API) PUT /api/v1/schedules/$(ID) $(UPDATE_PAYLOAD)

delete-schedule: ## delete a schedule (ID=…)
	$(require-id)
	@$(API) DELETE /api/v1/schedules/$(ID)

trigger: ## run a schedule once now, on the leader (ID=…)
	$(require-id)
	@$(API) POST /api/v1/schedules/$(ID)/trigger

runs: ## a schedule's runs, newest first (ID=…)
	$(require-id)
	@$(API) GET '/api/v1/schedules/$(ID)/runs?limit=10'

leader: ## who holds the Lease (asked through the API at BASE_URL)
	@$(API) GET /api/v1/cluster
	@if [ -f $(LOCAL_STATE) ] && [ "$(BASE_URL)" = "http://127.0.0.1:8080" ]; then node scripts/local.ts status; fi

failover: ## make the leader go away (local: SIGTERM + restart; kind: delete the leader pod) and show the new one
	@if [ -f $(LOCAL_STATE) ]; then node scripts/local.ts failover; else $(MAKE) --no-print-directory k-failover; fi

failover-kill: ## local only: SIGKILL the leader (a crash) and show the new one
	node scripts/local.ts failover --kill

logs: ## recent logs of every replica
	@if [ -f $(LOCAL_STATE) ]; then tail -n 20 $(LEASECRON_LOCAL_DIR)/leasecron-*.log; else $(MAKE) --no-print-directory k-logs; fi

# Schedule objects (the CRD, deploy/crd/): applied and listed by scripts/kube.mjs, which makes the
# REST calls kubectl would (server-side apply; the server's printer-column table), so kubectl is not
# needed. They go to `make local-up`'s API server while it runs, else to KUBE_CONTEXT (mk/kind.mk:
# the kind cluster of `make up`; KUBE_CONTEXT= for the current context of $$KUBECONFIG). NS defaults
# to leasecron's own namespace, the one its controller watches unless JOB_NAMESPACES says otherwise
# (in both `make local-up` and deploy/).
KUBE_SCRIPT = node scripts/kube.mjs $(if $(wildcard $(LOCAL_STATE)),--local-state $(LOCAL_STATE),$(if $(KUBE_CONTEXT),--context $(KUBE_CONTEXT)))
NS ?= $(NAMESPACE)
FILE ?= payloads/schedule-every-minute.yaml

apply-schedule: ## server-side apply a Schedule object (FILE=payloads/schedule-every-minute.yaml, NS=leasecron)
	@$(KUBE_SCRIPT) apply -f $(FILE) -n $(NS)

get-crs: ## list the Schedule objects in NS, as `kubectl get lcs` would
	@$(KUBE_SCRIPT) get-schedules -n $(NS)
