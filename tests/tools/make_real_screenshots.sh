#!/usr/bin/env bash
# Builds tests/data/real-screenshots/: windows of real programs (xterm, zenity, yad, xmessage) captured under Xvfb,
# document pages typeset by groff (ms + tbl) and enscript and rasterised by Ghostscript, each with questions that
# have exact answers. `uhdlens-cli eval --set real` scores a model on it (app/cli/cmd_eval.cpp).
#
#     bash tests/tools/make_real_screenshots.sh [OUT_DIR]      # default: tests/data/real-screenshots
#
# Needs (Debian 12 packages): xvfb (Xvfb, xvfb-run), xterm, zenity, yad, x11-utils (xmessage, xwininfo),
# xfonts-base (xmessage's fixed fonts), xdotool, imagemagick (import), groff (ms macros, tbl), enscript,
# ghostscript, optipng, fonts-dejavu-core, and Debian's /usr/bin/python3 with python3-pil. It is a tool, not a
# runtime dependency: `apt-get install -y xvfb xterm zenity yad x11-utils xfonts-base xdotool imagemagick groff
# enscript ghostscript optipng python3-pil`.
#
# Content is fixed by the script (seeded choices), so a re-run gives the same images and questions up to font
# rendering differences between package versions. The folder's README.md and the docstring of
# real_screenshots.py describe questions.json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../data/real-screenshots}"

missing=()
for tool in Xvfb xvfb-run xterm zenity yad xmessage xdotool import groff enscript gs optipng; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ! /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
    missing+=("python3-pil (for /usr/bin/python3)")
fi
if [[ ! -f /usr/share/groff/current/tmac/s.tmac && ! -f /usr/share/groff/current/tmac/ms.tmac ]]; then
    missing+=("groff's ms macros (package groff, not only groff-base)")
fi
if [[ ! -d /usr/share/fonts/X11/misc ]]; then
    missing+=("xfonts-base (fixed fonts for xmessage)")
fi
if ((${#missing[@]})); then
    echo "make_real_screenshots.sh: missing: ${missing[*]}" >&2
    echo "install with: apt-get install -y xvfb xterm zenity yad x11-utils xfonts-base xdotool imagemagick groff" \
         "enscript ghostscript optipng python3-pil" >&2
    exit 1
fi

mkdir -p "$out"
# One X server for the whole run (-noreset: without it the server resets whenever its last client leaves, and a
# program connecting during the reset fails to open the display): 24-bit, large enough for a 30-px terminal; GTK
# and Xft read 96 dpi from Xft.dpi (set by the helper), so a GTK font of P points is P*96/72 pixels high.
exec xvfb-run -a -s "-screen 0 1600x1200x24 -dpi 96 -nolisten tcp -noreset" \
    /usr/bin/python3 "$here/real_screenshots.py" "$out"
