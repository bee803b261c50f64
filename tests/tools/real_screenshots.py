#!/usr/bin/python3
"""Renders the real-screenshot evaluation set (run through make_real_screenshots.sh, which starts Xvfb).

Real programs with known content: xterm (ls -l, cat, cat -n, wc in bash with a fixed prompt; DejaVu Sans Mono at
8-30 px, light on dark and dark on light), GTK dialogs (zenity --question/--error/--warning, yad with several
buttons and a form; DejaVu Sans at 8-28 px through gtk-3.0/settings.ini), xmessage (X core fixed fonts 5x8 to
10x20), whole screens with a terminal under a dialog, and document pages (groff -ms with a tbl table, enscript
with its page header) rasterised by Ghostscript at 58-200 dpi.

questions.json (schema version 1):
{
  "version": 1,
  "name": "real-screenshots",
  "not_shown_answer": "not shown",          # the exact answer of every "unanswerable" question
  "text_height": "...",                       # what text_height means (below)
  "images": [
    {
      "file": "term-01.png",                  # relative to the folder, no "..", PNG
      "program": "xterm",                     # what drew it
      "kind": "terminal",                     # terminal | dialog | screen | document
      "width": 812, "height": 300,            # pixels, as captured
      "questions": [
        {"question": "What is the size of the file named budget.csv in the listing?",
         "answer": "1834",                    # exact answer, compared trimmed and case-insensitively
         "task": "reading",                   # reading | counting | colour | unanswerable
         "text_height": 14}                   # pixels (> 0)
      ]
    }
  ]
}

text_height is the font's pixel size (the em size, CSS "px", as the synthetic sets' detailHeight) of the text the
question is about, in image pixels: xterm's pixelsize, a GTK font's points * 96 / 72, the fixed font's pixel size
from its XLFD name, a PostScript font's points * dpi / 72. For counting and colour questions it is the height of the
text counted or coloured (a dialog icon: its 48 px); for unanswerable ones, that of the text where the answer would be.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from PIL import Image, ImageOps

NOT_SHOWN = "not shown"
SEED = 18  # issue 18

OUT = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="realshots-")
ENV = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", NO_AT_BRIDGE="1", GTK_THEME="Adwaita",
           GDK_BACKEND="x11", HOME=TMP)
rng = random.Random(SEED)
images = []


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, env=kw.pop("env", ENV), **kw)


def q(question, answer, task, height):
    return {"question": question, "answer": str(answer), "task": task, "text_height": round(float(height), 1)}


def wait_window(title, timeout=20):
    """Window id of the mapped window named exactly `title`, once it is viewable."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^%s$" % title], env=ENV,
                           capture_output=True, text=True)
        ids = r.stdout.split()
        if ids:
            time.sleep(0.8)  # let the program draw its content after mapping
            return ids[-1]
        time.sleep(0.1)
    raise SystemExit("real_screenshots.py: window '%s' did not appear within %d s" % (title, timeout))


def save_png(src, name, grey=False, crop=None):
    im = Image.open(src)
    im = im.convert("L" if grey else "RGB")
    # Ghostscript tags its grey pages with a grey ICC profile, which optipng keeps when it turns a page into a
    # palette image (libpng then warns on every read): no profile, plain sRGB / grey pixels.
    im.info.pop("icc_profile", None)
    if crop:
        im = im.crop(crop)
    path = os.path.join(OUT, name)
    im.save(path, optimize=True)
    sh(["optipng", "-quiet", "-o2", path])
    return im.size


def capture_window(wid, name):
    raw = os.path.join(TMP, "raw.png")
    sh(["import", "-window", wid, "png:" + raw])
    return save_png(raw, name)


def capture_screen(name, width, height):
    raw = os.path.join(TMP, "raw.png")
    sh(["import", "-window", "root", "png:" + raw])
    return save_png(raw, name, crop=(0, 0, width, height))


def add_image(name, program, kind, size, questions):
    images.append({"file": name, "program": program, "kind": kind, "width": size[0], "height": size[1],
                   "questions": questions})


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- terminals

