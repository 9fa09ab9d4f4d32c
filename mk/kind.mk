# Cluster targets: a kind cluster made from kind-config.yaml, the image built and loaded into it,
# deploy/overlays/kind applied. Included by the Makefile (SHELL is bash with -eu -o pipefail).
#
# kubectl calls go to the context KUBE_CONTEXT (default: the kind cluster's), never silently to
# whatever context is current. For another cluster: `make k-leader KUBE_CONTEXT=my-context`, or
# `KUBE_CONTEXT=` for the current context.

KUBECTL ?= kubectl
KIND ?= kind
DOCKER ?= docker
NAMESPACE ?= leasecron
KIND_CLUSTER ?= leasecron
KUBE_CONTEXT ?= kind-$(KIND_CLUSTER)
IMAGE ?= leasecron:dev
KIND_OVERLAY ?= deploy/overlays/kind
LEASE_NAME ?= leasecron-leader
LEADER_LABEL ?= leasecron.io/role
APP_SELECTOR ?= app.kubernetes.io/name=leasecron
ROLLOUT_TIMEOUT ?= 300s
FAILOVER_TIMEOUT ?= 30
TAIL ?= 50

# The image's OCI labels (Dockerfile): version from package.json, the commit, the build time.
IMAGE_VERSION = $(shell node -p "require('./package.json').version")
IMAGE_REVISION = $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
IMAGE_CREATED = $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
DOCKER_BUILD = $(DOCKER) build --build-arg VERSION=$(IMAGE_VERSION) --build-arg REVISION=$(IMAGE_REVISION) \
  --build-arg CREATED=$(IMAGE_CREATED) -t $(IMAGE) .

KUBECTL_CTX = $(KUBECTL)$(if $(KUBE_CONTEXT), --context $(KUBE_CONTEXT))
KUBECTL_NS = $(KUBECTL_CTX) -n $(NAMESPACE)

# $(call need-tools,a b c): stop with one clear line naming whatever is missing. Only the first
# word of each tool variable is a program (KUBECTL may carry flags, e.g. "kubectl --kubeconfig …").
define need-tools
missing=""; for t in $(1); do command -v "$$t" >/dev/null 2>&1 || missing="$$missing $$t"; done; \
if [ -n "$$missing" ]; then \
  echo "error: make $@ needs$$missing on PATH (cluster targets use Docker, kind and kubectl; without Docker: make local-up)" >&2; \
  exit 1; \
fi
endef

# Stop with a clear message unless the namespace exists in the target cluster.
define need-namespace
$(KUBECTL_NS) get namespace $(NAMESPACE) >/dev/null 2>&1 || { \
  echo "error: namespace $(NAMESPACE) not found via $(KUBECTL_CTX) (is the cluster up? try: make up)" >&2; exit 1; }
endef

# Shell snippet: the Lease's holder identity, empty when there is no holder.
LEASE_HOLDER = $(KUBECTL_NS) get lease $(LEASE_NAME) -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true

.PHONY: up down image k-logs k-leader k-failover

