"""Object evidence on hand-labelled real keyframes (tests/data/objects): per-class score thresholds learned on half
of them, precision and recall before and after on the other half and on all.

    .venv/bin/python benchmarks/objects.py [--write] [--out benchmarks/results/objects.json]

Learning: frames with an even index are the training half, odd ones are held out. Frames of one clip fall in both
halves (a few seconds apart, often the same shot), so the held-out numbers are optimistic for footage unlike these
clips. For each class the detector reports on the training half, the threshold is the lowest one at which the
detections at or above it are right at least `--precision` of the time (per keyframe and label; "maybe" labels
neither count for nor against), starting from a prior (the hand-set thresholds of people and vehicles, else the
stage's `object_threshold`) and lowered only to a right detection's score; a class with no right detection there
gets a threshold above its best wrong score; a class the labels never show keeps the stage's default. `--write` rewrites
`curation/evidence/thresholds.py` with the learned table.

"before" is the rule as it was: per-class thresholds for people and vehicles, 0.75 for the rest, and a label at 0.4
or more also kept when the adjacent labelled keyframe of the same clip shows it (the labelled frames stand in for
the keyframes of one shot, which is the most that rule could confirm).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import cv2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from curation.evidence.detector import ObjectDetector, best_per_spot, confident_objects  # noqa: E402
from curation.evidence.stage import EvidenceConfig  # noqa: E402
from schemas import DetectedObject  # noqa: E402

DATA = ROOT / "tests" / "data" / "objects"
TABLE = ROOT / "curation" / "evidence" / "thresholds.py"
OLD_CLASS = {"person": 0.45, "car": 0.5, "bicycle": 0.5, "motorcycle": 0.5, "bus": 0.5, "truck": 0.5}


def counts(kept: list[list[DetectedObject]], labels: list[dict[str, Any]]) -> Counter[str]:
    c: Counter[str] = Counter()
    for objs, lab in zip(kept, labels, strict=True):
        said, truth, maybe = {o.label for o in objs}, set(lab["objects"]), set(lab["maybe"])
        c.update(tp=len(said & truth), fp=len(said - truth - maybe), fn=len(truth - said))
    return c


def prf(c: Counter[str]) -> dict[str, Any]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), **c}


def before(raw: list[list[DetectedObject]], labels: list[dict[str, Any]]) -> list[list[DetectedObject]]:
    """The old rule: its thresholds, and a label at 0.4+ confirmed by the same label on an adjacent frame."""
    spots = [
        best_per_spot([o for o in objs if o.label in OLD_CLASS or (o.x2 - o.x1) * (o.y2 - o.y1) <= 0.9], 0.5)
        for objs in raw
    ]
    seen = [{o.label for o in objs if o.score >= 0.4} for objs in spots]
    out = []
    for i, objs in enumerate(spots):
        near = set().union(
            *(seen[j] for j in (i - 1, i + 1) if 0 <= j < len(raw) and labels[j]["clip"] == labels[i]["clip"])
        )
        out.append([o for o in objs if o.score >= OLD_CLASS.get(o.label, 0.75) or (o.score >= 0.4 and o.label in near)])
    return out


def learn(
    raw: list[list[DetectedObject]], labels: list[dict[str, Any]], target: float, floor: float, default: float
) -> dict[str, float]:
    """Per class, the lowest threshold at which its detections at or above it are right `target` of the time,
    among its prior (`OLD_CLASS`, else `default`), just under a right detection's score, or just over its best wrong
    one (then nothing above it was seen: the class is as good as off). A class is never lowered below its prior
    except to a right detection's score, so a class seen a few times keeps its prior."""
    scored: dict[str, list[tuple[float, bool]]] = {}
    for objs, lab in zip(raw, labels, strict=True):
        best: dict[str, float] = {}
        for o in best_per_spot(objs, 0.5):
            best[o.label] = max(best.get(o.label, 0.0), o.score)
        for label, score in best.items():
            if label in lab["maybe"]:
                continue
            scored.setdefault(label, []).append((score, label in lab["objects"]))
    table = {}
    for label, pairs in sorted(scored.items()):

        def precise(t: float, pairs: list[tuple[float, bool]] = pairs) -> bool:
            above = [ok for s, ok in pairs if s >= t]
            return not above or sum(above) / len(above) >= target

        wrong_best = max((s for s, ok in pairs if not ok), default=0.0)
        cuts = [OLD_CLASS.get(label, default), min(1.0, round(wrong_best + 0.01, 2))]
        cuts += [round(s - 0.005, 3) for s, ok in pairs if ok]
        table[label] = max(floor, min(t for t in cuts if precise(t)))
    return table


def write_table(table: dict[str, float], args: argparse.Namespace, n: int) -> None:
    lines = "\n".join(f'    "{k}": {v},' for k, v in sorted(table.items()))
    TABLE.write_text(
        f'''"""Per-class detector score thresholds for SSD MobileNet v2 on real footage, learned by
`benchmarks/objects.py` on {n} hand-labelled real keyframes (tests/data/objects, the even-numbered half): the lowest
threshold at which that class's detections were right at least {args.precision:.0%} of the time (from a prior, lowered
only to a right detection's score), or just above its best wrong score where it was never right. Classes not listed
get the stage's `class_thresholds` for vehicles or its `object_threshold`.
"""

LEARNED: dict[str, float] = {{
{lines}
}}
'''
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", type=float, default=0.95, help="precision a class threshold must reach (train)")
    ap.add_argument("--write", action="store_true", help="rewrite curation/evidence/thresholds.py")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "objects.json")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    labels = json.loads((DATA / "labels.json").read_text())["frames"]
    images = [cv2.imread(str(DATA / lab["file"])) for lab in labels]
    cfg = EvidenceConfig()
    floor = cfg.min_score  # the stage's detector reports nothing below it
    raw = ObjectDetector(floor).detect(images)
    train = [i for i in range(len(labels)) if i % 2 == 0]
    held = [i for i in range(len(labels)) if i % 2 == 1]
    table = learn([raw[i] for i in train], [labels[i] for i in train], args.precision, floor, cfg.object_threshold)
    if args.write:
        write_table(table, args, len(train))
    after = confident_objects(
        raw, cfg.object_threshold, {**cfg.class_thresholds, **table}, cfg.overlap, cfg.max_box_area
    )
    old = before(raw, labels)
    result: dict[str, Any] = {"frames": len(labels), "learned": table, "default": cfg.object_threshold, "scores": {}}
    for name, idx in (("held-out", held), ("train", train), ("all", list(range(len(labels))))):
        for version, kept in (("before", old), ("after", after)):
            result["scores"][f"{version}:{name}"] = prf(counts([kept[i] for i in idx], [labels[i] for i in idx]))
    wrong = {}
    for i, lab in enumerate(labels):
        false = {o.label for o in after[i]} - set(lab["objects"]) - set(lab["maybe"])
        if false:
            wrong[lab["file"]] = {"false": sorted(false), "raw": [(o.label, round(o.score, 3)) for o in raw[i]]}
    result["after_false_labels"] = wrong
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(table))
    print("| half | before P | before R | after P | after R |\n|---|---|---|---|---|")
    for name in ("held-out", "train", "all"):
        b, a = result["scores"][f"before:{name}"], result["scores"][f"after:{name}"]
        print(f"| {name} | {b['precision']} | {b['recall']} | {a['precision']} | {a['recall']} |")
    print(json.dumps(wrong))


if __name__ == "__main__":
    main()
