"""Programmatic stance flips (issue #20, part 5): a text rewritten to state the opposite preference.

:func:`flip` makes exactly one edit: a swap from the project's word list (``data/stance_flips/lexicon.tsv``:
antonyms, negations and stance phrases of preference language; longest match first, whole words, case kept) or,
where no entry matches, one negation rule for a common auxiliary or verb ("I'm" -> "I'm not", "I don't like" ->
"I like", "can" -> "can't"). The edit is made in a clause with no other candidate of its tier, and the flip is that
clause alone: the other clauses of a text usually restate its stance ("I love older people, I volunteer at a care
home") and would contradict the edit. Where no clause allows a clean edit, :func:`flip` returns None.

:func:`build_flip_triplets` turns label-1 natural *training* pairs into stance triplets (anchor = text_1,
positive = text_2, negative = the flip of text_2), and :func:`write_flips` writes them to
``data/stance_flips/stance_triplets_flips.jsonl`` (``python -m harness.data.stance_flip``). That a flip really
states the opposite stance is measured, not assumed: ``data/stance_flips/audit.jsonl`` holds a hand audit that
``checks/data/test_stance_flips.py`` gates. Sources are the natural training pairs only, never a benchmark or eval
text.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.data import natural_train
from harness.data.dataset import dumps_pairs, write_atomic
from harness.data.leakage import normalise_text
from harness.data.natural import content_words

STANCE_FLIPS_DIR = natural_train.DATA_DIR / "stance_flips"
LEXICON_FILE = STANCE_FLIPS_DIR / "lexicon.tsv"
#: The generated triplets, relative to ``data/`` (a recipe's ``extra_train``). The name starts with
#: ``stance_triplets`` so that training reads it as triplets; it lives outside ``natural_train/raw/`` on purpose
#: (that folder's globs feed every existing recipe's cache key).
FLIP_TRIPLETS = ("stance_flips/stance_triplets_flips.jsonl",)
#: Programmatic writer id (data/WRITERS.md): no person wrote these negatives.
WRITER = "p-flips"
KINDS = ("antonym", "negation", "stance-phrase")
DIRECTIONS = {"<->": True, "->": False}  # two-way?
COLUMNS = ("anchor", "positive", "negative", "topic", "family", "writer", "rule", "rule_kind")

_APOSTROPHE = "['\u2019]"
_LEFT, _RIGHT = r"(?<![\w'\u2019-])", r"(?![\w'\u2019-])"


class LexiconError(ValueError):
    """A malformed lexicon row; the message names the file and line."""


@dataclass(frozen=True)
class FlipResult:
    text: str
    rule: str  # "lexicon.tsv:12 love -> hate" or "negation: I'm -> I'm not"
    kind: str  # antonym | negation | stance-phrase


@dataclass(frozen=True)
class Entry:
    source: str
    target: str
    kind: str
    two_way: bool
    line: int
    reversed: bool = False

    @property
    def removes_negation(self) -> bool:
        """It deletes a negation ("never" -> "always", "don't bother me" -> "bother me")."""
        return _negative(self.source) and not _negative(self.target)

    @property
    def adds_negation(self) -> bool:
        """It negates ("I'd happily" -> "I'd never"): an "every" later in the clause would take the negation's scope."""
        return _negative(self.target) and not _negative(self.source)

    @property
    def rule(self) -> str:
        return f"{LEXICON_FILE.name}:{self.line} {self.source} -> {self.target}"


@dataclass(frozen=True)
class Lexicon:
    path: Path
    entries: dict[str, Entry]  # lower-cased match string -> the swap it makes
    pattern: re.Pattern


def _phrase_pattern(phrase: str) -> str:
    return r"\s+".join(re.escape(word).replace("'", _APOSTROPHE) for word in phrase.split())


