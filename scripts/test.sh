#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root) to the whole test suite:
# installs missing packages, builds, and runs every unit and integration test
# with ctest. `--sanitize` builds with AddressSanitizer + UBSan in build-asan/.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake_args=()
if [ "${1:-}" = "--sanitize" ]; then
  export STAMP_BUILD_DIR="${STAMP_BUILD_DIR:-$repo/build-asan}"
  cmake_args+=(-DSTAMP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
fi
bash "$repo/scripts/install-deps.sh"
bash "$repo/scripts/build.sh" "${cmake_args[@]}"
build="${STAMP_BUILD_DIR:-$repo/build}"
ctest --test-dir "$build" --output-on-failure --no-tests=error
