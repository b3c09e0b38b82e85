"""A recruiter's identifiers in any text, normalised so that the same recruiter written two
ways is one identifier: pure (no database), for the report's intake, its additions and a
resident's check of an offer alike. `identifiers(text)` is the one entry point.

Normalisation, per kind:
- phone: E.164 (phonenumbers, region ID): `0812-3456-7890`, `0812 3456 7890`,
  `0812.3456.7890`, `+62 812...`, `62812...`, `wa.me/62812...` are all `+6281234567890`.
  A masked number (`0812-xxxx-7890`) is no number.
- account: the digits of an account said to be one (`rek`, `norek`, `account` or a bank's
  name before it); shown with its bank when given (`BRI 123456789`). The bank is not part of
  the key: the same digits at another bank are taken as the same account (rare, and a member
  sees the bank in the shown value).
- agency: lower case, punctuation gone, the legal form and generic words dropped (PT, CV,
  Tbk, Persero, Sdn Bhd, Pte Ltd, Co Ltd, agency/agensi/company/perusahaan, P3MI, PJTKI,
  PPTKIS), spaces collapsed: `PT. Maju Jaya Abadi` and `pt maju jaya abadi` are both
  `maju jaya abadi`. LPK and Yayasan stay: a training centre or a foundation is another body
  than a company of the same name. Names are then matched fuzzily, see `same_agency`.
- link: host and path: lower-case host without `www.`, no scheme, query, fragment or
  trailing slash (`https://www.Facebook.com/LokerJohor/?ref=x` is
  `facebook.com/lokerjohor`); the path keeps its case except on social-media sites, whose
  account names are the same in any case (a short link's is not).
- handle: an `@handle`, lower case, without the `@`.
- email: lower case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from rapidfuzz import fuzz

from handlers.conversation.text import EMAIL, clean, recruiter
from storage.models import IdentifierKind as Kind

__all__ = ["AGENCY_THRESHOLD", "Identifier", "Kind", "agency_key", "identifiers", "same_agency"]

# Two agency names are the same agency when rapidfuzz's token_sort_ratio of their keys
# (`agency_key`) is at least this: it forgives a typo or two and the order of words
# ("Maju Jaya Abadi" / "Maju Jaya Abadii" / "Abadi Maju Jaya"), not a missing word:
# "Maju Jaya" and "Maju Jaya Abadi" (75) stay two agencies, for short names like these are
# common and differ by a word.
AGENCY_THRESHOLD = 90


@dataclass(frozen=True)
class Identifier:
    kind: Kind
    value: str  # normalised: what is matched and stored
    shown: str  # as written (an account with its bank), for people to read


# Legal forms and generic words around an agency's name, dropped from its key.
_LEGAL = {
    "pt", "cv", "tbk", "persero", "ud", "sdn", "bhd", "pte", "ltd", "co", "inc", "llc",
    "corp", "company", "agency", "agensi", "agen", "perusahaan", "p3mi", "pjtki", "pptkis",
}  # fmt: skip
# What names an agency in running text: a legal form or kind of body before the name...
_AGENCY_BEFORE = r"PT|CV|LPK|P3MI|PJTKI|PPTKIS|yayasan|agensi|agency|perusahaan|company"
# ...or after it (foreign companies).
_AGENCY_AFTER = r"Sdn\.?\s*Bhd\.?|Pte\.?\s*Ltd\.?|Co\.?,?\s*Ltd\.?|Ltd\.?|Tbk\.?"
_NAME_WORD = r"[^\W\d_][\w&'-]*\.?"
_BEFORE = re.compile(
    rf"\b(?P<form>{_AGENCY_BEFORE})\.?\s+(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,4}})",
    re.I,
)
_AFTER = re.compile(rf"\b(?P<name>(?:[A-Z][\w&'-]*[ \t]+){{1,4}})(?P<form>{_AGENCY_AFTER})")
_FORMS = {f.lower() for f in _AGENCY_BEFORE.split("|")}
# Kinds of body that name no company unless a name in capitals follows.
_GENERIC = {"yayasan", "agensi", "agency", "perusahaan", "company"}
# A name typed in lower case is taken up to this many words.
_LOWER_CASE_WORDS = 3
# Words that end an agency's name typed in lower case ("pt maju jaya buka lowongan").
_NOT_NAME = {
    "dan", "atau", "di", "ke", "dari", "yang", "yg", "untuk", "utk", "dengan", "dgn", "no",
    "nomor", "hp", "wa", "telp", "rek", "namanya", "name", "buka", "membuka", "butuh",
    "membutuhkan", "mencari", "cari", "lowongan", "loker", "menawarkan", "nawarin", "tawarkan",
    "sedang", "lagi", "hubungi", "kontak", "contact", "alamat", "kantor", "gaji", "kerja",
    "bekerja", "pekerjaan", "resmi", "terdaftar", "izin", "ijin", "minta", "meminta", "bayar",
    "ini", "itu", "tsb", "tersebut", "juga", "is", "are", "was", "offers", "offering",
    "hiring", "needs", "in", "at", "for", "with", "the", "and", "or", "from", "to", "via",
    "call", "job", "jobs", "work", "salary", "pay", "asked", "wants", "said", "says",
}  # fmt: skip


def identifiers(text: str, region: str = "ID") -> list[Identifier]:
    """Every identifier in the text, once each (by kind and value), in the order found."""
    text = clean(text)
    found: dict[tuple[Kind, str], Identifier] = {}

    def keep(kind: Kind, value: str, shown: str) -> None:
        if value:
            found.setdefault((kind, value), Identifier(kind, value, shown[:200]))

    for name in agencies(text):
        keep(Kind.AGENCY, agency_key(name), name)
    # Line by line: an agency's name at the end of one line must not take the bank's name
    # at the start of the next ("PT Maju Jaya\nBRI 1234567890").
    told = [recruiter(line, region) for line in text.splitlines()]
    for number in (n for t in told for n in t.phones):
        keep(Kind.PHONE, number, number)
    for link in (link for t in told for link in t.links):
        if EMAIL.fullmatch(link):
            keep(Kind.EMAIL, link.lower(), link)
        elif link.startswith("@"):
            keep(Kind.HANDLE, handle_key(link), link.rstrip("."))
        else:
            keep(Kind.LINK, link_key(link), link)
    for account in (a for t in told for a in t.accounts):
        digits = re.sub(r"\D", "", account)
        keep(Kind.ACCOUNT, digits, account)
    return list(found.values())


def agencies(text: str) -> list[str]:
    """Agency and company names as written ("PT Maju Jaya Abadi", "Golden Star Sdn Bhd")."""
    names: list[str] = []
    position = 0
    while (match := _BEFORE.search(text, position)) is not None:
        # The next search starts at the name: "Agensi resmi P3MI PT Bintang Jaya" has three.
        position = match.start("name")
        form, words = match["form"], match["name"].split()
        if form.lower() in _GENERIC and not words[0][:1].isupper():
            continue  # "perusahaan besar di Malaysia" names no company
        kept = name_words(words)
        if kept and kept[0].rstrip(".").lower() not in _FORMS:
            names.append(" ".join([form, *kept]).rstrip("."))
    for match in _AFTER.finditer(text):
        kept = name_words(match["name"].split()[::-1])[::-1]  # "Hubungi Golden Star Sdn Bhd"
        if kept:
            names.append(" ".join([*kept, " ".join(match["form"].split())]))
    return [n for n in dict.fromkeys(names) if agency_key(n)]


def name_words(words: list[str]) -> list[str]:
    """The words of a name up to the first that is not one: in text written with capitals,
    a word in lower case ends it; in text in lower case, a word such as "buka" or "di", or
    the fourth word."""
    capitals = words[0][:1].isupper()
    kept: list[str] = []
    for word in words[: None if capitals else _LOWER_CASE_WORDS]:
        bare = word.rstrip(".").lower()
        if bare in _NOT_NAME or (capitals and not word[:1].isupper()):
            break
        kept.append(word)
        if word.endswith(".") and bare not in _LEGAL and len(bare) > 3:
            break  # the end of a sentence
    return kept


def agency_key(name: str) -> str:
    """The agency's name as matched: lower case, no punctuation, no legal form."""
    words = re.sub(r"[^\w\s&]", " ", name.lower()).replace("&", " dan ").split()
    return " ".join(w for w in words if w not in _LEGAL)


