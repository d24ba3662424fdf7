"""OCR side by side on the labelled frame set (tests/data/ocr, built by benchmarks/ocr_set.py): bare tesseract,
vidcot's tesseract reader as it was (`--before`), as it is, and RapidOCR (PP-OCRv6, the default).

    .venv/bin/python benchmarks/ocr.py [--before REV] [--out benchmarks/results/ocr.json]

Per kind of frame (rendered counters, outlined overlays, signs, interface text, title cards, real footage without
text): word precision and recall (case-sensitive, per frame, "maybe" words not penalised), the share of frames
whose text is read exactly (whitespace ignored: at keyframe size the gap in "0 /" is a pixel or two), and seconds
per frame (wall, and CPU with child processes, since tesseract runs as one). "bare tesseract" is `tesseract FILE -`
on the keyframe JPEG, its whole output.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from curation.evidence.ocr import TesseractReader  # noqa: E402
from curation.evidence.ocr_rapid import RapidReader  # noqa: E402

DATA = ROOT / "tests" / "data" / "ocr"
# The last commit with the old tesseract reader (numbers next to symbols dropped).
BEFORE = "68da48f"

Reader = Callable[[Sequence[np.ndarray], Sequence[Path]], list[str]]


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def bare_tesseract(images: Sequence[np.ndarray], paths: Sequence[Path]) -> list[str]:
    """`tesseract FILE -` per keyframe: every word it prints."""
    out = []
    for p in paths:
        run = subprocess.run(["tesseract", str(p), "-"], capture_output=True, text=True, check=False)
        out.append(" ".join(run.stdout.split()))
    return out


def old_tesseract(rev: str) -> Reader:
    """vidcot's tesseract reader as committed at `rev`, loaded from git into a module of its own."""
    src = subprocess.run(
        ["git", "show", f"{rev}:curation/evidence/ocr.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"ocr_{rev}")
    sys.modules[module.__name__] = module  # its dataclasses look their module up
    exec(compile(src, f"{rev}:curation/evidence/ocr.py", "exec"), module.__dict__)  # noqa: S102 - our own history

    def read(images: Sequence[np.ndarray], paths: Sequence[Path]) -> list[str]:
        return [" ".join(w.label for w in f) for f in module.read_text(list(images))]

    return read


def reader(r: TesseractReader | RapidReader) -> Reader:
    r.setup()

    def read(images: Sequence[np.ndarray], paths: Sequence[Path]) -> list[str]:
        return [" ".join(w.label for w in f) for f in r.read(images)]

    return read


def word_counts(said: str, shown: str, maybe: Sequence[str]) -> Counter[str]:
    """True positives, false positives (not counting "maybe" words) and misses, by word."""
    s, t = Counter(said.split()), Counter(shown.split())
    hit = s & t
    fp = sum(n for w, n in (s - hit).items() if w not in maybe)
    return Counter(tp=sum(hit.values()), fp=fp, fn=sum((t - hit).values()))


def summary(c: Counter[str], exact: int, frames: int) -> dict[str, Any]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), "exact": f"{exact}/{frames}", **c}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE, help="git revision of the old tesseract reader")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ocr.json")
    args = ap.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    cv2.setNumThreads(1)
    labels = json.loads((DATA / "labels.json").read_text())["frames"]
    paths = [DATA / lab["file"] for lab in labels]
    images = [cv2.imread(str(p)) for p in paths]
    readers: dict[str, Reader] = {
        "bare tesseract": bare_tesseract,
        "vidcot tesseract before": old_tesseract(args.before),
        "vidcot tesseract now": reader(TesseractReader()),
        "rapidocr (default)": reader(RapidReader()),
    }
    result: dict[str, Any] = {"before": args.before, "frames": len(labels), "load": os.getloadavg(), "readers": {}}
    for name, read in readers.items():
        t0, c0 = time.perf_counter(), cpu_seconds()
        said = read(images, paths)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        per_kind: dict[str, tuple[Counter[str], int, int]] = {}
        wrong = []
        for s, lab in zip(said, labels, strict=True):
            c, exact, n = per_kind.get(lab["kind"], (Counter(), 0, 0))
            c.update(word_counts(s, lab["text"], lab["maybe_text"]))
            ok = "".join(s.split()) == "".join(lab["text"].split())
            per_kind[lab["kind"]] = (c, exact + ok, n + 1)
            if not ok:
                wrong.append(f"{lab['file']}: {s!r}")
        total = Counter[str]()
        for c, _, _ in per_kind.values():
            total.update(c)
        result["readers"][name] = {
            "all": summary(total, sum(e for _, e, _ in per_kind.values()), len(labels)),
            "kinds": {k: summary(*v) for k, v in per_kind.items()},
            "s_per_frame": round(wall / len(labels), 3),
            "cpu_s_per_frame": round(cpu / len(labels), 3),
            "mismatches": wrong,
        }
    result["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    kinds = list(result["readers"]["rapidocr (default)"]["kinds"])
    print("| reader | " + " | ".join(f"{k} P/R/exact" for k in kinds) + " | all P/R/exact | s/frame | CPU s/frame |")
    print("|---" * (len(kinds) + 4) + "|")
    for name, r in result["readers"].items():
        cells = [f"{v['precision']}/{v['recall']}/{v['exact']}" for v in (r["kinds"][k] for k in kinds)]
        a = r["all"]
        print(
            f"| {name} | {' | '.join(cells)} | {a['precision']}/{a['recall']}/{a['exact']} | "
            f"{r['s_per_frame']} | {r['cpu_s_per_frame']} |"
        )


if __name__ == "__main__":
    main()
