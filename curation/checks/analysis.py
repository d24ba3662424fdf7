"""Does a chain's reasoning derive its answer from the evidence the question is about? Pure text analysis.

Three judgements of a think text against its task (and, where a video's records are needed, its `VideoView`),
each a function that returns None when the chain passes and otherwise a one-line detail of what is wrong:

- `coherence(think)` — the reasoning reads as language: no n-gram loop ("a person wearing a person wearing"), no
  token salad (spaced colons or clock runs between digits like "68: 20", "20:00:02"; words broken off with a
  hyphen like "frame-."), no truncated sentence (one ending in "the.", "with.", an ellipsis, an open quote, or
  no end punctuation at all).
- `support(think, task, answer, view)` — the reasoning before the conclusion (`textview.CONCLUSION`) states the
  evidence that decides the chain's answer, per problem type (see `support` for each rule).
- `relevance(think, task, view)` — a question about a time range (or one shot) cites evidence inside it, and the
  cited evidence overlaps the task's own evidence (its shots, keyframes or transcript segments).

Consistency (nothing claimed that the cited evidence contradicts) is `trainers.claims.contradictions`.
A citation is a time `[12.40s]`, a span `[12.40–15.00s]`, a keyframe `[kf f00003]` (at its time, when the view is
known) or a box `[box … @ 12.40s]`; a sentence without one refers to the last range cited before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schemas import TaskRecord, VideoView
from trainers.claims import (
    _POINT,
    _QUOTED,
    _SPAN,
    BOX_CITE,
    KEYFRAME_CITE,
    SYNONYMS,
    is_negated,
    split_sentences,
    strip_citations,
)
from trainers.rewards import choice_letter, ordering_items, parse_boxes, parse_number, parse_span
from trainers.textview import CONCLUSION, fmt_time, short_frame_id
from trainers.vocab import NUMBER_WORDS, word_set

TIME_TOL = 0.06  # times are written with two decimals; a little more than rounding allows
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[a-z0-9]+")
_LETTERED = re.compile(r"^\s*([A-Za-z])\s*[.)]\s*(.*)$", re.DOTALL)
_QUOTE = re.compile(r"[\"“]([^\"”]+)[\"”]")
_BETWEEN = re.compile(r"between (\d+(?:\.\d+)?)s and (\d+(?:\.\d+)?)s")
_SHOT_BEGINS = re.compile(r"shot that begins at (\d+(?:\.\d+)?)s")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_ORDINAL_SHOT = re.compile(rf"\b({'|'.join(ORDINALS)}) shot\b", re.IGNORECASE)
_COUNT_OBJECTS = re.compile(r"^How many (.+?) can be seen", re.IGNORECASE)
_BOX_LABEL = re.compile(r"^Where is the (.+?) between", re.IGNORECASE)
UNKNOWN_OPTION = "cannot be determined"
DURATION_WORDS = re.compile(r"\b(long|length|lasts?|duration|runs?|ends?|last frame|final frame)\b", re.IGNORECASE)
# Words a sentence cannot end on; a sentence that does was cut off.
DANGLING = word_set(
    "a an the of to with and or but in on at by for from is are was were be that which this its their as "
    "than then into onto"
)
_DESCRIPTION_NOISE = frozenset(["text", "colours", "colour", "seen", "nothing", "detected"])


# ----------------------------------------------------------------------------------------------------
# Sentences and what they cite


@dataclass
class Sentence:
    """A reasoning sentence, the ranges it cites itself, and the range it refers to (its own or the last cited)."""

    text: str
    ranges: list[tuple[float, float]] = field(default_factory=list)
    current: tuple[float, float] | None = None


def reasoning(think: str) -> str:
    """The think text before its conclusion sentence ("So the answer is …"); all of it when there is none."""
    at = think.rfind(CONCLUSION)
    return think[:at].strip() if at >= 0 else think.strip()


def cited(sentence: str, view: VideoView | None = None) -> list[tuple[float, float]]:
    """Every (start, end) a sentence cites: spans, points, box times and (with a view) keyframe times."""
    out = [(float(a), float(b)) for a, b in _SPAN.findall(sentence)]
    without_spans = _SPAN.sub(" ", sentence)
    out += [(float(t), float(t)) for t in _POINT.findall(without_spans)]
    out += [(float(m.group(5)), float(m.group(5))) for m in BOX_CITE.finditer(sentence)]
    if view is not None:
        times = {short_frame_id(f.frame_id): f.time for f in view.frames}
        for m in KEYFRAME_CITE.finditer(sentence):
            for kf in m.group(1).split(","):
                t = times.get(kf.strip())
                if t is not None:
                    out.append((t, t))
    return out


def sentences(think: str, view: VideoView | None = None) -> list[Sentence]:
    """The reasoning's sentences with their citations (the conclusion left out)."""
    out: list[Sentence] = []
    current: tuple[float, float] | None = None
    for text in split_sentences(reasoning(think)):
        ranges = cited(text, view)
        if ranges:
            current = (min(a for a, _ in ranges), max(b for _, b in ranges))
        out.append(Sentence(text, ranges, current))
    return out


