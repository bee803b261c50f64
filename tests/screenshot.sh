#!/usr/bin/env bash
# Starts the real UHD Lens app under a virtual X server on the bundled samples and saves a PNG of the main
# window with a slice plan drawn (default: resources/screenshot.png, the picture the README shows), and beside it
#   OUTPUT-batch.png     the Batch dialog after a run of the bundled model over the samples plus a broken PNG (and
#                        a text file it skips), with its results table;
#   OUTPUT-markdown.png  the main window with a Markdown answer in the chat. Its text is
#                        tests/screenshot_answer.md given with --demo-answer (the bundled tiny model writes no
#                        Markdown): it shows the rendering, not a model's reading;
#   OUTPUT-textlayer.png the main window with the text layer (View > Show Text Layer) of the sample screenshot.
# Usage: tests/screenshot.sh [OUTPUT.png] [UHDLENS_BINARY]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/resources/screenshot.png}"
app="${2:-${UHDLENS_APP:-$root/build/app/uhdlens}}"
if [ ! -x "$app" ]; then
  echo "screenshot.sh: $app is not built (cmake --build build --target uhdlens)" >&2
  exit 1
fi
if ! command -v xvfb-run >/dev/null; then
  echo "screenshot.sh: xvfb-run is missing (apt-get install xvfb xauth)" >&2
  exit 1
fi
# The desktop screenshot first: it is the image the main window shows in the picture.
samples=()
[ -e "$root/resources/samples/screenshot.png" ] && samples+=("$root/resources/samples/screenshot.png")
for f in "$root"/resources/samples/*.png; do
  [ "$f" = "$root/resources/samples/screenshot.png" ] || samples+=("$f")
done
if [ ! -e "${samples[0]}" ]; then
  echo "screenshot.sh: no sample images in resources/samples" >&2
  exit 1
fi
# When a model loads (the bundled default), ask the sample's first question so the picture shows an answer.
question=""
if [ -e "$root/resources/samples/screenshot.json" ]; then
  question="$(grep -m1 '"question"' "$root/resources/samples/screenshot.json" | sed 's/.*"question": *"\(.*\)",\{0,1\} *$/\1/')"
fi
[ -n "$question" ] || question="What does this window show?"
settings="$(mktemp -d)"
trap 'rm -rf "$settings"' EXIT
rm -f "$out" "${out%.png}-batch.png" "${out%.png}-markdown.png" "${out%.png}-textlayer.png"
# A fresh settings folder so a developer's saved window layout or language does not leak into the picture;
# the bundled default model (if present) is loaded as a user would see it.
XDG_CONFIG_HOME="$settings" LANG=C.UTF-8 QT_QPA_PLATFORM=xcb \
  xvfb-run -a -s "-screen 0 1680x1050x24" \
  "$app" --window-size 1600x1000 --ask "$question" --screenshot "$out" "${samples[@]}"
test -s "$out"
echo "screenshot: $out"

# The Batch dialog: the samples, a truncated PNG and a text file, with one question.
mkdir -p "$settings/scans"
cp "$root"/resources/samples/*.png "$settings/scans/"
head -c 3000 "$root/resources/samples/shapes.png" >"$settings/scans/broken-scan.png"
echo "not an image" >"$settings/scans/notes.txt"
XDG_CONFIG_HOME="$settings" LANG=C.UTF-8 QT_QPA_PLATFORM=xcb \
  xvfb-run -a -s "-screen 0 1680x1050x24" \
  "$app" --window-size 1400x900 --batch "$settings/scans" --batch-out "$settings/results.csv" \
  --ask "What is the title?" --screenshot "${out%.png}-batch.png"
test -s "${out%.png}-batch.png"
# A Markdown answer: a tall window, so the chat gets the height the plan panel does not need.
XDG_CONFIG_HOME="$settings" LANG=C.UTF-8 QT_QPA_PLATFORM=xcb \
  xvfb-run -a -s "-screen 0 1680x1440x24" \
  "$app" --no-model --window-size 1500x1380 --demo-answer "$root/tests/screenshot_answer.md" \
  --screenshot "${out%.png}-markdown.png" "$root/resources/samples/document.png"
test -s "${out%.png}-markdown.png"
# The text layer: the words Tesseract found in the sample screenshot, drawn over it (no model needed).
XDG_CONFIG_HOME="$settings" LANG=C.UTF-8 QT_QPA_PLATFORM=xcb \
  xvfb-run -a -s "-screen 0 1680x1050x24" \
  "$app" --no-model --window-size 1600x1000 --text-layer --screenshot "${out%.png}-textlayer.png" \
  "$root/resources/samples/screenshot.png"
test -s "${out%.png}-textlayer.png"
echo "screenshots: ${out%.png}-batch.png ${out%.png}-markdown.png ${out%.png}-textlayer.png"
