"""The risk score of a job offer: which published signs of trafficking and non-procedural
placement it shows, with a reason for every point. The signs, their weights, their sources and
the words that find them are in handlers/data/indicators.toml (read once); this module only
applies them, with no other I/O, so a report's alert, its priority and a resident's check of an
advert all score the same way.

    risk = score(report.red_flags, report.destination, report.offer_kind, report.story)
    risk.level            # Level.HIGH
    risk.points           # 12
    for reason in risk.top(3):
        reason.label("en")        # "passport held" (for members)
        reason.explanation("id")  # plain words for residents
        reason.found              # "paspor di tahan", the words (or answer) that triggered it
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from handlers.i18n import N_
from storage.values import OfferKind, RedFlag

if TYPE_CHECKING:
    from storage.models import Report

INDICATORS = Path(__file__).parent / "data" / "indicators.toml"
LANGUAGES = ("id", "en")  # every label and explanation is in both

# A phrase just after one of these words is denied or warned against, not reported: "bukan
# visa turis", "jangan transfer ke rekening pribadi", "tanpa calo", "waspada pelabuhan tikus",
# "beware of tourist visas". Not "no": Indonesians write "no rek" and "no hp" for account and
# phone numbers.
NEGATIONS = frozenset(
    {
        "tidak", "tdk", "tak", "gak", "ga", "gk", "nggak", "ngga", "enggak", "engga", "ndak",
        "bukan", "jangan", "jgn", "tanpa", "bebas", "anti", "waspada", "awas", "hati",
        "hindari", "tiada", "not", "never", "dont", "without", "beware", "avoid",
    }
)  # fmt: skip
# Little words that may stand between the negation and the phrase (three at most, in the same
# sentence): "jangan mau pakai visa turis", "tidak ada potong gaji", "don't pay to a personal
# account". Any other word ends the search, so that in "gaji tidak dibayar paspor ditahan" the
# passport is still held.
FILLERS = frozenset(
    {
        "a", "an", "the", "to", "any", "of", "for", "your", "with", "be", "is", "are", "ever",
        "pay", "use", "using", "trust", "believe", "via",
        "ke", "di", "pakai", "pake", "guna", "bayar", "transfer", "tf", "mau", "ada", "perlu",
        "usah", "pernah", "lewat", "melalui", "dengan", "dgn", "sama", "percaya", "tergiur",
        "anda", "kamu", "siapa", "pun", "akan", "dulu",
    }
)  # fmt: skip
FILLERS_MAX = 3
_CLAUSE_END = re.compile(r"[.!?;,\n]")
_WORD = re.compile(r"[^\W_]+")


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


LEVEL_LABELS = {Level.LOW: N_("low"), Level.MEDIUM: N_("medium"), Level.HIGH: N_("high")}


class Found(StrEnum):
    """What triggered an indicator."""

    ANSWER = "answer"  # a warning sign the resident ticked
    OFFER = "offer"  # the destination (answer, or named in the story) and/or the kind of job
    WORDS = "words"  # words in the story


@dataclass(frozen=True)
class Reason:
    """One indicator found: its points and why."""

    indicator: str  # its id in indicators.toml
    points: int
    by: Found
    found: str  # the words as written in the story, the answer's value, or "Kamboja + online_job"
    source: str  # the key of its source in indicators.toml
    labels: Mapping[str, str]  # a few words, for members
    explanations: Mapping[str, str]  # plain words, for residents

    def label(self, language: str) -> str:
        return _in(self.labels, language)

    def explanation(self, language: str) -> str:
        return _in(self.explanations, language)


@dataclass(frozen=True)
class Risk:
    points: int
    level: Level
    reasons: tuple[Reason, ...]  # the heaviest first; equal ones in the file's order

    def top(self, count: int = 3) -> tuple[Reason, ...]:
        return self.reasons[:count]


def score(
    red_flags: Collection[RedFlag | str],
    destination: str | None,
    offer_kind: OfferKind | str | None,
    story: str,
) -> Risk:
    """The offer's risk from the warning signs ticked, the destination (as stored: the
    Indonesian label, e.g. "Kamboja"; None when not known), the kind of offer and the words of
    the story (or of an advert), in Indonesian, Malay or English, mixed as people write.

    Every indicator found adds its weight once; of indicators sharing a group only the
    heaviest counts. The total's level: low below `[levels] medium`, high from `[levels] high`.
    """
    book = indicators()
    flags = {RedFlag(f) for f in red_flags}
    kind = OfferKind(offer_kind) if offer_kind else None
    found: list[Reason] = []
    place, words = _Words(destination or ""), _Words(story)  # read once for every indicator
    for ind in book.indicator:
        hit = ind._find(flags, place, kind, words)
        if hit is not None:
            by, what = hit
            found.append(
                Reason(ind.id, ind.weight, by, what, ind.source, ind.label, ind.explanation)
            )
    groups = {i.id: i.group for i in book.indicator}
    kept: list[Reason] = []
    counted: set[str] = set()
    for reason in sorted(found, key=lambda r: -r.points):  # stable: the file's order otherwise
        group = groups[reason.indicator]
        if group is None or group not in counted:
            kept.append(reason)
            counted.add(group or "")
    points = sum(r.points for r in kept)
    level = (
        Level.HIGH
        if points >= book.levels.high
        else Level.MEDIUM
        if points >= book.levels.medium
        else Level.LOW
    )
    return Risk(points, level, tuple(kept))


def of_report(report: Report) -> Risk:
    """A stored report's risk: its answers, and its story with what was said of the recruiter."""
    text = "\n".join(t for t in (report.story, report.recruiter_name) if t)
    return score(report.red_flags, report.destination, report.offer_kind, text)


