#!/usr/bin/env bash
# Provisions the real test stack (kube-apiserver + etcd, and a MongoDB-protocol
# server when none is given) into a cache folder outside git, Debian's libfaketime, the helm
# binary that test/deploy/helm.int.test.ts lints and renders the chart with, promtool (the
# alert rules' checks, test/monitoring/) and Debian's chromium (the console's browser test).
# Builds once; later runs find the stamp files and return at once.
#
#   LEASECRON_CACHE     cache folder (default: $HOME/.cache/leasecron)
#   KUBEBUILDER_ASSETS  folder with kube-apiserver and etcd: used as is, nothing built
#   MONGODB_URI         a real replica set: no MongoDB server is provisioned
#   LEASECRON_HELM      a helm binary (v3 or v4): used as is, nothing built
#   LEASECRON_CHROMIUM  a Chromium binary for the console's browser test: used as is
set -euo pipefail

K8S_VERSION="${LEASECRON_K8S_VERSION:-v1.37.2}"
SECANTUS_VERSION="0.7.0b3"
# schemathesis (PyPI), for `make fuzz` only: not part of `all`.
SCHEMATHESIS_VERSION="4.32.5"
HELM_VERSION="${LEASECRON_HELM_VERSION:-v3.22.0}"
# Prometheus v3.16.0: its Go module is tagged v0.316.0.
PROMTOOL_MODULE_VERSION="${LEASECRON_PROMTOOL_VERSION:-v0.316.0}"
CACHE="${LEASECRON_CACHE:-$HOME/.cache/leasecron}"
mkdir -p "$CACHE"

log() { printf '[provision] %s\n' "$*" >&2; }
die() { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }

