#!/usr/bin/env bash
# Makes the dev profile's DKIM keys (RSA-2048, mode 0600) when they are missing:
# DIR/stamp.test.pem for the operator and DIR/app.test.pem for the dev tenant's
# domain. DIR defaults to .dev/dkim in the checkout, where conf/dev points.
# Dev only: production keys come from `stampctl domain add`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$repo/.dev/dkim}"
mkdir -p "$dir"
chmod 0700 "$dir"
for domain in stamp.test app.test; do
  key="$dir/$domain.pem"
  [ -s "$key" ] && continue
  (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key.tmp" 2>/dev/null)
  mv "$key.tmp" "$key"
  echo "dev-keys: made $key" >&2
done
