#!/usr/bin/env bash
# Pictures of issue 23's app side for the README, from the real UHD Lens app under a virtual X server:
#   OUTDIR/screenshot-batch.png     the Batch dialog after a run of the bundled model over the samples plus a
#                                   broken PNG (and a text file it skips), with its results table
#   OUTDIR/screenshot-markdown.png  the main window with a Markdown answer rendered in the chat. The answer text is
#                                   tests/screenshot_answer.md given with --demo-answer (the bundled tiny model does
#                                   not write Markdown): it shows the rendering, not a model's reading.
# Usage: tests/screenshot_batch.sh [OUTDIR] [UHDLENS_BINARY]   (default OUTDIR: resources)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
outdir="${1:-$root/resources}"
app="${2:-${UHDLENS_APP:-$root/build/app/uhdlens}}"
if [ ! -x "$app" ]; then
  echo "screenshot_batch.sh: $app is not built (cmake --build build --target uhdlens)" >&2
  exit 1
fi
if ! command -v xvfb-run >/dev/null; then
  echo "screenshot_batch.sh: xvfb-run is missing (apt-get install xvfb xauth)" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scans" "$work/config"
cp "$root"/resources/samples/*.png "$work/scans/"
head -c 3000 "$root/resources/samples/shapes.png" > "$work/scans/broken-scan.png"
echo "not an image" > "$work/scans/notes.txt"
run() {
  XDG_CONFIG_HOME="$work/config" LANG=C.UTF-8 QT_QPA_PLATFORM=xcb \
    xvfb-run -a -s "-screen 0 1680x1050x24" "$app" "$@"
}
# A tall window for the answer: the chat dock gets the height the plan panel does not need.
run_tall() {
  XDG_CONFIG_HOME="$work/config" LANG=C.UTF-8 QT_QPA_PLATFORM=xcb \
    xvfb-run -a -s "-screen 0 1680x1440x24" "$app" "$@"
}
# The bundled model answers each sample in 10-40 s on a laptop-class CPU.
run --window-size 1400x900 --batch "$work/scans" --batch-out "$work/results.csv" \
  --ask "What is the title?" --screenshot "$outdir/screenshot-batch.png" 2>&1 | tail -3
test -s "$outdir/screenshot-batch.png"
run_tall --no-model --window-size 1500x1380 --demo-answer "$root/tests/screenshot_answer.md" \
  --screenshot "$outdir/screenshot-markdown.png" "$root/resources/samples/document.png"
test -s "$outdir/screenshot-markdown.png"
echo "screenshots: $outdir/screenshot-batch.png $outdir/screenshot-markdown.png"