USERS = ["maria", "tomas", "ingrid", "kofi", "lena", "ravi", "sofia", "olek"]
HOSTS = ["atlas", "borealis", "cedar", "delta", "ember", "falcon", "granite", "harbor"]
DIRS = ["projects/orbit", "work/ledger", "src/kiln", "data/survey", "notes/2024", "repos/tally", "music/mix"]
FILES = ["budget.csv", "notes.txt", "report.pdf", "photo.jpg", "main.c", "setup.py", "invoice.odt", "todo.md",
         "backup.tar", "index.html", "server.log", "readme.txt", "schema.sql", "logo.png", "draft.docx"]
CITIES = ["Lisbon", "Oslo", "Nairobi", "Quito", "Hanoi", "Dublin", "Perth", "Tunis", "Lima", "Riga", "Accra",
          "Porto", "Turin", "Bergen", "Leeds", "Kyoto"]
KEYS = [("host", ["example.org", "db.local", "10.0.4.17", "mail.test"]), ("port", ["8443", "5432", "2525", "9000"]),
        ("user", ["backup", "deploy", "alice", "svc"]), ("timeout", ["30", "45", "120", "15"]),
        ("retries", ["3", "5", "7", "2"]), ("mode", ["fast", "safe", "strict", "lazy"])]
# (text, background, text colour name, background colour name)
SCHEMES = [("#ffffff", "#000000", "white", "black"), ("#000000", "#ffffff", "black", "white"),
           ("#00ff00", "#000000", "green", "black"), ("#ffff00", "#0000aa", "yellow", "blue"),
           ("#0000cc", "#ffffff", "blue", "white")]
TERM_SIZES = [8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 30]


def terminal_session(index, kind, user, host, path):
    """The shell script the terminal runs, and the questions about its output (font size filled in later)."""
    work = os.path.join(TMP, "t%02d" % index)
    os.makedirs(work)
    prompt = "%s@%s:~/%s$ " % (user, host, path)
    lines = ["cd %s" % work, "export LC_ALL=C TZ=UTC"]
    qs = []
    if kind == "ls":
        names = sorted(rng.sample(FILES, rng.randint(5, 8)))
        sizes = {}
        for n in names:
            sizes[n] = rng.randint(120, 98000)
            with open(os.path.join(work, n), "wb") as f:
                f.write(b"x" * sizes[n])
            day = "2024-%02d-%02d %02d:%02d" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                                              rng.randint(0, 59))
            sh(["touch", "-d", day + " UTC", os.path.join(work, n)])
        lines += ["printf '%%s' '%s'; echo 'ls -l'" % prompt, "ls -l --time-style=+%Y-%m-%d"]
        pick = rng.sample(names, 2)
        absent = rng.choice([f for f in FILES if f not in names])
        qs += [("What is the size of the file named %s in the listing?" % pick[0], sizes[pick[0]], "reading"),
               ("What is the size of the file named %s in the listing?" % pick[1], sizes[pick[1]], "reading"),
               ("How many files are listed?", len(names), "counting"),
               ("What is the size of the file named %s in the listing?" % absent, NOT_SHOWN, "unanswerable")]
        rows = len(names) + 3
    elif kind == "cat":
        keys = rng.sample(KEYS, 4)
        values = {k: rng.choice(v) for k, v in keys}
        with open(os.path.join(work, "settings.ini"), "w") as f:
            f.write("[server]\n" + "".join("%s = %s\n" % (k, values[k]) for k, _ in keys))
        lines += ["printf '%%s' '%s'; echo 'cat settings.ini'" % prompt, "cat settings.ini"]
        ks = [k for k, _ in keys]
        absent = [k for k, _ in KEYS if k not in ks][0]
        qs += [("What is the value of %s in settings.ini?" % ks[0], values[ks[0]], "reading"),
               ("What is the value of %s in settings.ini?" % ks[2], values[ks[2]], "reading"),
               ("What is the user name in the shell prompt?", user, "reading"),
               ("What is the value of %s in settings.ini?" % absent, NOT_SHOWN, "unanswerable")]
        rows = 7
    else:  # numbered list and a line count
        cities = rng.sample(CITIES, rng.randint(5, 8))
        with open(os.path.join(work, "cities.txt"), "w") as f:
            f.write("".join(c + "\n" for c in cities))
        lines += ["printf '%%s' '%s'; echo 'cat -n cities.txt'" % prompt, "cat -n cities.txt",
                  "printf '%%s' '%s'; echo 'wc -l cities.txt'" % prompt, "wc -l cities.txt"]
        k = rng.randint(2, len(cities))
        qs += [("Which city is on line %d of cities.txt?" % k, cities[k - 1], "reading"),
               ("What is the host name in the shell prompt?", host, "reading"),
               ("How many cities are listed?", len(cities), "counting"),
               ("Which city is on line %d of cities.txt?" % (len(cities) + 3), NOT_SHOWN, "unanswerable")]
        rows = len(cities) + 4
    lines += ["printf '%%s' '%s'" % prompt, "exec sleep 600"]
    script = os.path.join(TMP, "t%02d.sh" % index)
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    return script, qs, rows


