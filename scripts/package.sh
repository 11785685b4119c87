#!/usr/bin/env bash
# Builds the .deb and the .rpm from this checkout (installing missing Debian
# packages first, as root): build/packages/stamp_VERSION_amd64.deb and
# build/packages/stamp-VERSION-1.x86_64.rpm. Then checks the .deb with lintian.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/scripts/install-deps.sh"
bash "$repo/scripts/build.sh"
build="${STAMP_BUILD_DIR:-$repo/build}"
rm -rf "$build/packages"
(cd "$build" && cpack -G "DEB;RPM" -B "$build/packages" >/dev/null)
rm -rf "$build/packages/_CPack_Packages"
lintian --fail-on error "$build"/packages/*.deb || {
  echo "package.sh: lintian found errors in the .deb" >&2
  exit 1
}
ls -1 "$build"/packages/*.deb "$build"/packages/*.rpm