def all_cited(think: str, view: VideoView | None = None) -> list[tuple[float, float]]:
    """Every range the reasoning cites, in order."""
    return [r for s in sentences(think, view) for r in s.ranges]


# ----------------------------------------------------------------------------------------------------
# Words


# Plurals no suffix rule undoes, and words that only look plural.
IRREGULAR = {
    "people": "person", "men": "man", "women": "woman", "children": "child", "mice": "mouse", "geese": "goose",
    "feet": "foot", "teeth": "tooth", "oxen": "ox", "dice": "die", "knives": "knife", "wives": "wife",
    "lives": "life", "leaves": "leaf", "shelves": "shelf", "wolves": "wolf", "halves": "half", "loaves": "loaf",
    "calves": "calf", "thieves": "thief", "scarves": "scarf", "selves": "self", "potatoes": "potato",
    "tomatoes": "tomato", "heroes": "hero", "echoes": "echo", "quizzes": "quiz", "movies": "movie",
    "cookies": "cookie", "zombies": "zombie", "selfies": "selfie", "brownies": "brownie", "calories": "calorie",
    "headaches": "headache", "caches": "cache", "niches": "niche", "avalanches": "avalanche",
    "moustaches": "moustache", "mustaches": "mustache", "cliches": "cliche",
}  # fmt: skip
# Singular nouns that end in s: their plural adds -es ("buses"), and as written they are no plural.
ENDS_IN_S = word_set(
    "bus gas lens canvas atlas virus campus bonus circus walrus iris chorus census status cactus octopus plus "
    "bias alias lotus fungus corpus genus news series species means cosmos chaos ethos pathos kudos thermos "
    "scissors skis trousers pants jeans shorts"
)


def singular(word: str) -> str:
    """The singular of a lower-case English noun: irregulars ("people" → "person", "mice" → "mouse",
    "knives" → "knife"), -ies ("puppies" → "puppy"), -ses/-xes/-ches/-shes ("buses" → "bus", "glasses" →
    "glass", "boxes" → "box", "benches" → "bench", "dishes" → "dish"), else a plain -s ("cars" → "car",
    "houses" → "house", "shoes" → "shoe"). Words that only end in s ("bus", "glass", "this", "status") stay."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word in ENDS_IN_S or len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word  # too short to undo ("is", "has", "its"), or singular as written
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")) or (word.endswith("ses") and word[:-2] in ENDS_IN_S):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _singular(word: str) -> str:
    """`singular`, then synonyms folded ("men" → "man" → "person", "bikes" → "bike" → "bicycle")."""
    if word in SYNONYMS:
        return SYNONYMS[word]
    one = singular(word)
    return SYNONYMS.get(one, one)


def words(text: str) -> list[str]:
    """Lower-cased words, plurals and synonyms folded ("people" → "person", "cars" → "car", "grey" → "gray")."""
    return [_singular("gray" if w == "grey" else w) for w in _WORD.findall(text.lower())]


def mentions(text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `text` as whole words (case, plural and synonyms aside)."""
    want = words(phrase)
    have = words(text)
    n = len(want)
    return bool(want) and any(have[i : i + n] == want for i in range(len(have) - n + 1))


def _states_number(text: str, n: float, nouns: tuple[str, ...]) -> bool:
    """Whether `text` says "n <noun>" (digits or a number word, up to two words between)."""
    names = ["a single", "a", "an"] if n == 1 else []
    if n == int(n) and 0 <= n < len(NUMBER_WORDS):
        names.append(NUMBER_WORDS[int(n)])
    if n == int(n):
        names.append(str(int(n)))
    have = _WORD.findall(text.lower())
    joined = " ".join(have)
    noun_set = {w for noun in nouns for w in words(noun)}
    for name in names:
        for m in re.finditer(rf"\b{re.escape(name)}\b", joined):
            after = joined[m.end() :].split()[:3]
            if any(_singular(w) in noun_set for w in after):
                return True
    return False