def terminal_proc(script, title, px, scheme, cols, rows, x=0, y=0):
    fg, bg = scheme[0], scheme[1]
    return subprocess.Popen(["xterm", "-T", title, "-geometry", "%dx%d+%d+%d" % (cols, rows, x, y),
                             "-fa", "DejaVu Sans Mono:pixelsize=%d" % px, "-fg", fg, "-bg", bg, "-cr", fg,
                             "-xrm", "XTerm*allowTitleOps: false", "-e", "bash", "--norc", "--noprofile", script],
                            env=ENV)


def terminals():
    kinds = ["ls", "cat", "cities"]
    for i, px in enumerate(TERM_SIZES):
        kind = kinds[i % 3]
        scheme = SCHEMES[i % len(SCHEMES)]
        user, host, path = rng.choice(USERS), rng.choice(HOSTS), rng.choice(DIRS)
        script, qs, rows = terminal_session(i, kind, user, host, path)
        title = "term%02d" % i
        proc = terminal_proc(script, title, px, scheme, 64, rows)
        wid = wait_window(title)
        name = "term-%02d-%s-%dpx.png" % (i + 1, kind, px)
        size = capture_window(wid, name)
        stop(proc)
        questions = [q(text, ans, task, px) for text, ans, task in qs]
        if i % 2 == 0:
            questions.append(q("What colour is the text in the terminal?", scheme[2], "colour", px))
        else:
            questions.append(q("What colour is the terminal's background?", scheme[3], "colour", px))
        add_image(name, "xterm", "terminal", size, questions)


# ---------------------------------------------------------------- dialogs

GTK_POINTS = [6, 7.5, 9, 10.5, 12, 13.5, 15, 18, 21]  # 8, 10, 12, 14, 16, 18, 20, 24, 28 px at 96 dpi
DOCS = ["report.odt", "budget.ods", "thesis.tex", "slides.odp", "letter.txt", "plan.md", "diary.txt", "map.svg"]
OK_LABELS = ["Save", "Discard", "Keep", "Close", "Apply", "Export", "Print", "Send"]
PATHS = ["/var/log/app.log", "/etc/hosts", "/tmp/cache.db", "/home/ann/music", "/srv/data/export.csv",
         "/opt/tools/run.sh", "/mnt/usb/photos"]


def gtk_env(points):
    cfg = os.path.join(TMP, "gtk-%s" % points)
    os.makedirs(os.path.join(cfg, "gtk-3.0"), exist_ok=True)
    with open(os.path.join(cfg, "gtk-3.0", "settings.ini"), "w") as f:
        f.write("[Settings]\ngtk-font-name = DejaVu Sans %s\ngtk-theme-name = Adwaita\n"
                "gtk-enable-animations = false\n" % points)
    return dict(ENV, XDG_CONFIG_HOME=cfg)