def same_agency(a: str, b: str) -> bool:
    """Whether two agency keys name the same agency (see AGENCY_THRESHOLD)."""
    return similarity(a, b) >= AGENCY_THRESHOLD


def similarity(a: str, b: str) -> float:
    return float(fuzz.token_sort_ratio(a, b))


def link_key(link: str) -> str:
    """Host and path: `https://www.Facebook.com/LokerJohor/?ref=x` -> `facebook.com/lokerjohor`."""
    raw = link.strip().rstrip(".,)")
    parts = urlsplit(raw if "://" in raw else "http://" + raw)
    host = (parts.hostname or "").lower().removeprefix("www.")
    host = _SAME_HOST.get(host, host)
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    return host + (path.lower() if host in _NAMES_ANY_CASE else path)


# Sites whose addresses name an account in any case (a short link's path keeps its case).
_NAMES_ANY_CASE = {
    "facebook.com", "instagram.com", "tiktok.com", "t.me", "x.com", "twitter.com",
    "youtube.com", "linkedin.com", "threads.net",
}  # fmt: skip
_SAME_HOST = {"m.facebook.com": "facebook.com", "fb.com": "facebook.com", "telegram.me": "t.me"}


def handle_key(handle: str) -> str:
    return handle.strip().lstrip("@").rstrip(".").lower()


def normalised(text: str, region: str = "ID") -> Identifier | None:
    """The one identifier a member or a resident typed alone (`+62 812...`, `@handle`,
    `PT Maju Jaya`, a link), or None. A name without a legal form is taken as an agency's."""
    found = identifiers(text, region)
    if found:
        return found[0]
    stripped = clean(text)
    if stripped.startswith("@"):
        return Identifier(Kind.HANDLE, handle_key(stripped), stripped)
    digits = re.sub(r"[\s.-]", "", stripped)
    if digits.isdigit() and 6 <= len(digits) <= 20:
        return Identifier(Kind.ACCOUNT, digits, stripped)
    key = agency_key(stripped)
    if key and re.search(r"[^\W\d_]", key):
        return Identifier(Kind.AGENCY, key, " ".join(stripped.split()))
    return None
