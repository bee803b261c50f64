#!/usr/bin/env bash
# UHD Lens against llama.cpp on the same machine, the same GGUF files and the same threads (issue 21 "honest
# benchmark", issue 17 "Speed"). Prints: figure | UHD Lens | llama.cpp | ratio, with the CPU's flags.
#
#   tests/tools/llama_cpp_side_by_side.sh [--quick] [--threads N] [--llm-layers N] [--vision-layers N]
#       [--prompt N] [--gen N] [--repeats N] [--types f16,q8_0,q4_0] [--bench PATH] [--work DIR] [--json FILE]
#       [--build-only]
#
# llama.cpp: LLAMA_CPP_DIR=<tree with build/bin/{llama-bench,llama-mtmd-cli,llama-quantize} and gguf-py/> uses
# that build. Otherwise the pinned PyPI sdist llama_cpp_python==0.3.36 (its vendor/llama.cpp; sha256 below) is
# downloaded with pip, checked, unpacked and built with CMake under $UHDLENS_LLAMA_CACHE (default
# ~/.cache/uhdlens-reference/llama-cpp-0.3.36), outside the repository; a finished build there is reused.
# The GGUF files (random weights, MiniCPM-V 2.6 shapes; several GB) are kept in --work (default
# ~/.cache/uhdlens-reference/side-by-side/<shape>) and reused by the next run with the same shape.
#
# Full run (the figures for DECISIONS.md): 4 of 28 language-model layers, the whole 27-layer vision tower, prompt
# 512, 32 decoded tokens after it, F16 / Q8_0 / Q4_0, 3 repeats, 2 threads. --quick: 1 language-model layer,
# 2 vision layers, prompt 64, 8 tokens, F16 and Q4_0, 1 repeat: it checks the script, its figures mean little.
# --build-only: find or build llama.cpp and stop.
set -euo pipefail

SDIST_VERSION=0.3.36
SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3

threads=2 llm_layers=4 vision_layers=27 prompt=512 gen=32 repeats=3 types=f16,q8_0,q4_0
bench=$REPO/build/app/uhdlens-bench work="" json="" build_only=0
die() { echo "llama_cpp_side_by_side.sh: $*" >&2; exit 2; }
need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) llm_layers=1 vision_layers=2 prompt=64 gen=8 repeats=1 types=f16,q4_0; shift ;;
    --threads) need_value "$@"; threads=$2; shift 2 ;;
    --llm-layers) need_value "$@"; llm_layers=$2; shift 2 ;;
    --vision-layers) need_value "$@"; vision_layers=$2; shift 2 ;;
    --prompt) need_value "$@"; prompt=$2; shift 2 ;;
    --gen) need_value "$@"; gen=$2; shift 2 ;;
    --repeats) need_value "$@"; repeats=$2; shift 2 ;;
    --types) need_value "$@"; types=$2; shift 2 ;;
    --bench) need_value "$@"; bench=$2; shift 2 ;;
    --work) need_value "$@"; work=$2; shift 2 ;;
    --json) need_value "$@"; json=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in threads llm_layers vision_layers prompt gen repeats; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v//_/-} needs a positive integer (got '${!v}')"
done

# Prerequisites: each missing one is named.
missing=()
[[ -x $PY ]] || missing+=("$PY (Debian's python3 with numpy)")
[[ $build_only == 1 || -x $bench ]] || missing+=("$bench (cmake --build build --target uhdlens-bench, or --bench PATH)")
$PY -c 'import numpy' 2>/dev/null || missing+=("numpy for $PY (apt install python3-numpy)")
command -v lscpu >/dev/null || missing+=("lscpu (util-linux)")
if [[ -z ${LLAMA_CPP_DIR:-} ]]; then
  for tool in cmake tar sha256sum; do command -v $tool >/dev/null || missing+=("$tool (to build llama.cpp)"); done
  command -v c++ >/dev/null || missing+=("a C++ compiler (to build llama.cpp)")
  $PY -m pip --version >/dev/null 2>&1 || missing+=("pip for $PY (to download the llama.cpp sdist)")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  printf 'llama_cpp_side_by_side.sh: missing prerequisites:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 2