def dialog_spec(i):
    """(program, argv after the program, title, questions as (text, answer, task))."""
    title = "dialog%02d" % i
    kind = i % 5
    if kind == 0:
        doc, ok = rng.choice(DOCS), rng.choice(OK_LABELS)
        return ("zenity", ["--question", "--title", title, "--text", "Save changes to %s before closing?" % doc,
                           "--ok-label", ok, "--cancel-label", "Cancel"], title,
                [("Which button is to the right of 'Cancel'?", ok, "reading"),
                 ("Which file does the dialog ask about?", doc, "reading"),
                 ("How many buttons does the dialog have?", 2, "counting"),
                 ("What colour is the icon?", "blue", "colour"),
                 ("What is the file's size?", NOT_SHOWN, "unanswerable")])
    if kind == 1:
        code, path = rng.randint(100, 9999), rng.choice(PATHS)
        return ("zenity", ["--error", "--title", title, "--text", "Error %d: cannot open %s" % (code, path)], title,
                [("What number does the error dialog show?", code, "reading"),
                 ("Which path could not be opened?", path, "reading"),
                 ("How many buttons does the dialog have?", 1, "counting"),
                 ("What colour is the icon?", "red", "colour"),
                 ("What time did the error happen?", NOT_SHOWN, "unanswerable")])
    if kind == 2:
        pct = rng.randint(2, 15)
        return ("zenity", ["--warning", "--title", title, "--text", "Battery low: %d%% remaining" % pct], title,
                [("What percentage of battery remains?", "%d%%" % pct, "reading"),
                 ("What does the button say?", "OK", "reading"),
                 ("How long until the battery is empty?", NOT_SHOWN, "unanswerable")])
    if kind == 3:
        b = rng.sample(["Retry", "Ignore", "Abort", "Skip", "Help", "Undo", "Resume", "Pause"], 3)
        n = rng.randint(2, 40)
        return ("yad", ["--title", title, "--text", "%d files could not be copied." % n, "--image",
                        "dialog-warning", "--button", b[0] + ":1", "--button", b[1] + ":2", "--button",
                        b[2] + ":3", "--fixed"], title,
                [("Which button is to the right of '%s'?" % b[1], b[2], "reading"),
                 ("How many files could not be copied?", n, "reading"),
                 ("How many buttons does the dialog have?", 3, "counting"),
                 ("Which button is to the left of '%s'?" % b[0], NOT_SHOWN, "unanswerable")])
    host, port = rng.choice(["example.org", "db.local", "mail.test", "cache.lan"]), rng.randint(1024, 65000)
    user = rng.choice(USERS)
    return ("yad", ["--form", "--title", title, "--text", "Connection", "--field", "Host", "--field", "Port",
                    "--field", "User", host, str(port), user, "--button", "Cancel:1", "--button", "Connect:0"], title,
            [("What is the value in the Port field?", port, "reading"),
             ("What is the value in the Host field?", host, "reading"),
             ("Which button is to the right of 'Cancel'?", "Connect", "reading"),
             ("What is the value in the Password field?", NOT_SHOWN, "unanswerable")])


ICON_PX = 48  # GTK_ICON_SIZE_DIALOG: a colour question about the icon has the icon's height
XMESSAGE_FONTS = [("5x8", 8), ("6x10", 10), ("6x13", 13), ("9x15", 15), ("10x20", 20)]


def dialogs():
    for i, points in enumerate(GTK_POINTS + GTK_POINTS[2::3]):
        px = points * 96 / 72
        program, argv, title, qs = dialog_spec(i)
        proc = subprocess.Popen([program] + argv, env=gtk_env(points), stderr=subprocess.DEVNULL)
        wid = wait_window(title)
        name = "dialog-%02d-%s-%dpx.png" % (i + 1, program, round(px))
        size = capture_window(wid, name)
        stop(proc)
        add_image(name, program, "dialog", size, [q(t, a, k, ICON_PX if "icon" in t else px) for t, a, k in qs])
    for j, (font, px) in enumerate(XMESSAGE_FONTS):
        code = rng.randint(1000, 9999)
        what = rng.choice(["disk quota exceeded", "printer offline", "network unreachable", "license expired",
                           "permission denied"])
        b = rng.sample(["Retry", "Abort", "Ignore", "Details", "Quit"], 2)
        title = "xmessage%02d" % j
        proc = subprocess.Popen(["xmessage", "-title", title, "-name", title, "-fn", font, "-buttons",
                                 ",".join(b), "Error %d: %s" % (code, what)], env=ENV)
        wid = wait_window(title)
        name = "dialog-%02d-xmessage-%dpx.png" % (len(GTK_POINTS) + 4 + j, px)
        size = capture_window(wid, name)
        stop(proc)
        add_image(name, "xmessage", "dialog", size,
                  [q("What number does the error message show?", code, "reading", px),
                   q("Which button is to the right of '%s'?" % b[0], b[1], "reading", px),
                   q("How many buttons are there?", 2, "counting", px),
                   q("Which program reported the error?", NOT_SHOWN, "unanswerable", px)])


