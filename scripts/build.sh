#!/usr/bin/env bash
# Configures and builds stamp in build/ (or $STAMP_BUILD_DIR). Extra arguments
# go to the CMake configure step, e.g. -DSTAMP_SANITIZE=ON.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${STAMP_BUILD_DIR:-$repo/build}"
cmake -S "$repo" -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
