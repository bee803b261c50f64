#!/usr/bin/env bash
# Installs the Debian packages, configures, builds and runs the whole CTest suite (all labels).
# Usage: bash installer/build-and-test.sh [extra ctest args, e.g. -L unit]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${UHDLENS_BUILD_DIR:-$root/build}"
jobs="${UHDLENS_JOBS:-$(nproc)}"
# ccache keys on paths relative to the checkout, so clones and worktrees share cached objects.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"

bash "$root/installer/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$jobs"
cd "$build"
QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j "$jobs" "$@"