def load_lexicon(path: str | Path = LEXICON_FILE) -> Lexicon:
    """Read a lexicon file: ``from<TAB>to<TAB>kind<TAB>direction`` rows; ``#`` lines and blank lines are skipped.

    Every match string (a ``from``, and the ``to`` of a two-way row) must be unique, so a swap never depends on
    row order; a malformed or conflicting row raises :class:`LexiconError` naming ``file:line``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LexiconError(f"{path}: cannot read the stance lexicon ({err})") from None
    entries: dict[str, Entry] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) != 4:
            raise LexiconError(f"{where}: expected 4 tab-separated fields (from, to, kind, direction), "
                               f"got {len(fields)}: {line!r}")
        source, target, kind, direction = (f.strip() for f in fields)
        if not source or not target or source.lower() == target.lower():
            raise LexiconError(f"{where}: 'from' and 'to' must be two different non-empty phrases: {line!r}")
        if kind not in KINDS:
            raise LexiconError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if direction not in DIRECTIONS:
            raise LexiconError(f"{where}: direction {direction!r} is not '<->' (two-way) or '->' (one-way)")
        two_way = DIRECTIONS[direction]
        swaps = [Entry(source, target, kind, two_way, number)]
        if two_way:
            swaps.append(Entry(target, source, kind, two_way, number, reversed=True))
        for entry in swaps:
            key = " ".join(entry.source.lower().split())
            if key in entries:
                raise LexiconError(f"{where}: {entry.source!r} already rewrites by line {entries[key].line}; "
                                   "every match string may have one swap")
            entries[key] = entry
    if not entries:
        raise LexiconError(f"{path}: the stance lexicon has no rows")
    alternatives = sorted(entries, key=lambda k: (-len(k), k))
    pattern = re.compile(_LEFT + "(?:" + "|".join(_phrase_pattern(k) for k in alternatives) + ")" + _RIGHT,
                         re.IGNORECASE)
    return Lexicon(path, entries, pattern)


@functools.cache
def lexicon() -> Lexicon:
    """The project's lexicon, read once."""
    return load_lexicon(LEXICON_FILE)


# --- negation rules ------------------------------------------------------------------------------------------------

