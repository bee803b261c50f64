#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/targets.cmake) with clang, AddressSanitizer and UndefinedBehaviorSanitizer
# in their own build folder, then runs each for SECONDS (default 60) on a temporary copy of its committed seeds and
# reproducers (tests/fuzz/<target>/corpus, regressions), so the repository is never modified. Fails on any crash,
# sanitizer report, leak, timeout (> 10 s for one input) or out-of-memory; the input that did it is kept under
# <build>/fuzz-findings/<target>/ with the command that replays it.
#
# Usage: bash installer/fuzz.sh [SECONDS] [TARGET...]
#   UHDLENS_FUZZ_BUILD_DIR  build folder (default <repo>/build-fuzz)
#   UHDLENS_JOBS            parallel compile jobs (default: nproc)
#   UHDLENS_FUZZ_KEEP=1     keep the grown corpus (printed path) instead of deleting it
# Needs Debian's clang and libclang-rt-14-dev (installer/install-deps.sh installs them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
build="${UHDLENS_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${UHDLENS_JOBS:-$(nproc)}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: SECONDS must be a positive integer (got '$seconds')" >&2
  exit 2
fi
if ! command -v clang++ >/dev/null || ! command -v clang >/dev/null; then
  echo "fuzz.sh: clang/clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DUHDLENS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target fuzz_targets

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < "$build/fuzz-targets.txt"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/uhdlens-fuzz.XXXXXX")"
# The model-folder and tokenizer targets write each input to files (tests/fuzz/entries/fuzz_support.cpp): on tmpfs
# they run ~5x faster than on disk. A target that crashes cannot clean up its scratch folder; this one goes at exit.
scratch_root="${TMPDIR:-/tmp}"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch_root=/dev/shm; fi
fuzz_tmp="$(mktemp -d "$scratch_root/uhdlens-fuzz-scratch.XXXXXX")"
if [ "${UHDLENS_FUZZ_KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$work" "$fuzz_tmp"' EXIT
else
  trap 'rm -rf "$fuzz_tmp"' EXIT
fi
# Qt's image readers warn on every damaged image; the warnings only slow the run down.
export QT_LOGGING_RULES='*=false'
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
printf '%-20s %12s %10s %8s  %s\n' target executions exec/s corpus result > "$work/summary.txt"
for t in "${targets[@]}"; do
  src="$root/tests/fuzz/$t"
  exe="$build/tests/fuzz/fuzz_$t"
  if [ ! -x "$exe" ] || [ ! -d "$src/corpus" ]; then
    echo "fuzz.sh: unknown target '$t' (no $exe or $src/corpus)" >&2
    failed+=("$t")
    continue
  fi
  mkdir -p "$work/$t/corpus" "$work/$t/findings"
  cp "$src/corpus/"* "$work/$t/corpus/"
  if [ -d "$src/regressions" ]; then cp "$src/regressions/"* "$work/$t/corpus/"; fi
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1
        -artifact_prefix="$work/$t/findings/")
  if [ -f "$src/dict" ]; then args+=(-dict="$src/dict"); fi
  echo "== fuzz_$t for ${seconds}s"
  rc=0
  (cd "$work/$t" && TMPDIR="$fuzz_tmp" "$exe" "${args[@]}" corpus > log.txt 2>&1) || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log.txt" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t/log.txt" | tail -1)
  size=$(find "$work/$t/corpus" -type f | wc -l)
  result=ok
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/$t/findings")" ]; then
    result=FAILED
    failed+=("$t")
    keep="$build/fuzz-findings/$t"
    mkdir -p "$keep"
    cp "$work/$t/findings/"* "$keep/" 2>/dev/null || true
    cp "$work/$t/log.txt" "$keep/log.txt"
    grep -E "ERROR|SUMMARY|runtime error|invariant|terminate|what\(\)" "$work/$t/log.txt" | head -20 >&2 || true
    echo "fuzz.sh: $t failed; inputs and log kept in $keep (replay: $exe $keep/<input>)" >&2
  fi
  printf '%-20s %12s %10s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$size" "$result" >> "$work/summary.txt"
done

echo
cat "$work/summary.txt"
if [ "${UHDLENS_FUZZ_KEEP:-0}" = 1 ]; then echo "grown corpora kept in $work"; fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no crash in ${#targets[@]} target(s)"