provision_kube() {
  if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
    for b in kube-apiserver etcd; do
      [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable '$b'; unset it to build from source"
    done
    log "kube: using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    echo "KUBE_BIN_DIR=$KUBEBUILDER_ASSETS"
    return
  fi
  local out="$CACHE/kube-$K8S_VERSION"
  if [[ -x "$out/bin/kube-apiserver" && -x "$out/bin/etcd" && -f "$out/.done" ]]; then
    log "kube: cached in $out"
    echo "KUBE_BIN_DIR=$out/bin"
    return
  fi
  command -v go >/dev/null || die "Go is needed to build kube-apiserver and etcd (none cached in $out). Install Go >= 1.26, or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd."
  local started=$SECONDS
  local wrap="$out/src"
  mkdir -p "$wrap" "$out/bin"
  log "kube: building kube-apiserver + etcd $K8S_VERSION with $(go version | cut -d' ' -f3) (first time only; ~4-5 min on 2 cores)"
  # k8s.io/kubernetes cannot be `go install`ed: its go.mod pins every staging repo
  # as v0.0.0 and `replace`s it to ./staging. A wrapper module requires it and
  # replaces each such k8s.io/* module by its published v0.<minor>.<patch>.
  local modfile
  modfile="$(cd "$wrap" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [[ -f "$modfile" ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy ($(go env GOPROXY))"
  local staging="v0.${K8S_VERSION#v1.}"
  local etcd_version
  etcd_version="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2}' "$modfile")"
  [[ -n "$etcd_version" ]] || die "k8s.io/kubernetes@$K8S_VERSION go.mod names no go.etcd.io/etcd/server/v3"
  {
    echo "module leasecron.local/teststack"
    echo
    echo "go $(awk '$1=="go"{print $2; exit}' "$modfile")"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $K8S_VERSION"
    echo "	go.etcd.io/etcd/server/v3 $etcd_version"
    echo ")"
    echo
    echo "replace ("
    awk '/^require/{r=1} r && $1 ~ /^k8s\.io\// && $2=="v0.0.0"{print $1}' "$modfile" | sort -u |
      while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging"; done
    echo ")"
  } >"$wrap/go.mod"
  cat >"$wrap/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
GO
  (
    cd "$wrap"
    export GOFLAGS=-mod=mod
    go mod tidy -e >/dev/null 2>"$out/tidy.log" || { cat "$out/tidy.log" >&2; die "go mod tidy failed (see $out/tidy.log)"; }
    local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
    go build -trimpath -ldflags "$ldflags" -o "$out/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
    go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
  ) || die "building kube-apiserver/etcd failed; see the output above"
  echo "$K8S_VERSION etcd $etcd_version" >"$out/.done"
  log "kube: built in $((SECONDS - started)) s -> $out/bin"
  echo "KUBE_BIN_DIR=$out/bin"
}

provision_mongo() {
  if [[ -n "${MONGODB_URI:-}" ]]; then log "mongo: using MONGODB_URI"; return; fi
  if command -v mongod >/dev/null; then log "mongo: using $(command -v mongod)"; return; fi
  local venv="$CACHE/secantus-$SECANTUS_VERSION"
  if [[ -x "$venv/bin/python" && -f "$venv/.done" ]]; then log "mongo: SecantusDB cached in $venv"; echo "SECANTUS_VENV=$venv"; return; fi
  command -v python3 >/dev/null || die "python3 (>= 3.11) is needed for SecantusDB; or set MONGODB_URI, or put mongod on PATH"
  log "mongo: installing SecantusDB $SECANTUS_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "secantusdb==$SECANTUS_VERSION" || die "pip install secantusdb==$SECANTUS_VERSION failed"
  touch "$venv/.done"
  echo "SECANTUS_VENV=$venv"
}

# schemathesis fuzzes the OpenAPI document against a replica (`make fuzz`, scripts/fuzz.ts): a
# virtualenv in the cache, pinned like SecantusDB's.
provision_schemathesis() {
  local venv="$CACHE/schemathesis-$SCHEMATHESIS_VERSION"
  if [[ -x "$venv/bin/st" && -f "$venv/.done" ]]; then log "fuzz: schemathesis cached in $venv"; echo "SCHEMATHESIS=$venv/bin/st"; return; fi
  command -v python3 >/dev/null || die "python3 (>= 3.10) is needed for schemathesis"
  log "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
    die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
  touch "$venv/.done"
  echo "SCHEMATHESIS=$venv/bin/st"
}

# libfaketime moves the test database's clock a year ahead for the suite's date check
# (stack/mongo.ts): Debian's package, installed once like any other tool of the stack.
provision_faketime() {
  local lib
  for lib in /usr/lib/*-linux-gnu/faketime/libfaketime.so.1 /usr/local/lib/faketime/libfaketime.so.1; do
    if [[ -f "$lib" ]]; then log "faketime: $lib"; return; fi
  done
  command -v apt-get >/dev/null || die "libfaketime is needed for the date check and there is no apt-get here; install libfaketime (or set LEASECRON_FAKETIME_LIB)"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  log "faketime: installing Debian's libfaketime"
  { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfaketime; } >&2 ||
    die "apt-get install libfaketime failed"
}

# Chromium drives the console's browser test (test/console/, with playwright-core pointed at this
# binary: nothing is downloaded when the tests run). Debian's package, installed once; a machine
# without apt-get is told so and the browser test says it skipped, loudly.
provision_chromium() {
  local bin
  for bin in "${LEASECRON_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [[ -n "$bin" && -x "$bin" ]]; then log "chromium: $bin"; return; fi
  done
  if ! command -v apt-get >/dev/null; then
    log "chromium: not installed and no apt-get here; the console's browser test will skip (set LEASECRON_CHROMIUM)"
    return
  fi
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  log "chromium: installing Debian's chromium"
  { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 ||
    die "apt-get install chromium failed"
}

# helm from the Go module proxy (helm.sh/helm/v3 has no replace directives, so `go install
# module@version` builds it as released), with the version stamped in as helm's own release does.
provision_helm() {
  if [[ -n "${LEASECRON_HELM:-}" ]]; then
    [[ -x "$LEASECRON_HELM" ]] || die "LEASECRON_HELM=$LEASECRON_HELM is not an executable; unset it to build helm from source"
    log "helm: using LEASECRON_HELM=$LEASECRON_HELM"
    echo "HELM_BIN=$LEASECRON_HELM"
    return
  fi
  local out="$CACHE/helm-$HELM_VERSION"
  if [[ -x "$out/bin/helm" && -f "$out/.done" ]]; then
    log "helm: cached in $out"
    echo "HELM_BIN=$out/bin/helm"
    return
  fi
  command -v go >/dev/null || die "Go is needed to build helm (none cached in $out). Install Go >= 1.26, or set LEASECRON_HELM to a helm binary."
  local started=$SECONDS
  local major="${HELM_VERSION%%.*}"
  local module="helm.sh/helm/$major"
  rm -rf "$out"
  mkdir -p "$out/bin"
  log "helm: building helm $HELM_VERSION with $(go version | cut -d' ' -f3) (first time only; ~2-3 min on 2 cores)"
  # As helm's own Makefile: the Kubernetes version that `helm template` and `helm lint` assume
  # without a cluster is client-go's (v0.N → 1.N), else it would be 1.20 and refuse the chart's
  # kubeVersion.
  local modfile client_go kmajor kminor
  modfile="$(cd "$out" && go mod download -json "$module@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [[ -f "$modfile" ]] || die "could not download $module@$HELM_VERSION from the Go module proxy ($(go env GOPROXY))"
  client_go="$(awk '$1=="k8s.io/client-go"{print $2; exit}' "$modfile")"
  [[ "$client_go" =~ ^v0\.([0-9]+)\. ]] || die "$module@$HELM_VERSION go.mod names no k8s.io/client-go v0.N.x"
  kmajor=1 kminor="${BASH_REMATCH[1]}"
  local ldflags="-s -w -X $module/internal/version.version=$HELM_VERSION"
  local pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X $module/$pkg.k8sVersionMajor=$kmajor -X $module/$pkg.k8sVersionMinor=$kminor"
  done
  CGO_ENABLED=0 GOBIN="$out/bin" go install -trimpath -ldflags "$ldflags" "$module/cmd/helm@$HELM_VERSION" >&2 ||
    die "building helm $HELM_VERSION from the Go module proxy ($(go env GOPROXY)) failed; see the output above"
  "$out/bin/helm" version --short >&2 || die "the helm just built does not run"
  echo "$HELM_VERSION" >"$out/.done"
  log "helm: built in $((SECONDS - started)) s -> $out/bin/helm"
  echo "HELM_BIN=$out/bin/helm"
}

# promtool checks and unit-tests deploy/monitoring/'s alert rules: built from the Go module proxy
# (github.com/prometheus/prometheus/cmd/promtool) into the cache, once.
provision_promtool() {
  local out="$CACHE/promtool-$PROMTOOL_MODULE_VERSION"
  if [[ -x "$out/bin/promtool" && -f "$out/.done" ]]; then
    log "promtool: cached in $out"
    echo "PROMTOOL=$out/bin/promtool"
    return
  fi
  command -v go >/dev/null || die "Go is needed to build promtool (none cached in $out). Install Go >= 1.26."
  local started=$SECONDS
  # v0.MNN.P is Prometheus M.NN.P
  local tag="${PROMTOOL_MODULE_VERSION#v0.}" minor
  minor="${tag%%.*}"
  local release="${minor:0:1}.$((10#${minor:1})).${tag#*.}"
  mkdir -p "$out/bin"
  log "promtool: building github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_MODULE_VERSION (Prometheus $release) with $(go version | cut -d' ' -f3) (first time only; ~5-10 min)"
  GOBIN="$out/bin" GOFLAGS=-mod=mod go install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_MODULE_VERSION" ||
    die "building promtool failed; see the output above"
  echo "$PROMTOOL_MODULE_VERSION" >"$out/.done"
  log "promtool: built in $((SECONDS - started)) s -> $out/bin/promtool"
  echo "PROMTOOL=$out/bin/promtool"
}

case "${1:-all}" in
  kube) provision_kube ;;
  mongo) provision_mongo ;;
  faketime) provision_faketime ;;
  helm) provision_helm ;;
  promtool) provision_promtool ;;
  chromium) provision_chromium ;;
  schemathesis) provision_schemathesis ;;
  all) provision_mongo; provision_faketime; provision_chromium; provision_kube; provision_helm; provision_promtool ;;
  *) die "usage: $0 [all|kube|mongo|faketime|chromium|helm|promtool|schemathesis]" ;;
esac