def _third_person(verb: str) -> str:
    lower = verb.lower()
    if lower == "have":
        return verb[:-2] + "s"
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(lower) > 1 and lower.endswith("y") and lower[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


@dataclass(frozen=True)
class Negation:
    """One negation rule. ``subject``: the match starts with the writer as subject ("I'm", "I like", "Don't
    expect"), so it must open its clause (after a conjunction or a filler word at most): "all the intoxication I
    need" or "whoever I'm with" are not the writer's stance. ``removes``: it deletes a negation, which a negative
    polarity item later in the clause ("anymore", "at all", "in my life") would leave ungrammatical."""

    name: str
    pattern: re.Pattern
    make: Callable[[re.Match], str]
    subject: bool
    removes: bool


def _rule(name: str, pattern: str, make: Callable[[re.Match], str], *, subject: bool, removes: bool) -> Negation:
    return Negation(f"negation: {name}", re.compile(_LEFT + pattern + _RIGHT, re.I), make, subject, removes)


_A = _APOSTROPHE
_ADVERB = r"(?:(?P<a>really|actually|genuinely|truly|honestly|totally|definitely|do)\s+)?"
_VERBS = r"(?P<v>like|want|need|value|trust|respect|miss|care\s+about|believe\s+in|mind|plan|intend|hope)"

NEGATIONS: tuple[Negation, ...] = (
    _rule("I'm not -> I'm", rf"(?P<i>I){_A}m\s+not", lambda m: f"{m['i']}'m", subject=True, removes=True),
    _rule("I am not -> I am", r"(?P<i>I\s+am)\s+not", lambda m: m["i"], subject=True, removes=True),
    _rule("I'm -> I'm not", rf"(?P<i>I){_A}m(?!\s+(?:not|more|less|from|so|such|pretty)\b)",
          lambda m: f"{m['i']}'m not", subject=True, removes=False),
    _rule("I am -> I am not", r"(?P<i>I\s+am)(?!\s+not\b)", lambda m: f"{m['i']} not", subject=True, removes=False),
    _rule("don't V -> V", rf"(?:(?P<s>I|we)\s+)?(?:don{_A}t|do\s+not)\s+(?!(?:judge|worry|get|disturb)\b)(?P<v>[a-z]+)",
          lambda m: (f"{m['s']} " if m["s"] else "") + m["v"], subject=True, removes=True),
    _rule("doesn't V -> Vs", rf"(?:doesn{_A}t|does\s+not)\s+(?P<v>[a-z]+)", lambda m: _third_person(m["v"]),
          subject=False, removes=True),
    _rule("I V -> I don't V", rf"(?P<s>I|we)\s+{_ADVERB}{_VERBS}",
          lambda m: f"{m['s']} " + (f"{m['a']} " if m["a"] and m["a"].lower() != "do" else "") + f"don't {m['v']}",
          subject=True, removes=False),
    _rule("can't -> can", rf"(?:can{_A}t|cannot|can\s+not)", lambda m: "can", subject=False, removes=True),
    _rule("I can -> I can't", r"(?P<s>I|we)\s+can(?!\s+not\b)", lambda m: f"{m['s']} can't",
          subject=True, removes=False),
    _rule("won't -> will", rf"(?:won{_A}t|will\s+not)", lambda m: "will", subject=False, removes=True),
    _rule("I'll -> I won't", rf"(?P<s>I|we){_A}ll", lambda m: f"{m['s']} won't", subject=True, removes=False),
    _rule("isn't -> is", rf"(?:(?P<b>is|are)n{_A}t|(?P<c>is|are)\s+not)", lambda m: m["b"] or m["c"],
          subject=False, removes=True),
)


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    replacement: str
    rule: str
    kind: str
    usable: bool = True  # False: it still marks its clause as taken, but cannot be flipped on its own


#: Words that open a subordinate clause: no rule fires after one in its clause ("if I'm on time", "whenever I can",
#: "a hotel because someone is always in the guest room"): that does not reverse the writer's preference.
_SUBORDINATORS = frozenset("if when whenever while because since unless until where wherever whoever whatever though "
                           "although".split())
#: A clause cut out of a longer text must not lean on the one before it ("that feels so healthy", "I adore it").
_ANAPHORA = frozenset("that this it which these those".split())
_BACK_REFERENCE = re.compile(r"\b(?:it(?![\'\u2019]s|\s+is\b)|them|him|her)\b", re.I)
#: What may stand between a clause's start and a subject rule ("and I like it", "honestly I'll eat anything").
_OPENERS = frozenset("and but so or plus then now honestly really tbh ngl yeah yes also still just ok okay lol well "
                     "anyway".split())
_NEGATORS = frozenset("not never no n't nothing hardly barely rarely seldom".split())
_NPI = re.compile(r"\b(?:any|anymore|anything|anyone|anybody|anywhere|ever|either|yet|at\s+all|in\s+my\s+life|"
                  r"not\s+even|whatsoever|one\s+bit|a\s+single)\b", re.I)
#: Negating a clause with "every"/"all" denies the universal, not the stance ("I won't eat every cookie you make").
_UNIVERSAL = re.compile(r"\b(?:every|all|everyone|everything|everybody)\b", re.I)
#: Clause boundaries: sentence and clause punctuation, a dash, or "but"; a leading conjunction is not in the clause.
_CLAUSE_BREAK = re.compile(r"(?<=[.!?;,:])\s+|\s+[-\u2013\u2014]\s+|\s+but\s+", re.I)
_ADJECTIVE = re.compile(r"[a-z-]+(?:ed|ing|ful|ous|ive|ish|less)\s+[a-z]", re.I)
_CONJUNCTION = re.compile(r"^(?:and|but|so|or|yet|plus)\s+", re.I)
_CLAUSE_TRIM = ",;:-\u2013\u2014 "
_WORD = re.compile(r"[A-Za-z']+|n't")
MIN_WORDS = 3


def clauses(text: str) -> list[tuple[int, int]]:
    """(start, end) of every clause of ``text``: split at sentence/clause punctuation, a dash or "but", a leading
    "and", "but", "so"... left out. A comma before an adjective-like word is inside a noun phrase ("a chaotic,
    crowded gathering", "bright, nourishing meals"), not a break."""
    spans, start = [], 0
    for m in _CLAUSE_BREAK.finditer(text):
        if text[m.start() - 1:m.start()] == "," and _ADJECTIVE.match(text[m.end():]):
            continue
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        conj = _CONJUNCTION.match(text[a:b])
        a += conj.end() if conj else 0
        if b > a:
            out.append((a, b))
    return out


def _clause_of(spans: list[tuple[int, int]], position: int) -> tuple[int, int]:
    return next(((a, b) for a, b in spans if a <= position < b), (position, position))


def _words(text: str) -> list[str]:
    return [w.lower().replace("\u2019", "'") for w in _WORD.findall(text.replace("\u2019", "'"))]


def _negated(before: str) -> bool:
    """A negator among the two words before a match: its polarity is already reversed ("does not bother me")."""
    return _negative(" ".join(_words(before)[-2:]))


def _negative(phrase: str) -> bool:
    return any(w in _NEGATORS or w.endswith("n't") for w in _words(phrase))


def _subordinate(before: str) -> bool:
    return any(w in _SUBORDINATORS for w in _words(before))


def _with_case(matched: str, replacement: str) -> str:
    """The replacement in the matched text's case: ALL CAPS stays all caps, a capital first letter stays capital."""
    letters = [c for c in matched if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    first = replacement[:1]
    if matched[:1].isupper():
        return first.upper() + replacement[1:]
    return (first.lower() if matched[:1].islower() else first) + replacement[1:]


def _lexicon_candidates(text: str, lex: Lexicon, spans: list[tuple[int, int]]) -> list[_Candidate]:
    out = []
    for m in lex.pattern.finditer(text):
        entry = lex.entries[" ".join(m.group(0).lower().replace("\u2019", "'").split())]
        a, b = _clause_of(spans, m.start())
        usable = not (_negated(text[a:m.start()]) or _subordinate(text[a:m.start()])
                      or entry.removes_negation and _NPI.search(text[m.end():b])
                      or entry.adds_negation and _UNIVERSAL.search(text[m.end():b]))
        out.append(_Candidate(m.start(), m.end(), entry.target, entry.rule, entry.kind, usable))
    return out


def _negation_candidates(text: str, spans: list[tuple[int, int]]) -> list[_Candidate]:
    found = sorted(((m.start(), -(m.end() - m.start()), i, m) for i, rule in enumerate(NEGATIONS)
                    for m in rule.pattern.finditer(text)), key=lambda t: t[:3])
    out: list[_Candidate] = []
    for start, _, i, m in found:  # leftmost first, longest at a position; overlaps dropped
        if out and start < out[-1].end:
            continue
        rule = NEGATIONS[i]
        a, b = _clause_of(spans, start)
        before = _words(text[a:start])
        usable = not (_subordinate(text[a:start]) or rule.removes and _NPI.search(text[m.end():b])
                      or not rule.removes and _UNIVERSAL.search(text[m.end():b]))
        if rule.subject and not set(before) <= _OPENERS:
            usable = False
        out.append(_Candidate(m.start(), m.end(), rule.make(m), rule.name, "negation", usable))
    return out


def _article(before: str, replacement: str) -> str:
    """``before`` with a final "a"/"an" fitted to the replacement's first letter ("a night owl" -> "an early riser")."""
    m = re.search(r"(?<![\w'])(a|an)(\s+)$", before, re.I)
    if not m:
        return before
    wanted = "an" if replacement[:1].lower() in "aeiou" else "a"
    return before[:m.start()] + (wanted if m.group(1)[0].islower() else wanted.capitalize()) + m.group(2)


def _leading_case(original: str, out: str) -> str:
    """A text that starts with a capital letter gives a flip that does; a lower-case text keeps its own case (a clause
    cut out of it starts as written: "Sunday dinners" stays capital, "i'm" stays lower-case)."""
    if out[:1].isalpha() and original[:1].isupper():
        return out[0].upper() + out[1:]
    return out


def _flip_at(text: str, spans: list[tuple[int, int]], c: _Candidate) -> str | None:
    """The flipped clause of candidate ``c`` (led by a question that names its topic), or None if it cannot stand
    alone."""
    index = next(i for i, (a, b) in enumerate(spans) if a <= c.start < b)
    a, b = spans[index]
    if index and text[:a].rstrip().endswith("?"):  # "Sharing our pics online? I'd be SO proud!"
        first = index - 1
        while first and not re.search(r"[.!?]$", text[:spans[first][0]].rstrip()):
            first -= 1
        a = spans[first][0]
    elif len(spans) > 1 and ((_words(text[a:b])[:1] or [""])[0] in _ANAPHORA or _BACK_REFERENCE.search(text[a:b])):
        return None  # "that feels so healthy", "I adore it": cut out of its text, it says nothing
    replacement = _with_case(text[c.start:c.end], c.replacement)
    before, after = _article(text[a:c.start], replacement), text[c.end:b]
    if _negative(replacement) and not _negative(text[c.start:c.end]):
        after = re.sub(r"\btoo(?=\W*$)", "either", after)  # "I'm looking for something lasting too" -> "... either"
    clause = (before + replacement + after).strip(_CLAUSE_TRIM)
    if len(clause.split()) < MIN_WORDS or len(spans) > 1 and not content_words(before + " " + after):
        return None  # too short, or cut out of its text with nothing left of the topic ("the fewer the better")
    if normalise_text(clause) == normalise_text(text[a:b]):
        return None
    return _leading_case(text, clause)


def flip(text: str) -> FlipResult | None:
    """``text`` with its stance reversed by exactly one edit, or None when no rule applies.

    Lexicon swaps are tried first (the most specific rules), a negation rule only where no lexicon entry matches.
    The edit is the first candidate alone in its clause (no other candidate of its tier there); the output is that
    clause alone when the text has several (the others usually restate the stance and would contradict the flip),
    led by the question before it if there is one ("Sharing our pics online? I'd be SO ashamed!"). A clause that
    cannot stand alone (fewer than three words, no topic word left, or opening with "that"/"it") is not used.
    """
    spans = clauses(text)
    for candidates in (_lexicon_candidates(text, lexicon(), spans), _negation_candidates(text, spans)):
        for c in candidates:
            a, b = _clause_of(spans, c.start)
            if not c.usable or c.end > b or sum(1 for o in candidates if a <= o.start < b) != 1:
                continue
            flipped = _flip_at(text, spans, c)
            if flipped is not None:
                return FlipResult(flipped, c.rule, c.kind)
        if candidates:
            return None
    return None


# --- triplets ----------------------------------------------------------------------------------------------------

def build_flip_triplets(pairs: pd.DataFrame, known: Iterable[str] = ()) -> pd.DataFrame:
    """Stance triplets from label-1 pairs: anchor = text_1, positive = text_2, negative = flip(text_2).

    Rows whose text_2 does not flip are skipped, and so are flips equal (normalised) to a text of ``pairs``, of
    ``known`` or to an earlier flip. Row order follows ``pairs``.
    """
    seen = {normalise_text(t) for t in (*pairs["text_1"], *pairs["text_2"], *known)}
    rows = []
    for row in pairs[pairs["label"] == 1].itertuples(index=False):
        result = flip(row.text_2)
        if result is None or normalise_text(result.text) in seen:
            continue
        seen.add(normalise_text(result.text))
        rows.append({"anchor": row.text_1, "positive": row.text_2, "negative": result.text, "topic": row.topic,
                     "family": row.family, "writer": WRITER, "rule": result.rule, "rule_kind": result.kind})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def source_pairs() -> pd.DataFrame:
    """Every natural training pair file (``natural_train.NATURAL_PAIRS``), with topic and family, in file order."""
    return natural_train.extra_pairs_with(natural_train.NATURAL_PAIRS, "topic", "family")


def generate() -> pd.DataFrame:
    """The triplets as :func:`write_flips` writes them (no file touched)."""
    known = natural_train.all_texts()  # every natural_train text, the hand-written triplets included
    return build_flip_triplets(source_pairs(), known)


def output_path() -> Path:
    return natural_train.DATA_DIR / FLIP_TRIPLETS[0]


def write_flips(path: str | Path | None = None) -> pd.DataFrame:
    """Regenerate the triplet file atomically; returns the triplets."""
    frame = generate()
    write_atomic(path or output_path(), dumps_pairs(frame))
    return frame


#: The hand audit (``data/stance_flips/audit.jsonl``): a seeded sample of this many triplets, each judged by a person.
AUDIT_FILE = STANCE_FLIPS_DIR / "audit.jsonl"
AUDIT_SIZE, AUDIT_SEED = 60, 20


def audit_sample(frame: pd.DataFrame, size: int = AUDIT_SIZE, seed: int = AUDIT_SEED) -> pd.DataFrame:
    """The triplets to audit, in file order: the ``size`` rows with the smallest seeded hash of their three texts.
    A row's draw depends on its own texts only, so a regenerated file keeps the audit of every unchanged row that
    is still drawn (a plain random draw over positions would move the whole sample when one row is added)."""
    def draw(row) -> str:
        return hashlib.sha256(f"{seed}\x1f{row.anchor}\x1f{row.positive}\x1f{row.negative}".encode()).hexdigest()
    keys = [draw(row) for row in frame.itertuples(index=False)]
    chosen = sorted(range(len(frame)), key=lambda i: keys[i])[:size]
    return frame.iloc[sorted(chosen)]


def main() -> None:
    pairs = source_pairs()
    frame = write_flips()
    print(f"{len(pairs[pairs['label'] == 1])} label-1 natural training pairs -> {len(frame)} stance-flip triplets "
          f"in {output_path().relative_to(natural_train.DATA_DIR.parent)}")
    for kind, count in sorted(Counter(frame["rule_kind"]).items()):
        print(f"  {kind:<14}{count:>5}")


if __name__ == "__main__":
    main()
