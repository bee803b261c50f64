#!/usr/bin/env python3
"""Markdown tables for resources/models/README.md from `uhdlens-cli eval --json` output.

    python3 tests/tools/eval_tables.py resources/models/eval-heldout.json [more.json ...]

Prints one table per file: every model of the file side by side (overall, reading with text >= 10 px, each task,
each detail-height bucket for all tasks and for reading tasks, reading tasks by the text's height in the encoder's
view, visual tokens and time per image), then the
issue's two targets computed from the first two models (UHD model first, baseline second).
"""
import json
import sys

BUCKETS = ["<8px", "8-10px", "10-16px", "16-32px", ">=32px"]
TASKS = ["window-title", "button-label", "highlighted-word", "heading", "table-number", "count-shapes", "shape-colour"]


def cell(stat):
    if not stat or stat.get("n", 0) == 0:
        return "–"
    return f"{100.0 * stat['accuracy']:.1f}% ({stat['correct']}/{stat['n']})"


def table(doc):
    models = doc["models"]
    out = [f"### Set `{doc['set']}` ({doc['count']} images, seeds {doc['first_seed']}..{doc['first_seed'] + doc['count'] - 1}, "
           f"sides up to {doc['max_side']} px)", ""]
    out.append("| | " + " | ".join(f"`{m['label']}`" for m in models) + " |")
    out.append("| --- |" + " --- |" * len(models))

    def row(label, fn):
        out.append(f"| {label} | " + " | ".join(fn(m) for m in models) + " |")

    row("all questions", lambda m: cell(m["overall"]))
    row("reading tasks, text ≥ 10 px", lambda m: cell(m["reading_text_at_least_10px"]))
    for t in TASKS:
        row(f"task {t}", lambda m, t=t: cell(m["tasks"].get(t)))
    for b in BUCKETS:
        row(f"detail {b} (all tasks)", lambda m, b=b: cell(m["buckets"].get(b)))
    for b in BUCKETS:
        row(f"detail {b} (reading tasks)", lambda m, b=b: cell(m["reading_buckets"].get(b)))
    # Older eval files lack the view-height fields (added with the encoder-view buckets).
    if all("reading_view_buckets" in m for m in models):
        for b in BUCKETS:
            row(f"text {b} in the encoder's view (reading tasks)",
                lambda m, b=b: cell(m["reading_view_buckets"].get(b)))
        row(f"reading, text ≥ 10 px but < {models[0]['legible_view_pixels']:g} px in every view",
            lambda m: cell(m["reading_text_at_least_10px_below_legible_in_view"]))
    row("visual tokens per image", lambda m: f"{m['visual_tokens_per_image']:.0f}")
    row("encode ms per image", lambda m: f"{m['encode_ms_per_image']:.0f}")
    row("total ms per image (all its questions)", lambda m: f"{m['ms_per_image']:.0f}")
    out.append("")
    if len(models) >= 2:
        uhd, base = models[0], models[1]
        reading = uhd["reading_text_at_least_10px"]
        small_u = uhd["reading_buckets"].get("<8px", {})
        small_b = base["reading_buckets"].get("<8px", {})
        ratio = (small_u["accuracy"] / small_b["accuracy"]) if small_b.get("accuracy") else float("inf") if small_u.get("accuracy") else float("nan")
        out.append(f"Targets on this set: reading with text ≥ 10 px {cell(reading)} (target ≥ 90%); smallest-text "
                   f"bucket (< 8 px, reading) {cell(small_u)} vs baseline {cell(small_b)}, ratio {ratio:.2f} (target ≥ 2).")
        out.append("")
    return "\n".join(out)


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    for p in paths:
        with open(p, encoding="utf-8") as f:
            print(table(json.load(f)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
