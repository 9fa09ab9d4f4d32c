# Demo targets: they talk to the API at BASE_URL through the `leasecron` CLI (bin/leasecron.mjs,
# docs/cli.md), so they work the same against `make local-up` (processes) and `make up` (kind,
# NodePort on localhost:8080), print tables, and take schedule names (NAME=…) or ids (ID=…).
BASE_URL ?= http://127.0.0.1:8080
export BASE_URL
CLI := node bin/leasecron.mjs
# The local-up state folder (scripts/local.ts reads the same variable).
LEASECRON_LOCAL_DIR ?= .local/local
export LEASECRON_LOCAL_DIR
LOCAL_STATE := $(LEASECRON_LOCAL_DIR)/state.json
# The bearer token the demo targets send: API_TOKEN if set, else the one `make local-up` generated
# while it runs, else the ServiceAccount token `make up` created for the kind cluster. Handed to
# the CLI in its environment (LEASECRON_TOKEN), never on its command line, where `ps` shows it;
# read with $(file), not $(shell cat): no shell at parse time, so a BASH_ENV rc file under bash -u
# cannot break every target.
API_TOKEN_FILE ?= $(if $(wildcard $(LOCAL_STATE)),$(LEASECRON_LOCAL_DIR)/api-token,.local/kind/api-token)
export API_TOKEN_FILE
export LEASECRON_SERVER := $(BASE_URL)
export LEASECRON_TOKEN := $(or $(API_TOKEN),$(strip $(if $(wildcard $(API_TOKEN_FILE)),$(file <$(API_TOKEN_FILE)))))
# Schedule names are looked up in LEASECRON_NAMESPACE (the CLI's default: `default`, where the
# demo payloads are created). OUTPUT=json|yaml|wide: the listing targets' format (default a table).
OUT = $(if $(OUTPUT),-o $(OUTPUT))

.PHONY: apply-schedule get-crs local-up local-down local-reset local-status create-schedule get-schedules get-schedule update-schedule delete-schedule pause resume trigger runs leader failover failover-kill logs

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
create-schedule: ## create a schedule (PAYLOAD=payloads/create_schedule.json) and list the schedules
	@$(CLI) schedules create -f $(PAYLOAD)
	@$(CLI) schedules list

get-schedules: ## list the schedules of every namespace (OUTPUT=json|yaml|wide)
	@$(CLI) schedules list -A $(OUT)

# A schedule is named by NAME=<name> (in LEASECRON_NAMESPACE) or ID=<id>.
REF = $(or $(NAME),$(ID))
require-ref = @test -n "$(REF)" || { echo "usage: make $@ NAME=<schedule name>  (or ID=<id>; names: make get-schedules)"; exit 2; }

get-schedule: ## show one schedule as YAML (NAME=… or ID=…)
	$(require-ref)
	@$(CLI) schedules get $(REF) -o yaml

UPDATE_PAYLOAD ?= payloads/update_schedule.json
update-schedule: ## replace the schedule of the payload's name (UPDATE_PAYLOAD=payloads/update_schedule.json)
	@$(CLI) schedules apply -f $(UPDATE_PAYLOAD)
	@$(CLI) schedules list

delete-schedule: ## delete a schedule (NAME=… or ID=…)
	$(require-ref)
	@$(CLI) schedules delete $(REF)

pause: ## pause a schedule (NAME=… or ID=…)
	$(require-ref)
	@$(CLI) schedules pause $(REF)

resume: ## resume a schedule (NAME=… or ID=…)
	$(require-ref)
	@$(CLI) schedules resume $(REF)

trigger: ## run a schedule once now, on the leader (NAME=… or ID=…)
	$(require-ref)
	@$(CLI) schedules trigger $(REF)

runs: ## a schedule's last 10 runs, newest first (NAME=… or ID=…; WATCH=1 keeps printing new ones; OUTPUT=…)
	$(require-ref)
	@$(CLI) runs $(REF) --limit 10 $(if $(WATCH),--watch) $(OUT)

leader: ## who holds the Lease (asked through the API at BASE_URL)
	@$(CLI) cluster -o wide
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