def _close(a: float, b: float, tol: float = TIME_TOL) -> bool:
    return abs(a - b) <= max(tol, 0.01 * abs(b))


def _numbers(text: str) -> list[float]:
    return [float(x) for x in _NUMBER.findall(text)]


# ----------------------------------------------------------------------------------------------------
# Coherence

_SPACED_COLON = re.compile(r"\d+\s*:\s+\d+|\d+\s+:\s*\d+")
_CLOCK_RUN = re.compile(r"\d+:\d+:\d+")
_BROKEN_WORD = re.compile(r"\b[A-Za-z]{2,}-(?=[\s.,;:!?]|$)")
_END = re.compile(r"[.!?][\"”')\]]*$")


def _loop(tokens: list[str]) -> str | None:
    """A run that repeats back to back: one or two words three times, or three or more words twice."""
    for n in range(1, 9):
        copies = 3 if n <= 2 else 2
        for i in range(len(tokens) - n * copies + 1):
            gram = tokens[i : i + n]
            if all(tokens[i + k * n : i + (k + 1) * n] == gram for k in range(1, copies)):
                return " ".join(gram)
    return None


def _marked(text: str) -> str:
    """`text` with each citation as one word of its own ("at [8.00s]." → "at cite800.") and quotes left out: the
    prose the coherence tests read. A citation stays a word, so a sentence that ends on one is not cut off, and
    "at [1.00s], at [2.00s], at [3.00s]" is no loop of "at"; the same citation three times still is."""

    def word(m: re.Match[str]) -> str:
        return " cite" + "".join(re.findall(r"[0-9]", m.group(0))) + " "

    out = KEYFRAME_CITE.sub(word, BOX_CITE.sub(word, text))
    return _QUOTED.sub(" ", _POINT.sub(word, _SPAN.sub(word, out)))


_OPTION_WORDS = frozenset(["option", "options", "answer", "choice", "letter"])


def _dangling(sentence: str) -> str | None:
    """The word a sentence ends on when that cuts it off ("… next to the."), else None. A citation ("seen at
    [8.00s].") and an option letter ("It is A.", "That is option a.") end a sentence well."""
    last = re.findall(r"[A-Za-z0-9]+", _marked(sentence))
    if not last or last[-1].startswith("cite"):
        return None
    word = last[-1]
    if word.lower() not in DANGLING:
        return None
    if len(word) == 1 and (word.isupper() or (len(last) > 1 and last[-2].lower() in _OPTION_WORDS)):
        return None
    return word.lower()


def coherence(think: str) -> str | None:
    """None when the reasoning reads as language, else what is wrong (loop, token salad, truncation)."""
    body = reasoning(think)
    prose = _marked(body)
    tokens = _WORD.findall(prose.lower())
    loop = _loop(tokens)
    if loop is not None:
        return f'repeated loop: "{loop}"'
    seen: set[str] = set()
    for sentence in split_sentences(prose):
        key = " ".join(_WORD.findall(sentence.lower()))
        if len(key.split()) >= 4 and key in seen:
            return f'repeated sentence: "{sentence[:60]}"'
        seen.add(key)
    m = _SPACED_COLON.search(prose) or _CLOCK_RUN.search(prose)
    if m:
        return f'token salad: "{m.group(0)}"'
    m = _BROKEN_WORD.search(prose)
    if m:
        return f'broken word: "{m.group(0)}"'
    if body.count('"') % 2:
        return "truncated: an unclosed quote"
    for sentence in split_sentences(body):
        text = sentence.rstrip()
        if text.endswith(("…", "...")):
            return f'truncated: "…{text[-40:]}"'
        if not _END.search(text):
            return f'truncated: no end punctuation in "…{text[-40:]}"'
        word = _dangling(text)
        if word is not None:
            return f'truncated: ends on "{word}"'
    return None


# ----------------------------------------------------------------------------------------------------
# Support


def option_text(options: list[str], letter: str) -> str | None:
    """The text of the option with `letter` ("B. car" → "car"); bare options are lettered in order."""
    for i, opt in enumerate(options):
        m = _LETTERED.match(opt)
        if m and m.group(1).upper() == letter:
            return m.group(2).strip()
        if not m and chr(ord("A") + i) == letter:
            return opt.strip()
    return None


