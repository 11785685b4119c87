#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root) to a running stamp:
# installs missing packages, builds, and runs stamp-bounced and stamp-mta in the
# foreground with the dev profile (conf/dev/). Submission on 127.0.0.1:2587
# (STARTTLS + AUTH, user "dev", password "stamp-dev-password"); outgoing mail is
# written to .dev/sandbox/ instead of leaving the machine; bounces are taken on
# 127.0.0.1:2525. Ctrl-C stops both cleanly.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/scripts/install-deps.sh"
bash "$repo/scripts/build.sh"
bash "$repo/scripts/dev-keys.sh"
build="${STAMP_BUILD_DIR:-$repo/build}"
"$build/bounced/stamp-bounced" --config "$repo/conf/dev/stamp-bounced.yaml" &
bounced_pid=$!
trap 'kill -TERM "$bounced_pid" 2>/dev/null || true; wait "$bounced_pid" 2>/dev/null || true' EXIT
"$build/mta/stamp-mta" --config "$repo/conf/dev/stamp-mta.yaml"
