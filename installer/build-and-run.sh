#!/usr/bin/env bash
# Installs the Debian packages, builds UHD Lens and starts the app on the bundled samples and default model.
# Usage: bash installer/build-and-run.sh [image files...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${UHDLENS_BUILD_DIR:-$root/build}"
jobs="${UHDLENS_JOBS:-$(nproc)}"
# ccache keys on paths relative to the checkout, so clones and worktrees share cached objects.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"

bash "$root/installer/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$jobs" --target uhdlens
if [ $# -eq 0 ]; then
  set -- "$root"/resources/samples/*.png
fi
exec "$build/app/uhdlens" "$@"