# ---------------------------------------------------------------- whole screens

def screens():
    for k, (term_px, points) in enumerate([(13, 9), (16, 10.5), (11, 7.5)]):
        i = 40 + k
        user, host, path = rng.choice(USERS), rng.choice(HOSTS), rng.choice(DIRS)
        script, tqs, rows = terminal_session(i, "ls", user, host, path)
        scheme = SCHEMES[k % len(SCHEMES)]
        term = terminal_proc(script, "screenterm%d" % k, term_px, scheme, 70, rows + 2, 20, 20)
        wait_window("screenterm%d" % k)
        program, argv, title, dqs = dialog_spec(1 if k != 1 else 0)
        dlg = subprocess.Popen([program] + argv, env=gtk_env(points), stderr=subprocess.DEVNULL)
        wait_window(title)
        # The dialog is centred on the screen, below the terminal's listing.
        w, h = (1280, 800) if k != 1 else (1600, 1200)
        sh(["xdotool", "search", "--onlyvisible", "--name", "^%s$" % title, "windowmove", "%d" % (w // 2 - 150),
            "%d" % (h - 260)])
        time.sleep(0.8)
        name = "screen-%02d-%dx%d.png" % (k + 1, w, h)
        size = capture_screen(name, w, h)
        stop(dlg)
        stop(term)
        px = points * 96 / 72
        questions = [q(t, a, task, term_px) for t, a, task in tqs[:3]]
        questions += [q(t, a, task, px) for t, a, task in dqs[:2]]
        questions.append(q(tqs[3][0], tqs[3][1], tqs[3][2], term_px))
        add_image(name, "xterm+zenity", "screen", size, questions)


# ---------------------------------------------------------------- documents

TITLES = ["Harbour Survey", "Orchard Yield", "Bridge Inspection", "Library Loans", "River Levels", "Solar Output",
          "Bakery Sales", "Clinic Visits"]
SECTIONS = ["Overview", "Method", "Results", "Budget", "Outlook", "Summary", "Staffing", "Risks", "Schedule"]
ROWS = ["North", "East", "South", "West", "Central", "Upper", "Lower"]
COLS = [("Boats", "Length"), ("Trees", "Tonnes"), ("Spans", "Cracks"), ("Books", "Days"), ("Gauges", "Metres"),
        ("Panels", "Kilowatts"), ("Loaves", "Crates"), ("Patients", "Hours")]


def documents():
    # dpi -> body text of 10 pt is 10 * dpi / 72 px high
    for i, dpi in enumerate([58, 72, 86, 101, 115, 144, 173, 216]):
        title, (c1, c2) = TITLES[i], COLS[i]
        secs = rng.sample(SECTIONS, 3)
        rows = rng.sample(ROWS, rng.randint(3, 5))
        vals = [(rng.randint(2, 99), rng.randint(100, 999)) for _ in rows]
        office = rng.choice(["Field Office", "Head Office", "Regional Desk", "Survey Team"])
        ms = [".nr PS 10", ".nr VS 13", ".TL", "\\s[18]%s\\s[0]" % title, ".AU", "%s Report" % office,
              ".NH", "\\s[13]%s\\s[0]" % secs[0], ".PP",
              "This page summarises the figures gathered by the %s during the season. " % office.lower()
              + "Counts were taken twice and the mean is reported.",
              ".NH", "\\s[13]%s\\s[0]" % secs[1], ".PP", "The table lists the %s counted per site." % c1.lower(),
              ".TS", "center box;", "l n n.", "Site\t%s\t%s" % (c1, c2), "_"]
        ms += ["%s\t%d\t%d" % (r, a, b) for r, (a, b) in zip(rows, vals)]
        ms += [".TE", ".NH", "\\s[13]%s\\s[0]" % secs[2], ".PP",
               "The next survey is planned for the autumn, with the same sites and methods."]
        src = os.path.join(TMP, "doc%d.ms" % i)
        with open(src, "w") as f:
            f.write("\n".join(ms) + "\n")
        ps = src[:-3] + ".ps"
        with open(ps, "wb") as f:
            sh(["groff", "-t", "-ms", "-Tps", "-dpaper=a4", "-P-pa4", src], stdout=f)
        raw = os.path.join(TMP, "doc.png")
        sh(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pnggray", "-r%d" % dpi, "-dTextAlphaBits=4",
            "-dGraphicsAlphaBits=4", "-sOutputFile=" + raw, ps])
        page = Image.open(raw)
        # Odd pages keep the whole A4 page; even ones are cropped to the text with a margin (a page excerpt).
        crop = None
        if i % 2 == 0:
            l, t, r, b = ImageOps.invert(page.convert("L")).getbbox()
            m = dpi // 3
            crop = (max(0, l - m), max(0, t - m), min(page.width, r + m), min(page.height, b + m))
        name = "doc-%02d-groff-%ddpi.png" % (i + 1, dpi)
        size = save_png(raw, name, grey=True, crop=crop)
        body, head, big = 10 * dpi / 72, 13 * dpi / 72, 18 * dpi / 72
        r = rng.randrange(len(rows))
        add_image(name, "groff+ghostscript", "document", size, [
            q("What is the title of the document?", title, "reading", big),
            q("What is the heading of section 2?", secs[1], "reading", head),
            q("What is the %s value for %s in the table?" % (c1, rows[r]), vals[r][0], "reading", body),
            q("What is the %s value for %s in the table?" % (c2, rows[-1]), vals[-1][1], "reading", body),
            q("How many sites does the table list?", len(rows), "counting", body),
            q("What is the author's email address?", NOT_SHOWN, "unanswerable", body)])
    # enscript: a plain text file with enscript's page header (file name, date, page), Courier.
    for j, (dpi, pt) in enumerate([(96, 10), (150, 9)]):
        fname = ["backup.conf", "deploy.cfg"][j]
        keys = rng.sample(KEYS, 5)
        values = {k: rng.choice(v) for k, v in keys}
        path = os.path.join(TMP, fname)
        with open(path, "w") as f:
            f.write("# %s: generated for the nightly job\n" % fname)
            f.write("".join("%s = %s\n" % (k, values[k]) for k, _ in keys))
        sh(["touch", "-d", "2024-05-%02d 09:30 UTC" % (10 + j), path])
        ps = path + ".ps"
        sh(["enscript", "-q", "-M", "A4", "-f", "Courier%d" % pt, "--header-font=Helvetica-Bold%d" % (pt + 2),
            "-b", "$n||Page $% of $=", "-o", ps, path], env=dict(ENV, TZ="UTC"))
        raw = os.path.join(TMP, "ens.png")
        sh(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pnggray", "-r%d" % dpi, "-dTextAlphaBits=4",
            "-dGraphicsAlphaBits=4", "-sOutputFile=" + raw, ps])
        name = "doc-%02d-enscript-%ddpi.png" % (9 + j, dpi)
        page = Image.open(raw)
        crop = (0, 0, page.width, page.height // 3)  # the top third: header and file
        size = save_png(raw, name, grey=True, crop=crop)
        body, head = pt * dpi / 72, (pt + 2) * dpi / 72
        ks = [k for k, _ in keys]
        absent = [k for k, _ in KEYS if k not in ks][0]
        add_image(name, "enscript+ghostscript", "document", size, [
            q("What is the file name in the page header?", fname, "reading", head),
            q("What is the value of %s in the file?" % ks[1], values[ks[1]], "reading", body),
            q("What is the value of %s in the file?" % ks[3], values[ks[3]], "reading", body),
            q("How many settings does the file define?", len(keys), "counting", body),
            q("What is the value of %s in the file?" % absent, NOT_SHOWN, "unanswerable", body)])


def main():
    for old in os.listdir(OUT):
        if old.endswith(".png") or old == "questions.json":
            os.remove(os.path.join(OUT, old))
    sh(["xrdb", "-nocpp", "-merge"], input=b"Xft.dpi: 96\n")
    terminals()
    dialogs()
    screens()
    documents()
    doc = {"version": 1, "name": "real-screenshots", "not_shown_answer": NOT_SHOWN,
           "text_height": "font pixel size (em) of the text the question is about, in image pixels",
           "generator": "tests/tools/make_real_screenshots.sh", "images": images}
    with open(os.path.join(OUT, "questions.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    nq = sum(len(i["questions"]) for i in images)
    print("wrote %d images, %d questions to %s" % (len(images), nq, OUT))
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