def _in(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or texts.get("en") or texts["id"]


# The data file, checked as it is read: a wrong entry stops start-up (and the schema test).

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Levels(_Strict):
    medium: int = Field(gt=0)
    high: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if self.high <= self.medium:
            raise ValueError("high must be above medium")
        return self


class Source(_Strict):
    title: Text
    publisher: Text
    year: int
    url: str | None = None
    note: str | None = None


class Trigger(_Strict):
    red_flags: list[RedFlag] = []
    words: list[Text] = []
    patterns: list[Text] = []
    destinations: list[Text] = []
    offer_kinds: list[OfferKind] = []
    offer_words: list[Text] = []

    @model_validator(mode="after")
    def _something(self) -> Trigger:
        if not (
            self.red_flags or self.words or self.patterns or self.destinations or self.offer_kinds
        ):
            raise ValueError("a trigger needs red_flags, words, patterns, destinations or kinds")
        if self.offer_words and not (self.destinations or self.offer_kinds):
            raise ValueError("offer_words go with destinations or offer_kinds")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"pattern {pattern!r}: {e}") from None
        return self


class Indicator(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    source: Text
    item: Text  # which item of the source list this is
    weight: int = Field(ge=1, le=10)
    group: str | None = None
    label: dict[str, Text]
    explanation: dict[str, Text]
    trigger: Trigger

    @model_validator(mode="after")
    def _both_languages(self) -> Indicator:
        for name, texts in (("label", self.label), ("explanation", self.explanation)):
            missing = [lang for lang in LANGUAGES if lang not in texts]
            if missing:
                raise ValueError(f"{self.id}: {name} in {', '.join(missing)} is missing")
        return self

    def find(
        self, flags: set[RedFlag], destination: str, kind: OfferKind | None, story: str
    ) -> tuple[Found, str] | None:
        """The first trigger that holds, and what it found."""
        return self._find(flags, _Words(destination), kind, _Words(story))

    def _find(
        self, flags: set[RedFlag], destination: _Words, kind: OfferKind | None, story: _Words
    ) -> tuple[Found, str] | None:
        t, m = self.trigger, _matchers()[self.id]
        for flag in t.red_flags:
            if flag in flags:
                return Found.ANSWER, flag.value
        if t.destinations or t.offer_kinds:
            place = None
            if t.destinations:
                place = _first_phrase(m.destinations, destination, guard=False) or _first_phrase(
                    m.destinations, story
                )
            offer = None
            if t.offer_kinds or t.offer_words:
                offer = (kind.value if kind in t.offer_kinds else None) or _first_phrase(
                    m.offer_words, story
                )
            if (place or not t.destinations) and (offer or not (t.offer_kinds or t.offer_words)):
                return Found.OFFER, " + ".join(x for x in (place, offer) if x)
        if words := _first_phrase(m.words, story):
            return Found.WORDS, words
        for pattern in m.patterns:
            if words := _first(pattern, story.text):
                return Found.WORDS, words
        return None


class Book(_Strict):
    levels: Levels
    sources: dict[str, Source]
    spellings: dict[str, list[Text]] = {}
    indicator: list[Indicator]

    @model_validator(mode="after")
    def _consistent(self) -> Book:
        ids = [i.id for i in self.indicator]
        twice = {i for i in ids if ids.count(i) > 1}
        if twice:
            raise ValueError(f"indicators with the same id: {', '.join(sorted(twice))}")
        unknown = {i.source for i in self.indicator} - set(self.sources)
        if unknown:
            raise ValueError(f"sources not in [sources]: {', '.join(sorted(unknown))}")
        return self


@cache
def indicators(path: Path = INDICATORS) -> Book:
    """The indicators file, read and checked once."""
    with path.open("rb") as f:
        return Book.model_validate(tomllib.load(f))


# Matching: each phrase's words, or any of their spellings, whole, with anything but letters
# and digits between them.


@dataclass(frozen=True)
class _Phrases:
    """A list of phrases as one regular expression, and the words (lower case) a match can
    begin with: each phrase's first word in each of its spellings. A match begins where a
    word begins (nothing but a separator before it) and its first word ends where the text's
    word ends, so it can only begin at a word of the text that is one of these: the
    expression is tried there only, not at every word (an alternation of hundreds of
    spellings tried at each word of a story took milliseconds). None: everywhere (a phrase
    that begins otherwise than with an ASCII letter or digit)."""

    pattern: re.Pattern[str]
    first_words: frozenset[str] | None


@dataclass(frozen=True)
class _Matchers:
    words: _Phrases | None
    patterns: Sequence[re.Pattern[str]]
    destinations: _Phrases | None
    offer_words: _Phrases | None


# The letters that IGNORECASE matches with an ASCII letter besides its two cases (the `re`
# documentation lists them): a word of the text is compared in the form that keeps them.
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _fold(word: str) -> str:
    return word.translate(_ASCII_FOLD).lower()


class _Words:
    """A text and where each of its words begins, by the word's folded form: read once for
    all the indicators."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: dict[str, list[int]] = {}
        for match in _WORD.finditer(text):
            self.starts.setdefault(_fold(match[0]), []).append(match.start())


@cache
def _matchers() -> Mapping[str, _Matchers]:
    book = indicators()
    spellings = {k.lower(): v for k, v in book.spellings.items()}
    return {
        i.id: _Matchers(
            _phrases(i.trigger.words, spellings),
            tuple(re.compile(p, re.I) for p in i.trigger.patterns),
            _phrases(i.trigger.destinations, spellings),
            _phrases(i.trigger.offer_words, spellings),
        )
        for i in book.indicator
    }


def _phrases(phrases: Iterable[str], spellings: Mapping[str, list[str]]) -> _Phrases | None:
    def forms(w: str) -> list[str]:
        return list(dict.fromkeys([w, *spellings.get(w.lower(), [])]))

    def word(w: str) -> str:
        return "(?:" + "|".join(_SEP.join(map(re.escape, f.split())) for f in forms(w)) + ")"

    # Longest first, so that the words reported are the whole phrase.
    ordered = sorted({p for p in phrases if p.strip()}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = [_SEP.join(word(w) for w in p.split()) for p in ordered]
    pattern = re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})(?![^\W_])", re.I)
    firsts = [_WORD.match(f) for p in ordered for f in forms(p.split()[0])]
    if all(first is not None and first[0].isascii() for first in firsts):
        return _Phrases(pattern, frozenset(first[0].lower() for first in firsts if first))
    return _Phrases(pattern, None)


_SEP = r"[\W_]+"


def _first(pattern: re.Pattern[str], text: str, *, guard: bool = True) -> str | None:
    """The first match that is not denied or warned against, as written."""
    for match in pattern.finditer(text):
        if not (guard and _denied(text[: match.start()])):
            return " ".join(match[0].split())
    return None


def _first_phrase(phrases: _Phrases | None, words: _Words, *, guard: bool = True) -> str | None:
    """What `_first` finds with the phrases' expression, tried only where one of their first
    words stands: the same matches, in the same order (the next one looked for after the end
    of one denied, as `finditer` does)."""
    if phrases is None:
        return None
    text, after = words.text, 0
    if phrases.first_words is None:
        return _first(phrases.pattern, text, guard=guard)
    starts = sorted(s for w in phrases.first_words & words.starts.keys() for s in words.starts[w])
    for start in starts:
        if start < after:
            continue
        match = phrases.pattern.match(text, start)
        if match is None:
            continue
        if not (guard and _denied(text[:start])):
            return " ".join(match[0].split())
        after = match.end()
    return None


def _denied(before: str) -> bool:
    clause = _CLAUSE_END.split(before)[-1]
    words = _WORD.findall(clause.lower().replace("'", "").replace("’", ""))  # dont, don't
    for skipped, word in enumerate(reversed(words)):
        if word in NEGATIONS:
            return True
        if word not in FILLERS or skipped >= FILLERS_MAX:
            return False
    return False
