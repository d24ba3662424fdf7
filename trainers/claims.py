"""Claims in a chain of thought, and checking them against the keyframe evidence and transcript of the times cited.

Claims read from the think part, sentence by sentence (each sentence is checked against the range it cites, or
the last range cited before it, or the whole video when nothing was cited yet):

- `time`   — every cited `[t s]` / `[a–b s]` lies in [0, duration]; a span's ends agree with a shot boundary or a
             transcript segment/word boundary within `boundary_tol_s`;
- `object` — a COCO label (or any label this video's evidence uses) is detected in a keyframe of the range;
- `count`  — "two people", "3 cars": some keyframe in the range shows exactly that many;
- `colour` — a basic colour name is among the range's dominant colours;
- `text`   — a quoted string appears in the range's OCR text;
- `speech` — a quoted string in a sentence that says it is spoken ("says", "is heard", …) is in the transcript
             within the range;
- `absent` — in a negated sentence ("no keyframe shows a dog", "never says \"…\""), objects and quotes are claims
             of absence: supported when the range's evidence (or transcript) does *not* contain them.

The range's keyframes are those within ±`time_tol_s` of it plus those of the shots it overlaps.
`grounding` = supported claims / claims. A chain with no checkable claim gets NEUTRAL_GROUNDING (0.5) and the
flag `no_claims`: it is neither evidence of grounding nor of hallucination.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schemas import EvidenceRecord, VideoView
from trainers import vocab
from trainers.textview import CONCLUSION, MAX_COLOURS, MAX_OBJECTS, fmt_time, object_counts, overlapping_shots
from trainers.vocab import COCO_LABELS, COLOUR_WORDS, DECIMAL

NEUTRAL_GROUNDING = 0.5

SYNONYMS = {
    "people": "person", "man": "person", "men": "person", "woman": "person", "women": "person",
    "persons": "person", "boy": "person", "girl": "person", "child": "person", "children": "person",
    "bike": "bicycle", "motorbike": "motorcycle", "plane": "airplane", "aeroplane": "airplane",
    "television": "tv", "phone": "cell phone", "sofa": "couch", "doughnut": "donut", "automobile": "car",
}
# Counts a chain may state in words ("two people", "a single car"): word -> value.
NUMBER_WORDS = {word: n for n, word in enumerate(vocab.NUMBER_WORDS) if 1 <= n <= 10} | {"a single": 1}

_NUM = DECIMAL
_SPAN = re.compile(rf"\[\s*({_NUM})\s*s?\s*(?:–|—|-|to)\s*({_NUM})\s*s\s*\]")
_POINT = re.compile(rf"\[\s*({_NUM})\s*s\s*\]")
_QUOTED = re.compile(r"[\"“]([^\"”]{2,})[\"”]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[\"“])")


@dataclass
class Claim:
    """One checkable statement: its kind, value, the time range it was checked against, and the verdict."""

    kind: str  # time, object, count, colour, text, speech, absent
    value: str
    start: float
    end: float
    supported: bool
    why: str = ""
    # The evidence says otherwise (not merely silent): a count the keyframes see differently, a colour or text
    # the range shows others of, a quote not in the transcript, a time outside the video, a wrong shot number.
    contradicted: bool = False

    def describe(self) -> str:
        return f"{self.kind} {self.value!r} @[{fmt_time(self.start)}–{fmt_time(self.end)}s]: {self.why}"


@dataclass
class GroundingReport:
    """The claims of a chain and the grounding score (NEUTRAL_GROUNDING with flag `no_claims` when none)."""

    claims: list[Claim] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def unsupported(self) -> list[Claim]:
        return [c for c in self.claims if not c.supported]

    @property
    def score(self) -> float:
        if not self.claims:
            return NEUTRAL_GROUNDING
        return sum(c.supported for c in self.claims) / len(self.claims)


def _canon(word: str) -> str:
    w = word.lower()
    return SYNONYMS.get(w, "gray" if w == "grey" else w)


def _label_alternatives(labels: set[str]) -> str:
    words = sorted(labels | set(SYNONYMS), key=len, reverse=True)  # longest first: "hot dog" before "dog"
    return "|".join(re.escape(w) for w in words)


def _norm_text(s: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", s.lower()))


def cited_ranges(sentence: str) -> list[tuple[float, float, bool]]:
    """The (start, end, is_span) times a sentence cites, in order."""
    out = [(float(a), float(b), True) for a, b in _SPAN.findall(sentence)]
    out += [(float(t), float(t), False) for t in _POINT.findall(sentence)]
    return out


def range_evidence(view: VideoView, start: float, end: float, tol: float) -> list[EvidenceRecord]:
    """Evidence of keyframes within ±tol of [start, end] and of the shots that range overlaps."""
    shots = {s.shot_id for s in overlapping_shots(view, start, end)}
    return [e for e in view.evidence if start - tol <= e.time <= end + tol or e.shot_id in shots]


def _boundaries(view: VideoView) -> list[float]:
    times = [0.0, view.duration]
    times += [t for s in view.shots for t in (s.start, s.end)]
    times += [t for s in view.segments for t in (s.start, s.end)]
    times += [t for w in view.words for t in (w.start, w.end)]
    return times


def check_time(view: VideoView, start: float, end: float, is_span: bool, boundary_tol: float) -> Claim:
    """Whether a cited time lies in the video and (for spans) starts and ends on a boundary."""
    label = f"{fmt_time(start)}–{fmt_time(end)}s" if is_span else f"{fmt_time(start)}s"
    dur = view.duration
    if start < 0 or end > dur + 1e-3 or start > end:
        return Claim("time", label, start, end, False, f"outside the video (0–{fmt_time(dur)}s)", True)
    if is_span:
        bounds = _boundaries(view)
        far = [t for t in (start, end) if min(abs(t - b) for b in bounds) > boundary_tol]
        if far:
            return Claim("time", label, start, end, False, "does not match a shot or transcript boundary")
    return Claim("time", label, start, end, True)


def check_chain(
    think: str, view: VideoView, time_tol_s: float = 0.5, boundary_tol_s: float = 0.5
) -> GroundingReport:
    """Extract the claims of a think text and check each against the evidence of the range it refers to."""
    checker = ClaimChecker(view, time_tol_s, boundary_tol_s)
    report = GroundingReport()
    current = (0.0, view.duration)
    for sentence in split_sentences(think):
        if sentence.startswith(CONCLUSION):
            continue
        claims, current = checker.sentence(sentence, current)
        report.claims += claims
    if not report.claims:
        report.flags.append("no_claims")
    return report


class ClaimChecker:
    """Claim extraction and checking for one video (the label vocabulary includes the video's own labels)."""

    def __init__(self, view: VideoView, time_tol_s: float, boundary_tol_s: float) -> None:
        self.view = view
        self.time_tol_s = time_tol_s
        self.boundary_tol_s = boundary_tol_s
        labels = {_canon(lab) for lab in COCO_LABELS} | {o.label.lower() for e in view.evidence for o in e.objects}
        self.labels = labels
        alts = _label_alternatives(labels)
        self.objects = re.compile(rf"\b({alts})(?:e?s)?\b", re.IGNORECASE)
        nums = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
        self.counts = re.compile(rf"\b(\d+|{nums})\s+(?:[a-z]+\s+)?({alts})(?:e?s)?\b", re.IGNORECASE)

    def sentence(
        self, sentence: str, current: tuple[float, float]
    ) -> tuple[list[Claim], tuple[float, float]]:
        """The claims of one sentence, and the range later uncited sentences refer to."""
        ranges = cited_ranges(sentence)
        claims = [check_time(self.view, a, b, span, self.boundary_tol_s) for a, b, span in ranges]
        if ranges:
            current = (min(r[0] for r in ranges), max(r[1] for r in ranges))
        evidence = range_evidence(self.view, current[0], current[1], self.time_tol_s)
        return claims + self.content(sentence, evidence, current), current

    def content(self, sentence: str, evidence: list[EvidenceRecord], rng: tuple[float, float]) -> list[Claim]:
        """The content claims of a sentence (objects, counts, colours, quoted text or speech), checked against
        `evidence` (and the transcript within `rng`)."""
        a, b = rng
        negated = is_negated(sentence)
        prose = strip_citations(sentence)
        claims: list[Claim] = []
        per_frame: dict[str, list[int]] = {}  # label -> its count in each keyframe that shows it
        for ev in evidence:
            per: dict[str, int] = {}
            for o in ev.objects:
                per[_canon(o.label)] = per.get(_canon(o.label), 0) + 1
            if ev.people:
                per["person"] = max(per.get("person", 0), ev.people)
            for lab, n in per.items():
                per_frame.setdefault(lab, []).append(n)
        counted: set[int] = set()
        for m in self.counts.finditer(prose):
            if negated:
                break
            n = int(m.group(1)) if m.group(1).isdigit() else NUMBER_WORDS[m.group(1).lower()]
            lab = _canon(m.group(2))
            ok = n in per_frame.get(lab, [])
            why = "" if ok else f"keyframes show {per_frame.get(lab, [0])}"
            claims.append(Claim("count", f"{n} {lab}", a, b, ok, why, not ok and lab in per_frame))
            counted.add(m.start(2))
        colours = {_canon(c) for ev in evidence for c in ev.colours}
        # A word that names an object and a colour ("orange") is read by its context, else by what is there.
        as_colour: set[int] = set()  # where such a word is the colour
        for m in self.objects.finditer(prose):
            lab = _canon(m.group(1))
            if lab not in COLOUR_WORDS or m.start(1) in counted:
                continue
            sense = colour_sense(prose, m.start(1), m.end(0))
            if sense is None:
                sense = "object" if lab in per_frame and lab not in colours else "colour"
            if sense == "colour":
                as_colour.add(m.start(1))
        found: set[str] = set()
        for m in self.objects.finditer(prose):
            lab = _canon(m.group(1))
            if lab in found or m.start(1) in counted or m.start(1) in as_colour:
                continue
            found.add(lab)
            if negated:
                ok = lab not in per_frame
                claims.append(Claim("absent", lab, a, b, ok, "" if ok else "detected in these keyframes", not ok))
            else:
                ok = lab in per_frame
                claims.append(Claim("object", lab, a, b, ok, "" if ok else "not detected in these keyframes"))
        named = [
            _canon(w.group(0)) for w in re.finditer(r"[a-z]+", prose.lower())
            if w.group(0) in COLOUR_WORDS and (w.group(0) not in self.labels or w.start() in as_colour)
        ]  # fmt: skip
        for c in dict.fromkeys(named):
            if negated:
                continue  # "no red car" says nothing checkable about the colours present
            ok = c in colours
            why = "" if ok else f"colours here: {sorted(colours)}"
            claims.append(Claim("colour", c, a, b, ok, why, not ok and bool(colours)))
        spoken = is_speech(prose)
        ocr = _norm_text(" ".join(ev.ocr_text for ev in evidence))
        heard = _norm_text(" ".join(transcript_words(self.view, a - self.time_tol_s, b + self.time_tol_s)))
        for q in _QUOTED.findall(sentence):
            want = _norm_text(q)
            if not want:
                continue
            where, kind = (heard, "speech") if spoken else (ocr, "text")
            present = f" {want} " in f" {where} "
            if negated:
                ok = not present
                why = "" if ok else ("in the transcript here" if spoken else "in the on-screen text here")
                claims.append(Claim("absent", q, a, b, ok, why, not ok))
            else:
                why = "" if present else ("not in the transcript here" if spoken else "not in the on-screen text here")
                # Silence about a quote is no contradiction: no OCR text here, or a video without a transcript.
                known = bool(self.view.segments or self.view.words) if spoken else bool(ocr)
                claims.append(Claim(kind, q, a, b, present, why, not present and known))
        return claims


# Context that makes a word naming both a fruit and a colour ("orange") the colour, or the thing.
_COLOUR_NOUNS = frozenset(["colour", "colours", "color", "colors", "coloured", "colored", "hue", "hues", "tint",
                           "tone", "tones", "shade", "shades", "palette"])  # fmt: skip
_COLOUR_BEFORE = frozenset(["is", "are", "was", "were", "looks", "appears", "in", "mostly", "mainly", "bright",
                            "dark", "light", "pale", "deep", "vivid", "warm", "dominant", "prominent"])  # fmt: skip
_COLOURED_THINGS = frozenset(["shirt", "shirts", "jacket", "coat", "dress", "hat", "cap", "clothes", "clothing",
                              "wall", "walls", "sky", "background", "sign", "text", "letters", "logo", "sunset",
                              "fire", "flames", "glow", "light", "lights", "paint", "stripe", "stripes"])  # fmt: skip
_THING_AFTER = frozenset(["fruit", "fruits", "peel", "slice", "slices", "juice", "tree", "trees", "segment"])


def colour_sense(prose: str, start: int, end: int) -> str | None:
    """How `prose[start:end]`, a word that names an object and a colour ("orange"), is meant: "colour" ("the
    colour orange", "orange colour", "is orange", "in orange", "red and orange", "an orange car"), "object"
    ("oranges", "an orange", "orange juice"), or None when the sentence does not say."""
    text = prose.lower()
    before = re.findall(r"[a-z]+", text[:start])[-4:]
    after = re.findall(r"[a-z]+", text[end:])[:2]
    if text[start:end].endswith("s") or (after and after[0] in _THING_AFTER):
        return "object"
    if after and (after[0] in _COLOUR_NOUNS or after[0] in _COLOURED_THINGS or after[0] in COLOUR_WORDS):
        return "colour"  # "orange colour", "orange shirt", "orange red"
    if len(after) == 2 and after[0] in ("and", "or") and after[1] in COLOUR_WORDS:
        return "colour"  # "orange and blue"
    if before and before[-1] in _COLOUR_BEFORE:
        return "colour"  # "is orange", "in orange", "bright orange"
    if len(before) >= 2 and before[-1] in ("and", "or") and before[-2] in COLOUR_WORDS:
        return "colour"  # "red and orange"
    if any(w in _COLOUR_NOUNS for w in before):
        return "colour"  # "the colour orange", "the colours red, blue and orange"
    if before and before[-1] in ("a", "an", "one"):
        return "object"  # "an orange"; "an orange car" was read above
    return None


_NEGATION = re.compile(r"\b(?:no|not|never|none|nowhere|nothing|neither|nor)\b|n't\b", re.IGNORECASE)
_SPEECH = re.compile(
    r"\b(?:say|says|said|saying|speak|speaks|spoke|spoken|speaking|speech|heard|hear|hears|narrat\w*|voice|"
    r"transcript)\b",
    re.IGNORECASE,
)
KEYFRAME_CITE = re.compile(r"\[kf ([\w-]+(?:,\s*[\w-]+)*)\]")
BOX_CITE = re.compile(
    rf"\[box\s*({_NUM}),\s*({_NUM}),\s*({_NUM}),\s*({_NUM})\s*@\s*({_NUM})\s*s\]"
)


def is_negated(sentence: str) -> bool:
    """Whether a sentence states an absence ("no keyframe shows a dog", "is never said")."""
    return _NEGATION.search(_QUOTED.sub(" ", sentence)) is not None


def is_speech(prose: str) -> bool:
    """Whether a sentence's quotes are speech (it says they are said or heard), not on-screen text."""
    return _SPEECH.search(prose) is not None


def strip_citations(sentence: str) -> str:
    """The sentence without its citations and quotes: the prose whose words are claims."""
    out = KEYFRAME_CITE.sub(" ", BOX_CITE.sub(" ", sentence))
    return _QUOTED.sub(" ", _POINT.sub(" ", _SPAN.sub(" ", out)))


def transcript_words(view: VideoView, start: float, end: float) -> list[str]:
    """The words spoken within [start, end] (by word timestamps; by segment when there are no words)."""
    if view.words:
        ws = sorted(view.words, key=lambda w: (w.start, w.index))
        return [w.word for w in ws if w.end >= start and w.start <= end]
    segs = sorted(view.segments, key=lambda s: s.start)
    return [s.text for s in segs if s.end >= start and s.start <= end]


def speech_times(view: VideoView, quote: str) -> list[tuple[float, float]]:
    """Where a quoted phrase is said: (start, end) of each occurrence in the word (or segment) timeline."""
    want = _norm_text(quote).split()
    if not want:
        return []
    if view.words:
        ws = sorted(view.words, key=lambda w: (w.start, w.index))
        units = [(w.start, w.end, _norm_text(w.word).split()) for w in ws]
    else:
        units = [(s.start, s.end, _norm_text(s.text).split()) for s in sorted(view.segments, key=lambda s: s.start)]
    flat = [(a, b, tok) for a, b, toks in units for tok in toks]
    n = len(want)
    return [
        (flat[i][0], flat[i + n - 1][1])
        for i in range(len(flat) - n + 1)
        if [t for _, _, t in flat[i : i + n]] == want
    ]


def split_sentences(text: str) -> list[str]:
    """Sentences of a think text (a citation like `[4.00–8.00s]` never splits one)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def evidence_statement(view: VideoView, start: float, end: float, time_tol_s: float) -> str:
    """What the keyframes of each shot in [start, end] show, as checkable sentences citing the shots' times."""
    shots = sorted(view.shots, key=lambda s: s.start)
    parts = []
    for s in overlapping_shots(view, start, end):
        ev = range_evidence(view, s.start, s.end, time_tol_s)
        k = shots.index(s) + 1
        parts.append(f"In shot {k} [{fmt_time(s.start)}–{fmt_time(s.end)}s], the keyframes show {_describe(ev)}.")
    return " ".join(parts)


def _describe(evidence: list[EvidenceRecord]) -> str:
    """Evidence as prose the claim checker reads back as supported ("2 people", "the text \"OPEN\"")."""
    parts: list[str] = []
    for lab, n in object_counts(evidence).most_common(MAX_OBJECTS):
        parts.append(f"{n} {_plural(lab)}" if n > 1 else f"a {lab}")
    texts = list(dict.fromkeys(" ".join(ev.ocr_text.split()) for ev in evidence if ev.ocr_text.strip()))
    parts += [f'the text "{t}"' for t in texts[:2]]
    colours = list(dict.fromkeys(c for ev in evidence for c in ev.colours))[:MAX_COLOURS]
    if colours:
        parts.append(("the colour " if len(colours) == 1 else "the colours ") + _join(colours))
    return _join(parts) if parts else "nothing that the detectors recognise"


def _plural(label: str) -> str:
    if label == "person":
        return "people"
    return label + ("es" if label.endswith(("s", "x", "ch", "sh")) else "s")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# ----------------------------------------------------------------------------------------------------
# Consistency: what the chain says about the video's structure, and claims the evidence contradicts

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_SHOT_REF = re.compile(
    rf"\b(?:shot (\d+)|({'|'.join(_ORDINALS)}) shot)\b[^.\[]{{0,40}}?(?:\[\s*({_NUM})\s*s?\s*(?:–|—|-|to)\s*({_NUM})"
    rf"\s*s\s*\]|\[\s*({_NUM})\s*s\s*\])",
    re.IGNORECASE,
)
_DURATION = re.compile(
    rf"\b(?:video|clip)\s+(?:is|lasts|runs(?: for)?)\s+(?:about\s+|exactly\s+)?({_NUM})\s*(?:s|sec|secs|seconds)\b",
    re.IGNORECASE,
)
_SHOT_COUNT = re.compile(
    r"\b(?:video|clip)\s+(?:has|contains|consists of|is made of)\s+(\d+|"
    + "|".join(vocab.NUMBER_WORDS)
    + r")\s+(?:separate\s+|distinct\s+|different\s+)?(?:shots|takes)\b",
    re.IGNORECASE,
)


def structure_claims(sentence: str, view: VideoView) -> list[Claim]:
    """Claims about the video's structure in one sentence: "shot 3 [6.00–9.00s]" / "the third shot … [6.00s]"
    (that shot's times), "the video is 12.00 seconds long" (its duration), "the video has 4 shots" (its shots)."""
    claims: list[Claim] = []
    shots = sorted(view.shots, key=lambda s: s.start)
    dur = view.duration
    for m in _SHOT_REF.finditer(sentence):
        if not shots:
            break
        k = int(m.group(1)) if m.group(1) else _ORDINALS.index(m.group(2).lower()) + 1
        if m.group(5) is not None:
            a = b = float(m.group(5))
        else:
            a, b = float(m.group(3)), float(m.group(4))
        if not 1 <= k <= len(shots):
            claims.append(Claim("shot", f"shot {k}", a, b, False, f"the video has {len(shots)} shots", True))
            continue
        s = shots[k - 1]
        inside = s.start - 0.05 <= (a + b) / 2 <= s.end + 0.05
        why = "" if inside else f"shot {k} is [{fmt_time(s.start)}–{fmt_time(s.end)}s]"
        claims.append(Claim("shot", f"shot {k}", a, b, inside, why, not inside))
    for m in _DURATION.finditer(sentence):
        x = float(m.group(1))
        ok = abs(x - dur) <= max(0.05, 0.01 * dur)
        why = "" if ok else f"the video is {fmt_time(dur)}s long"
        claims.append(Claim("duration", f"{m.group(1)}s", 0.0, dur, ok, why, not ok))
    for m in _SHOT_COUNT.finditer(sentence):
        if not shots:
            break
        word = m.group(1).lower()
        n = int(word) if word.isdigit() else vocab.NUMBER_WORDS.index(word)
        ok = n == len(shots)
        why = "" if ok else f"the video has {len(shots)} shots"
        claims.append(Claim("shots", str(n), 0.0, dur, ok, why, not ok))
    return claims


def contradictions(
    think: str, view: VideoView, time_tol_s: float = 0.5, boundary_tol_s: float = 0.5
) -> list[Claim]:
    """The claims of a think text that the evidence of the range they refer to contradicts (`Claim.contradicted`),
    plus wrong statements about the video's structure (`structure_claims`). Claims the evidence is merely silent
    on (an object no detector reported) are not contradictions; `check_chain`'s grounding score counts those."""
    found = [c for c in check_chain(think, view, time_tol_s, boundary_tol_s).claims if c.contradicted]
    for sentence in split_sentences(think):
        if not sentence.startswith(CONCLUSION):
            found += [c for c in structure_claims(sentence, view) if c.contradicted]
    return found
