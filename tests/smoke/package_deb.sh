#!/usr/bin/env bash
# smoke.package_deb: builds the .deb from this build tree, unpacks it into a temporary root, checks that it carries
# what a desktop app needs offline (executables, bundled model, samples, desktop entry, metainfo, icons, computed
# Depends), validates the desktop entry and metainfo, then runs the unpacked uhdlens-cli and uhdlens with the
# bundled model while the source and build trees are hidden (a private mount namespace with an empty tmpfs over
# them), so nothing can be found through a path compiled in at build time.
# Usage: package_deb.sh BUILD_DIR SOURCE_DIR   (works in a fresh folder under $TMPDIR, removed when it passes)
set -euo pipefail
build=$(realpath "$1"); source=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/uhdlens-package.XXXXXX")
fail() { echo "FAIL: $* (files kept in $work)" >&2; exit 1; }

# 1. Build the package (DEB only; the .tar.gz is the same tree).
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1) ||
  { tail -30 "$work/cpack.log"; fail "cpack -G DEB failed"; }
deb=$(ls "$work"/pkg/uhdlens_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no .deb in $work/pkg"
echo "package: $(basename "$deb") ($(du -h "$deb" | cut -f1))"

# 2. Control fields: Depends computed by dpkg-shlibdeps plus the plugins the GUI loads.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for dep in libtorch libqt6widgets6 libqt6gui6 libqt6core6 libsentencepiece0 qt6-qpa-plugins qt6-image-formats-plugins; do
  grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep"
done

# 3. The files a desktop app needs.
root="$work/root"
dpkg-deb -x "$deb" "$root"
share="$root/usr/share"
for f in usr/bin/uhdlens usr/bin/uhdlens-cli usr/lib/uhdlens/libuhdlens_spm.so \
         usr/share/uhdlens/models/uhd-lens-tiny/config.json usr/share/uhdlens/models/uhd-lens-tiny/model.safetensors \
         usr/share/uhdlens/models/uhd-lens-tiny/tokenizer.model usr/share/uhdlens/samples/screenshot.png \
         usr/share/uhdlens/models/uhd-lens-smol/config.json usr/share/uhdlens/models/uhd-lens-smol/model.safetensors \
         usr/share/applications/io.github.uhdlens.UhdLens.desktop \
         usr/share/metainfo/io.github.uhdlens.UhdLens.metainfo.xml \
         usr/share/icons/hicolor/scalable/apps/uhdlens.svg; do
  [ -e "$root/$f" ] || fail "package lacks /$f"
done
for size in 16 24 32 48 64 128 256 512; do
  icon="$share/icons/hicolor/${size}x${size}/apps/uhdlens.png"
  [ -s "$icon" ] || fail "package lacks the ${size}px icon"
done
desktop="$share/applications/io.github.uhdlens.UhdLens.desktop"
grep -q '^MimeType=.*image/png;.*image/jpeg;' "$desktop" || fail "desktop entry has no image MimeType"
grep -q '^Exec=uhdlens --capture --transcribe$' "$desktop" || fail "desktop entry lacks the capture-and-transcribe action"
desktop-file-validate "$desktop" || fail "desktop-file-validate rejects the desktop entry"
appstreamcli validate --no-net "$share/metainfo/io.github.uhdlens.UhdLens.metainfo.xml" ||
  fail "appstreamcli rejects the metainfo"

# 4. Run the unpacked executables with the source and build trees hidden. A mount namespace needs root or user
# namespaces; without either the run still happens (from a temporary folder, no override variables), and the
# log says the trees stayed visible.
# A sanitizer build (installer/build-and-test.sh --sanitize) compiles in the paths of installer/sanitize/*.supp,
# which hiding the source tree takes away: the run gets copies (the variables mean nothing to other builds).
mkdir -p "$work/sanitize"
cp "$source"/installer/sanitize/*.supp "$work/sanitize/"
cat >"$work/run.sh" <<RUN
set -euo pipefail
unset UHDLENS_RESOURCES UHDLENS_SPM_LIBRARY
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}suppressions=$work/sanitize/asan.supp"
export LSAN_OPTIONS="\${LSAN_OPTIONS:+\$LSAN_OPTIONS:}suppressions=$work/sanitize/lsan.supp"
export UBSAN_OPTIONS="\${UBSAN_OPTIONS:+\$UBSAN_OPTIONS:}suppressions=$work/sanitize/ubsan.supp"
cd "$work"
[ ! -e "$source/CMakeLists.txt" ] || echo "note: the source tree is still visible"
"$root/usr/bin/uhdlens-cli" ask --json --max-new-tokens 8 --image "$share/uhdlens/samples/shapes.png" \
  "How many shapes are there?" >"$work/ask.json"
QT_QPA_PLATFORM=offscreen "$root/usr/bin/uhdlens" --window-size 1200x800 --screenshot "$work/window.png" \
  "$share/uhdlens/samples/screenshot.png" >"$work/gui.log" 2>&1
RUN
hide="mount -t tmpfs none '$source'"
case "$build" in "$source"/*) ;; *) hide="$hide && mount -t tmpfs none '$build'" ;; esac
case "$work" in "$source"/*|"$build"/*) fail "TMPDIR must lie outside the source and build trees" ;; esac
if unshare --mount --propagation private true 2>/dev/null; then
  unshare --mount --propagation private bash -c "$hide && bash '$work/run.sh'" || fail "the unpacked app failed"
elif unshare -rm true 2>/dev/null; then
  unshare -rm bash -c "$hide && bash '$work/run.sh'" || fail "the unpacked app failed"
else
  echo "note: no mount namespace available; running with the trees visible"
  bash "$work/run.sh" || fail "the unpacked app failed"
fi
python3 - "$work/ask.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
# uhd-lens-smol when the base weights are installed for this user, else the from-scratch uhd-lens-tiny.
assert r["model"]["name"] in ("uhd-lens-smol", "uhd-lens-tiny"), r["model"]
assert r["answer"].strip(), "empty answer"
print("unpacked uhdlens-cli answered with the bundled model:", repr(r["answer"]))
PY
[ -s "$work/window.png" ] || { cat "$work/gui.log"; fail "the unpacked GUI saved no screenshot"; }
echo "unpacked uhdlens: $(cat "$work/gui.log" | tail -1)"
rm -rf "$work"
echo "PASS"
