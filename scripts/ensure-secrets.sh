#!/usr/bin/env bash
# Creates the Secrets deploy/ needs, with random values, unless they exist (make up runs it before
# applying the overlay; run it yourself before `kubectl apply -k deploy/`):
#   mongodb-auth  keyfile (replica-set members), admin-password (MongoDB user `admin`, root)
#   leasecron     MONGODB_USERNAME / MONGODB_PASSWORD (MongoDB user `leasecron`; the leasecron
#                 pods read every key of this Secret as environment variables)
# Existing Secrets are left alone, so passwords survive a re-run.
#   usage: scripts/ensure-secrets.sh NAMESPACE [kubectl command with flags…]
set -euo pipefail
ns="${1:?usage: ensure-secrets.sh NAMESPACE [kubectl…]}"
shift
kubectl=("${@:-kubectl}")
[ ${#kubectl[@]} -gt 0 ] || kubectl=(kubectl)

random_hex() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

"${kubectl[@]}" get namespace "$ns" >/dev/null 2>&1 || "${kubectl[@]}" create namespace "$ns"
if ! "${kubectl[@]}" -n "$ns" get secret mongodb-auth >/dev/null 2>&1; then
  # A keyfile is 6 to 1024 base64 characters.
  "${kubectl[@]}" -n "$ns" create secret generic mongodb-auth \
    --from-literal=keyfile="$(head -c 512 /dev/urandom | base64 | tr -d '\n')" \
    --from-literal=admin-password="$(random_hex)"
  echo "created Secret $ns/mongodb-auth"
fi
if ! "${kubectl[@]}" -n "$ns" get secret leasecron >/dev/null 2>&1; then
  "${kubectl[@]}" -n "$ns" create secret generic leasecron \
    --from-literal=MONGODB_USERNAME=leasecron \
    --from-literal=MONGODB_PASSWORD="$(random_hex)"
  echo "created Secret $ns/leasecron"
fi