def is_absence(task: TaskRecord) -> bool:
    """Yes / No / Cannot-be-determined questions (`curation.tasks.absence`)."""
    return task.generator == "absence" or any(UNKNOWN_OPTION in o.lower() for o in task.options)


def support(think: str, task: TaskRecord, answer: str | None, view: VideoView | None = None) -> str | None:
    """None when the reasoning states the evidence that decides `answer` (the chain's own), else what is missing.

    Per problem type the reasoning must state (with a citation in the sentence, or cited before it):

    - multiple choice: the chosen option's text (not only its letter) where it is seen; for absence questions the
      subject looked for, in a negated sentence ("No keyframe of the video [0.00–12.00s] shows a dog.", "The
      transcript […] never says "…"."), or that there is no audio when the answer is "cannot be determined";
    - numerical, object counts: "n <objects>" with the count; shot counts: "n shots" (or "a single shot") and,
      with the view, each counted shot cited; the video's length: the number with a length word ("long",
      "lasts", "ends") or a cited range ending at it; a shot's length: the cited span of that shot; when a shot
      begins: its ordinal or number and a citation starting at the answer; other numbers: the number itself;
    - OCR: the text read (all its words, in order);
    - span: a cited span (or two times) at the answer's start and end, in a sentence that says what is said
      there (the question's quoted phrase) or, for other questions, what is seen;
    - ordering: each clip, in the answer's order, by its number ("clip 3") or a word of its description, with a
      time (with the view: a time inside that clip's shot);
    - box: the object at each asked time (a time, box or keyframe citation at that time);
    - free-form and regression: the answer's words or number.
    """
    said = sentences(think, view)
    if not said:
        return "no reasoning before the conclusion"
    if answer is None:
        return "no answer to support"
    kind = task.problem_type
    if kind == "multiple choice":
        return _support_choice(said, task, answer)
    if kind in ("numerical", "regression"):
        return _support_number(said, task, answer, view)
    if kind == "OCR":
        return _with_cite(said, answer, "the text read")
    if kind == "span":
        return _support_span(said, task, answer)
    if kind == "ordering":
        return _support_ordering(said, task, answer, view)
    if kind == "box":
        return _support_box(said, task, answer, view)
    return _support_free(said, answer)


def _with_cite(said: list[Sentence], phrase: str, what: str) -> str | None:
    if not phrase.strip():
        return f"{what} is empty"
    hits = [s for s in said if mentions(s.text, phrase)]
    if not hits:
        return f'{what} ("{phrase[:50]}") is never stated'
    if all(s.current is None for s in hits):
        return f'{what} ("{phrase[:50]}") is stated without a citation'
    return None


# "That is option C", "the answer is option B": the letter the reasoning itself picks.
_PICKED = re.compile(r"\b(?:is|be|choose|pick)\s+option\s+([A-Za-z])\b")


def _support_choice(said: list[Sentence], task: TaskRecord, answer: str) -> str | None:
    letter = choice_letter(answer, task.options)
    body = option_text(task.options, letter) if letter else None
    if body is None:
        return f"the answer {answer!r} names no option"
    named = {m.upper() for s in said for m in _PICKED.findall(s.text)}
    if named - {letter}:
        return f"the reasoning picks option {'/'.join(sorted(named - {letter}))} but the answer is {letter}"
    if not is_absence(task):
        return _with_cite(said, body, f"the chosen option {letter}")
    quoted = _QUOTE.findall(task.question)
    subject = quoted[0] if quoted else ""
    if UNKNOWN_OPTION in body.lower():
        ok = any(re.search(r"\bno audio\b|cannot be determined|no (?:sound|transcript)", s.text, re.I) for s in said)
        return None if ok else "does not say why it cannot be determined (no audio)"
    hits = [s for s in said if subject and mentions(s.text, subject)]
    if not hits:
        return f'the subject "{subject}" that was looked for is never stated'
    negated = [s for s in hits if is_negated(s.text)]
    if body.lower() == "no":
        if not negated:
            return f'never says that "{subject}" was not found'
        if all(s.current is None for s in negated):
            return f'says "{subject}" is absent without citing what was checked'
        return None
    if all(s.current is None for s in hits if s not in negated) or len(negated) == len(hits):
        return f'never says where "{subject}" is found'
    return None