up: ## kind cluster from kind-config.yaml, image build + kind load, apply deploy/overlays/kind, wait until ready
	@$(call need-tools,$(firstword $(DOCKER)) $(firstword $(KIND)) $(firstword $(KUBECTL)))
	@$(DOCKER) info >/dev/null 2>&1 || { echo "error: '$(DOCKER) info' failed: is the Docker engine running?" >&2; exit 1; }
	@if $(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then \
	  echo "kind cluster $(KIND_CLUSTER) already exists"; \
	else \
	  $(KIND) create cluster --config kind-config.yaml --name $(KIND_CLUSTER) --wait 120s; \
	fi
	$(DOCKER_BUILD)
	$(KIND) load docker-image $(IMAGE) --name $(KIND_CLUSTER)
	bash scripts/ensure-secrets.sh $(NAMESPACE) $(KUBECTL) --context kind-$(KIND_CLUSTER)
	@existed=$$($(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) get deployment leasecron -o name 2>/dev/null || true); \
	$(KUBECTL) --context kind-$(KIND_CLUSTER) apply -k $(KIND_OVERLAY); \
	if [ -n "$$existed" ]; then \
	  echo "restarting leasecron to pick up the freshly loaded $(IMAGE)"; \
	  $(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) rollout restart deployment/leasecron; \
	fi
	$(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) rollout status statefulset/mongodb --timeout=$(ROLLOUT_TIMEOUT)
	@$(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) wait --for=condition=complete job/mongodb-rs-init --timeout=$(ROLLOUT_TIMEOUT) || { \
	  echo "error: the MongoDB replica set was not initiated; the Job's log:" >&2; \
	  $(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) logs job/mongodb-rs-init --tail=30 >&2 || true; exit 1; }
	$(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) rollout status deployment/leasecron --timeout=$(ROLLOUT_TIMEOUT)
	@SECONDS=0; until [ -n "$$($(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) get lease $(LEASE_NAME) -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)" ]; do \
	  if [ "$$SECONDS" -ge 60 ]; then echo "error: no replica holds the Lease after 60s; see: make logs" >&2; exit 1; fi; sleep 1; \
	done
	@$(MAKE) --no-print-directory k-leader KUBE_CONTEXT=kind-$(KIND_CLUSTER)
	@mkdir -p .local/kind && $(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) create token leasecron-demo --duration=24h > .local/kind/api-token
	@echo "leasecron is up: API on http://127.0.0.1:8080 (try: make create-schedule; the demo targets send the token of ServiceAccount $(NAMESPACE)/leasecron-demo from .local/kind/api-token)"

down: ## delete the kind cluster (and everything in it)
	@$(call need-tools,$(firstword $(KIND)))
	$(KIND) delete cluster --name $(KIND_CLUSTER)

image: ## build the container image (IMAGE, default leasecron:dev) with Docker
	@$(call need-tools,$(firstword $(DOCKER)))
	$(DOCKER_BUILD)

k-logs: ## cluster: last TAIL log lines of every leasecron pod (FOLLOW=1 to follow)
	@$(call need-tools,$(firstword $(KUBECTL)))
	@$(call need-namespace)
	$(KUBECTL_NS) logs -l $(APP_SELECTOR) --prefix --tail=$(TAIL) --max-log-requests=10 $(if $(FOLLOW),--follow)

k-leader: ## cluster: who holds the Lease, and every leasecron pod with its role label
	@$(call need-tools,$(firstword $(KUBECTL)))
	@$(call need-namespace)
	@$(KUBECTL_NS) get lease $(LEASE_NAME) >/dev/null 2>&1 || { \
	  echo "error: no Lease $(NAMESPACE)/$(LEASE_NAME) yet: is leasecron running? ($(KUBECTL_NS) get pods)" >&2; exit 1; }
	@$(KUBECTL_NS) get lease $(LEASE_NAME) \
	  -o jsonpath='Lease {.metadata.namespace}/{.metadata.name}: holder={.spec.holderIdentity} transitions={.spec.leaseTransitions} acquired={.spec.acquireTime} renewed={.spec.renewTime}{"\n"}'
	@$(KUBECTL_NS) get pods -l $(APP_SELECTOR) -L $(LEADER_LABEL) -o wide

k-failover: ## cluster: delete the leader pod, wait for another replica to hold the Lease, show it
	@$(call need-tools,$(firstword $(KUBECTL)))
	@$(call need-namespace)
	@old=$$($(LEASE_HOLDER)); \
	labelled=$$($(KUBECTL_NS) get pods -l $(LEADER_LABEL)=leader -o jsonpath='{.items[*].metadata.name}'); \
	pod=""; \
	for p in $$labelled; do if [ "$$p" = "$$old" ]; then pod="$$p"; fi; done; \
	if [ -z "$$pod" ]; then \
	  if [ -n "$$old" ]; then \
	    pod="$$old"; echo "note: pod $$old holds the Lease but is not labelled $(LEADER_LABEL)=leader (labelled: $${labelled:-none})"; \
	  elif [ -n "$$labelled" ]; then \
	    pod="$${labelled%% *}"; echo "note: the Lease has no holder; using the pod labelled leader"; \
	  else \
	    echo "error: no leader: the Lease $(NAMESPACE)/$(LEASE_NAME) has no holder and no pod is labelled $(LEADER_LABEL)=leader" >&2; exit 1; \
	  fi; \
	fi; \
	echo "deleting leader pod $$pod (Lease holder: $${old:-none})"; \
	$(KUBECTL_NS) delete pod "$$pod" --wait=false; \
	SECONDS=0; new=""; \
	while [ "$$SECONDS" -lt $(FAILOVER_TIMEOUT) ]; do \
	  new=$$($(LEASE_HOLDER)); \
	  if [ -n "$$new" ] && [ "$$new" != "$$pod" ]; then break; fi; \
	  new=""; sleep 0.2; \
	done; \
	if [ -z "$$new" ]; then echo "error: no other replica took the Lease within $(FAILOVER_TIMEOUT)s" >&2; exit 1; fi; \
	echo "new leader: $$new (within $$((SECONDS + 1))s of the delete)"
	@$(MAKE) --no-print-directory k-leader
