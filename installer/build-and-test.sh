#!/usr/bin/env bash
# Installs the Debian packages, configures, builds and runs the whole CTest suite (all labels).
# Usage: bash installer/build-and-test.sh [--sanitize] [extra ctest args, e.g. -L unit]
#   --sanitize  AddressSanitizer (+ LeakSanitizer) and UndefinedBehaviorSanitizer build (gcc, -O1 -g) in its own
#               folder, <build>-sanitize, running the unit, parity, smoke and ui labels; any sanitizer report fails
#               the test that caused it. Findings inside the uninstrumented Debian libraries (libtorch, Qt,
#               OpenBLAS, ...) are suppressed by installer/sanitize/*.supp, each entry with its reason.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${UHDLENS_BUILD_DIR:-$root/build}"
jobs="${UHDLENS_JOBS:-$(nproc)}"
# ccache keys on paths relative to the checkout, so clones and worktrees share cached objects.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"

sanitize=0
ctest_args=()
for a in "$@"; do
  if [ "$a" = --sanitize ]; then sanitize=1; else ctest_args+=("$a"); fi
done

bash "$root/installer/install-deps.sh"
if [ "$sanitize" = 0 ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j "$jobs"
  cd "$build"
  QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j "$jobs" ${ctest_args[@]+"${ctest_args[@]}"}
  exit 0
fi

build="$build-sanitize"
# -O1 -g: the usual sanitizer trade-off between build time, run time and readable reports; NDEBUG as in the
# Release build, so the code paths that ship are the ones checked.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUHDLENS_SANITIZE=ON \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g -DNDEBUG"
cmake --build "$build" -j "$jobs"
cd "$build"
# The sanitizer options and suppression files (installer/sanitize/) are compiled into every executable
# (installer/sanitize/defaults.cpp.in); ASAN_OPTIONS, LSAN_OPTIONS, UBSAN_OPTIONS from the environment override them.
QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j "$jobs" -L '^(unit|parity|smoke|ui)$' \
  ${ctest_args[@]+"${ctest_args[@]}"}