def _support_number(said: list[Sentence], task: TaskRecord, answer: str, view: VideoView | None) -> str | None:
    n = parse_number(answer)
    if n is None:
        return f"the answer {answer!r} is not a number"
    q = task.question
    text = " ".join(s.text for s in said)
    m = _COUNT_OBJECTS.match(q)
    if m and "shot" not in m.group(1).lower():
        label = m.group(1)
        hits = [s for s in said if _states_number(strip_citations(s.text), n, (label,))]
        if not hits:
            return f"never states the count: {fmt_number(n)} {label}"
        return None if any(s.current for s in hits) else f"states {fmt_number(n)} {label} without a citation"
    if q.lower().startswith("how many shots"):
        if not _states_number(strip_citations(text), n, ("shot", "take")) and not (
            n == 1 and re.search(r"\b(?:single|one continuous)\s+(?:shot|take)\b|\bno cuts?\b", text, re.I)
        ):
            return f"never states the number of shots ({fmt_number(n)})"
        if view is not None and view.shots:
            shots = sorted(view.shots, key=lambda s: s.start)
            mids = [(a + b) / 2 for a, b in all_cited_s(said)]
            hit = {i for t in mids for i, s in enumerate(shots) if s.start - 1e-6 <= t <= s.end}
            if len(hit) < n:
                return f"cites {len(hit)} of the {fmt_number(n)} shots it counts"
        return None
    if q.lower().startswith("how long is the video"):
        ends = [b for a, b in all_cited_s(said)]
        stated = any(_close(x, n) for x in _numbers(strip_citations(text)))
        if not DURATION_WORDS.search(text) or not (stated or any(_close(b, n) for b in ends)):
            return f"never states the video's length ({fmt_number(n)}s)"
        return None
    m = _SHOT_BEGINS.search(q)
    if m:
        start = float(m.group(1))
        spans = [(a, b) for a, b in all_cited_s(said) if b > a]
        if not any(_close(a, start) and _close(b - a, n) for a, b in spans):
            return f"never cites the shot's start and end ({fmt_time(start)}s to {fmt_time(start + n)}s)"
        return None
    m = _ORDINAL_SHOT.search(q)
    if m and "begin" in q.lower():
        k = ORDINALS.index(m.group(1).lower()) + 1
        named = [s for s in said if re.search(rf"\b{m.group(1)} shot\b|\bshot {k}\b", s.text, re.I)]
        if not named:
            return f"never names the {m.group(1)} shot"
        if not any(_close(a, n) for s in named for a, _ in s.ranges):
            return f"never cites where the {m.group(1)} shot begins ({fmt_number(n)}s)"
        return None
    hits = [s for s in said if any(_close(x, n, 1e-6) for x in _numbers(strip_citations(s.text)))]
    if not hits:
        return f"never states the number {fmt_number(n)}"
    return None if any(s.current for s in hits) else f"states {fmt_number(n)} without a citation"


def all_cited_s(said: list[Sentence]) -> list[tuple[float, float]]:
    return [r for s in said for r in s.ranges]