fi

# llama.cpp: a given tree, a cached build, or a fresh build of the pinned sdist.
if [[ -n ${LLAMA_CPP_DIR:-} ]]; then
  tree=$LLAMA_CPP_DIR
else
  cache=${UHDLENS_LLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uhdlens-reference/llama-cpp-$SDIST_VERSION}
  tree=$cache/llama_cpp_python-$SDIST_VERSION/vendor/llama.cpp
fi
bin=$tree/build/bin
built() { [[ -x $bin/llama-bench && -x $bin/llama-mtmd-cli && -x $bin/llama-quantize && -d $tree/gguf-py ]]; }
if ! built; then
  [[ -z ${LLAMA_CPP_DIR:-} ]] || die "LLAMA_CPP_DIR=$LLAMA_CPP_DIR lacks build/bin/{llama-bench,llama-mtmd-cli,llama-quantize} or gguf-py/"
  mkdir -p "$cache"
  sdist=$cache/llama_cpp_python-$SDIST_VERSION.tar.gz
  if [[ ! -f $sdist ]]; then
    echo "downloading llama_cpp_python==$SDIST_VERSION (sdist) into $cache ..." >&2
    # --no-binary for this package only: with :all: pip would also build its build tools (cmake) from source
    # to read the sdist's metadata.
    $PY -m pip download --quiet --no-deps --no-binary llama-cpp-python "llama_cpp_python==$SDIST_VERSION" -d "$cache"
  fi
  echo "$SDIST_SHA256  $sdist" | sha256sum --check --quiet - ||
    { echo "llama_cpp_side_by_side.sh: $sdist is not the pinned sdist (sha256 differs); delete it" >&2; exit 1; }
  [[ -d $tree ]] || tar -xzf "$sdist" -C "$cache"
  [[ -f $tree/CMakeLists.txt ]] || die "$sdist has no vendor/llama.cpp"
  echo "building llama.cpp (llama-bench, llama-mtmd-cli, llama-quantize; GGML_NATIVE) in $tree/build ..." >&2
  cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DBUILD_SHARED_LIBS=ON >"$cache/cmake.log" 2>&1 ||
    { tail -20 "$cache/cmake.log" >&2; exit 1; }
  cmake --build "$tree/build" -j "$threads" --target llama-bench llama-mtmd-cli llama-quantize \
    >"$cache/build.log" 2>&1 || { tail -30 "$cache/build.log" >&2; exit 1; }
  built || die "the build finished without $bin/llama-bench, llama-mtmd-cli or llama-quantize"
fi
if [[ $build_only == 1 ]]; then
  echo "llama.cpp ready: $bin"
  exit 0
fi

shape=llm${llm_layers}-vis${vision_layers}
work=${work:-${XDG_CACHE_HOME:-$HOME/.cache}/uhdlens-reference/side-by-side/$shape}
helper=$HERE/llama_cpp_side_by_side.py
echo "writing / reusing GGUF files in $work ..." >&2
$PY "$helper" write --out "$work" --gguf-py "$tree/gguf-py" --llm-layers "$llm_layers" \
  --vision-layers "$vision_layers" --types "$types" --quantize "$bin/llama-quantize" --threads "$threads"
args=(compare --dir "$work" --bench "$bench" --types "$types" --threads "$threads" --prompt "$prompt"
  --gen "$gen" --repeats "$repeats" --llama-bin "$bin")
[[ -z $json ]] || args+=(--json "$json")
$PY "$helper" "${args[@]}"
echo "llama.cpp: $tree (PyPI sdist llama_cpp_python==$SDIST_VERSION, vendor/llama.cpp)"