def fmt_number(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def _support_span(said: list[Sentence], task: TaskRecord, answer: str) -> str | None:
    span = parse_span(answer)
    if span is None:
        return f"the answer {answer!r} is not a span"
    a, b = span
    quoted = _QUOTE.findall(task.question)
    for s in said:
        starts = any(_close(x, a) for x, _ in s.ranges)
        ends = any(_close(y, b) for _, y in s.ranges)
        if not (starts and ends):
            continue
        if quoted:
            if any(mentions(s.text, q) for q in quoted):
                return None
        elif len(_WORD.findall(strip_citations(s.text))) >= 3:
            return None
    if quoted:
        return f'never cites [{fmt_time(a)}–{fmt_time(b)}s] in a sentence that says "{quoted[0]}" is said there'
    return f"never cites [{fmt_time(a)}–{fmt_time(b)}s] with what happens there"


def _clips(question: str) -> dict[int, str]:
    return {int(k): d for k, d in re.findall(r"^\s*(\d+)\.\s+(.+)$", question, re.MULTILINE)}


def _support_ordering(said: list[Sentence], task: TaskRecord, answer: str, view: VideoView | None) -> str | None:
    order = ordering_items(answer)
    if not order:
        return f"the answer {answer!r} lists no clips"
    clips = _clips(task.question)
    shots = {s.shot_id: s for s in view.shots} if view is not None else {}
    in_time = [shots.get(i) for i in task.evidence_ids] if shots else []
    position = -1
    for rank, clip in enumerate(order):
        desc = {w for w in words(clips.get(clip, "")) if len(w) > 2 and w not in _DESCRIPTION_NOISE}
        shot = in_time[rank] if len(in_time) == len(order) else None
        found = None
        for i, s in enumerate(said):
            if i < position:
                continue
            named = re.search(rf"\bclip {clip}\b", s.text, re.I) or desc & set(words(strip_citations(s.text)))
            if not named:
                continue
            if shot is not None:
                timed = any(shot.start - TIME_TOL <= (x + y) / 2 <= shot.end + TIME_TOL for x, y in s.ranges)
            else:
                timed = bool(s.ranges)
            if timed:
                found = i
                break
        if found is None:
            return f"clip {clip} is not stated with its time after the clips before it"
        position = found
    return None


def _support_box(said: list[Sentence], task: TaskRecord, answer: str, view: VideoView | None) -> str | None:
    boxes = parse_boxes(answer)
    if not boxes:
        return f"the answer {answer[:40]!r} holds no boxes"
    m = _BOX_LABEL.match(task.question)
    label = m.group(1) if m else ""
    for box in boxes:
        t = float(box.get("time", -1.0))
        hit = any(
            (not label or mentions(s.text, label)) and any(_close(x, t) and _close(y, t) for x, y in s.ranges)
            for s in said
        )
        if not hit:
            return f"never states the {label or 'object'} at {fmt_time(t)}s"
    return None


def _support_free(said: list[Sentence], answer: str) -> str | None:
    want = [w for w in words(answer) if len(w) > 2] or words(answer)
    text = set(words(" ".join(s.text for s in said)))
    if not want or sum(w in text for w in want) < max(1, len(want) // 2 + len(want) % 2):
        return f'the answer "{answer[:50]}" is never stated'
    return None if any(s.current for s in said) else "states the answer without a citation"


# ----------------------------------------------------------------------------------------------------
# Relevance


def asked_range(task: TaskRecord, view: VideoView | None = None) -> tuple[float, float] | None:
    """The time range a question is about: "between a s and b s", or the shot it names (with the view)."""
    m = _BETWEEN.search(task.question)
    if m:
        return float(m.group(1)), float(m.group(2))
    if view is None or not view.shots:
        return None
    shots = sorted(view.shots, key=lambda s: s.start)
    m = _SHOT_BEGINS.search(task.question)
    if m:
        t = float(m.group(1))
        for s in shots:
            if _close(s.start, t):
                return s.start, s.end
    m = _ORDINAL_SHOT.search(task.question)
    if m and task.generator == "numeric":
        k = ORDINALS.index(m.group(1).lower())
        if k < len(shots):
            return shots[k].start, shots[k].end
    return None


def evidence_ranges(task: TaskRecord, view: VideoView) -> list[tuple[float, float]]:
    """Times of the task's own evidence: its shots, keyframes and transcript segments (the whole video for the
    video itself)."""
    ids = set(task.evidence_ids)
    out = [(s.start, s.end) for s in view.shots if s.shot_id in ids]
    out += [(f.time, f.time) for f in view.frames if f.frame_id in ids]
    out += [(g.start, g.end) for g in view.segments if g.segment_id in ids]
    if view.video_id in ids:
        out.append((0.0, view.duration))
    return out


def _overlaps(a: tuple[float, float], b: tuple[float, float], tol: float) -> bool:
    if a[0] == a[1]:
        return b[0] - tol <= a[0] <= b[1] + tol
    if b[0] == b[1]:
        return a[0] - tol <= b[0] <= a[1] + tol
    return min(a[1], b[1]) - max(a[0], b[0]) > 1e-6


def relevance(think: str, task: TaskRecord, view: VideoView | None = None, tol: float = 0.5) -> str | None:
    """None when the chain cites evidence inside the range the question asks about (if any) and, with the view,
    evidence overlapping the task's own; else what is off target."""
    cites = all_cited(think, view)
    asked = asked_range(task, view)
    if asked is not None:
        inside = [c for c in cites if _overlaps(c, asked, 0.0)]
        if not inside:
            where = ", ".join(f"[{fmt_time(a)}–{fmt_time(b)}s]" for a, b in cites[:3]) or "nothing"
            return f"the question asks about {fmt_time(asked[0])}–{fmt_time(asked[1])}s; the chain cites {where}"
    if view is not None:
        own = evidence_ranges(task, view)
        if own and not any(_overlaps(c, e, tol) for c in cites for e in own):
            return "no citation overlaps the task's own evidence"
    return None
