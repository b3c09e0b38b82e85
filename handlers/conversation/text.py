"""Reading what residents type: cleaning text, command words in both languages, numbered
answers and phone numbers."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

# Zero-width characters and bidirectional controls: invisible, and used to disguise text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """The text with invisible and control characters removed (newlines and tabs kept), in NFC,
    without surrounding white space. Emoji and every script stay."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.strip()


class Word(StrEnum):
    START = "start"
    REPORT = "report"
    STATUS = "status"
    ADD = "add"
    LANGUAGE = "language"
    HELP = "help"
    INFO = "info"  # the rest of the help
    CANCEL = "cancel"
    BACK = "back"
    SKIP = "skip"
    DONE = "done"
    CLEAR = "clear"
    STOP = "stop"
    # Task-force members.
    JOIN = "join"
    INVITE = "invite"
    MEMBERS = "members"
    ROSTER = "roster"
    ON_DUTY = "on_duty"
    OFF_DUTY = "off_duty"
    ACK = "ack"
    DETAIL = "detail"
    SUBSCRIBE = "subscribe"
    BROADCAST = "broadcast"
    REFER = "refer"
    REFERRALS = "referrals"
    # Case work (handlers/taskforce/casework.py); the values are also the case actions'.
    CASE = "case"
    PROGRESS = "progress"
    NOTE = "note"
    ASSIGN = "assign"
    CLOSE = "close"
    REOPEN = "reopen"
    # The relay between a member and a reporter (BALAS BTN-..., BUKA, BERHENTI BALAS).
    RELAY = "relay"
    OPEN = "open"
    STOP_RELAY = "stop_relay"
    # Recruiter intelligence (handlers/taskforce/intel.py): TANDAI, KONFIRMASI, /intel.
    MARK = "mark"
    CONFIRM = "confirm"
    INTEL = "intel"
    # A resident's check of an offer (handlers/residents/cek.py).
    CEK = "cek"
    # A member's one-time login link to the dashboard (/masuk).
    LOGIN = "login"
    # A resident asking to be forgotten (HAPUS DATA, handlers/residents/forget.py).
    FORGET = "forget"


# Both languages are understood whatever the conversation's language.
WORDS: dict[str, Word] = {
    "mulai": Word.START,
    "start": Word.START,
    "menu": Word.START,
    "lapor": Word.REPORT,
    "report": Word.REPORT,
    "status": Word.STATUS,
    "cek": Word.CEK,
    "check": Word.CEK,
    "tambah": Word.ADD,
    "add": Word.ADD,
    "bahasa": Word.LANGUAGE,
    "language": Word.LANGUAGE,
    "bantuan": Word.HELP,
    "help": Word.HELP,
    "tolong": Word.HELP,
    "info": Word.INFO,
    "informasi": Word.INFO,
    "batal": Word.CANCEL,
    "cancel": Word.CANCEL,
    "kembali": Word.BACK,
    "back": Word.BACK,
    "lewati": Word.SKIP,
    "skip": Word.SKIP,
    "-": Word.SKIP,
    "selesai": Word.DONE,
    "done": Word.DONE,
    "hapus": Word.CLEAR,
    "clear": Word.CLEAR,
    "berhenti": Word.STOP,
    "stop": Word.STOP,
    "gabung": Word.JOIN,
    "join": Word.JOIN,
    "undang": Word.INVITE,
    "invite": Word.INVITE,
    "anggota": Word.MEMBERS,
    "members": Word.MEMBERS,
    "piket": Word.ROSTER,
    "roster": Word.ROSTER,
    "siaga": Word.ON_DUTY,
    "onduty": Word.ON_DUTY,
    "offduty": Word.OFF_DUTY,
    "ack": Word.ACK,
    "terima": Word.ACK,
    "detail": Word.DETAIL,
    "rincian": Word.DETAIL,
    "langganan": Word.SUBSCRIBE,
    "subscribe": Word.SUBSCRIBE,
    "siaran": Word.BROADCAST,
    "broadcast": Word.BROADCAST,
    "rujuk": Word.REFER,
    "refer": Word.REFER,
    "rujukan": Word.REFERRALS,
    "referrals": Word.REFERRALS,
    "kasus": Word.CASE,
    "case": Word.CASE,
    "proses": Word.PROGRESS,
    "progress": Word.PROGRESS,
    "catat": Word.NOTE,
    "note": Word.NOTE,
    "alihkan": Word.ASSIGN,
    "assign": Word.ASSIGN,
    "tutup": Word.CLOSE,
    "close": Word.CLOSE,
    "bukalagi": Word.REOPEN,  # /bukalagi: a Telegram command has no space
    "reopen": Word.REOPEN,
    "balas": Word.RELAY,
    "reply": Word.RELAY,
    "buka": Word.OPEN,
    "open": Word.OPEN,
    "tandai": Word.MARK,
    "mark": Word.MARK,
    "konfirmasi": Word.CONFIRM,
    "confirm": Word.CONFIRM,
    "intel": Word.INTEL,
    "masuk": Word.LOGIN,
    "login": Word.LOGIN,
    "hapusdata": Word.FORGET,  # /hapusdata: a Telegram command has no space
}

# Commands of several words, read before WORDS (so "buka" alone stays free for another
# meaning, and "hapus" alone clears the chat).
PHRASES: dict[str, Word] = {
    "buka lagi": Word.REOPEN,
    "hapus data": Word.FORGET,
    "hapus data saya": Word.FORGET,
    "delete my data": Word.FORGET,
    "berhenti balas": Word.STOP_RELAY,
    "stop replies": Word.STOP_RELAY,
    "stop reply": Word.STOP_RELAY,
    # CEK is the check of an offer; "cek status" still asks for the status of one's reports.
    "cek status": Word.STATUS,
    "check status": Word.STATUS,
}

# "hapus data saya" is read as itself, not as "hapus data" followed by a word.
LONGEST_FIRST = sorted(PHRASES.items(), key=lambda item: -item[0].count(" "))

# Words that stand alone as commands; the rest (skip, done, back) only mean something to a step.
COMMANDS = {
    Word.START,
    Word.REPORT,
    Word.STATUS,
    Word.ADD,
    Word.LANGUAGE,
    Word.HELP,
    Word.INFO,
    Word.CANCEL,
    Word.CLEAR,
    Word.STOP,
    Word.JOIN,
    Word.INVITE,
    Word.MEMBERS,
    Word.ROSTER,
    Word.ON_DUTY,
    Word.OFF_DUTY,
    Word.ACK,
    Word.DETAIL,
    Word.SUBSCRIBE,
    Word.BROADCAST,
    Word.REFER,
    Word.REFERRALS,
    Word.CASE,
    Word.PROGRESS,
    Word.NOTE,
    Word.ASSIGN,
    Word.CLOSE,
    Word.REOPEN,
    Word.RELAY,
    Word.OPEN,
    Word.STOP_RELAY,
    Word.MARK,
    Word.CONFIRM,
    Word.INTEL,
    Word.CEK,
    Word.LOGIN,
    Word.FORGET,
}

# The words that still act inside an answer written in one's own words.
CONTROL = {
    Word.CANCEL,
    Word.BACK,
    Word.SKIP,
    Word.DONE,
    Word.HELP,
    Word.INFO,
    Word.STOP,
    Word.STOP_RELAY,
    Word.FORGET,
}

# Language names residents type after BAHASA (and the codes themselves).
LANGUAGE_NAMES = {
    "indonesia": "id",
    "indonesian": "id",
    "bahasa indonesia": "id",
    "english": "en",
    "inggris": "en",
}
_REFERENCE = re.compile(r"[a-z]{1,10}-\d{4}-\d{1,6}", re.I)  # BTN-2026-00042
# Words followed by what they act on, and what that looks like: `tambah BTN-...`, `gabung
# KODE`, `siaga 8`. Anything else after the word makes the message an answer, not a command:
# "Tambah lagi, dia minta uang" and "Terima kasih" are a resident's words.
ARGUMENTS: dict[Word, re.Pattern[str]] = {
    # MULAI LAGI (after BERHENTI), and Telegram's link t.me/bot?start=lapor.
    Word.START: re.compile(r"lagi|again|lapor|report", re.I),
    Word.ADD: _REFERENCE,
    Word.LANGUAGE: re.compile(
        "|".join([r"[a-z]{2}", *(re.escape(n) for n in LANGUAGE_NAMES)]), re.I
    ),
    Word.JOIN: re.compile(r"[a-z0-9-]{4,32}", re.I),  # an invitation code
    Word.INVITE: re.compile(r".+", re.S),  # /undang [koordinator|admin] Name
    Word.ON_DUTY: re.compile(r"\d{1,3}"),  # hours
    Word.ACK: _REFERENCE,
    Word.DETAIL: _REFERENCE,
    Word.REFER: _REFERENCE,
    # `/rujukan 12`, `/rujukan 12 ditolak REASON`
    Word.REFERRALS: re.compile(r"#?\d{1,9}(?:\s+\S+(?:\s+.+)?)?", re.S),
    Word.CASE: _REFERENCE,
    Word.PROGRESS: _REFERENCE,
    Word.NOTE: re.compile(rf"{_REFERENCE.pattern}(?:\s+.+)?", re.I | re.S),  # CATAT REF [text]
    Word.ASSIGN: re.compile(rf"{_REFERENCE.pattern}(?:\s+.+)?", re.I),  # ALIHKAN REF [name]
    Word.CLOSE: _REFERENCE,
    Word.REOPEN: _REFERENCE,
    # BALAS BTN-2026-00042, and the message itself may follow in the same one.
    Word.RELAY: re.compile(_REFERENCE.pattern + r"(?:\s+\S.*)?", re.I | re.S),
    # TANDAI BTN-2026-00042 +62812... bahaya|aman (dangerous|cleared)
    Word.MARK: re.compile(
        _REFERENCE.pattern + r"\s+\S.{0,200}?\s+(?:bahaya|berbahaya|aman|dangerous|cleared)",
        re.I,
    ),
    Word.CONFIRM: re.compile(r"#?\d{1,9}"),  # KONFIRMASI 12; alone: the marks waiting
    Word.INTEL: re.compile(r"\S.{0,200}"),  # /intel +62812..., /intel PT Maju Jaya
    Word.CEK: re.compile(r"\S.*", re.S),  # CEK 0812..., CEK and a whole advert
}


def word(text: str) -> tuple[Word, str] | None:
    """The command word a message starts with and the rest of it: `/tambah BTN-1` and
    `TAMBAH BTN-1` both give (ADD, "BTN-1"). A Telegram `/cmd@botname` works too."""
    # The word ends at any white space: "CEK" then a forwarded advert on the next line.
    first, rest = [*text.strip().split(maxsplit=1), "", ""][:2]
    slash = first.startswith("/")
    first = first.lower().lstrip("/").split("@", 1)[0].rstrip(".!")
    found = WORDS.get(first)
    for phrase, meant in LONGEST_FIRST:
        head, *tail = phrase.split(" ")
        after = rest.strip()
        for expected in tail:
            said, _, after = after.partition(" ")
            if said.lower().rstrip(".!") != expected:
                break
        else:
            if first == head:
                found, rest = meant, after
                break
    if slash and first == "selesai":
        found = Word.OFF_DUTY  # /selesai is the member's command; plain "selesai" ends a step
    if found is None:
        return None
    rest = rest.strip()
    # "status" is a command; "status saya belum jelas" is an answer, and so is "tambah lagi".
    argument = ARGUMENTS.get(found)
    if rest and (argument is None or not argument.fullmatch(rest)):
        return None
    return found, rest


# Numbers separated by white space, or by a comma or semicolon with white space around it if
# any: written so that a long run of spaces costs linear time, not quadratic.
_NUMBER_LIST = re.compile(r"^\s*\d+(?:(?:\s*[,;]\s*|\s+)\d+)*\s*$")
# Digits an option's number may have: no list has a thousand options. A longer number (a
# phone number; 5,000 digits, which int() refuses) is not an answer to a numbered question.
_OPTION_DIGITS = 3


# Numbers residents type as words, in Indonesian, Malay and English: "dua" is 2.
_NUMBER_WORDS = {
    "nol": 0, "kosong": 0, "zero": 0, "satu": 1, "one": 1, "dua": 2, "two": 2, "tiga": 3,
    "three": 3, "empat": 4, "four": 4, "lima": 5, "five": 5, "enam": 6, "six": 6, "tujuh": 7,
    "seven": 7, "delapan": 8, "lapan": 8, "eight": 8, "sembilan": 9, "nine": 9, "sepuluh": 10,
    "ten": 10, "sebelas": 11, "eleven": 11,
}  # fmt: skip


def numbers(text: str) -> list[int] | None:
    """`2` or `dua` -> [2]; `1,3,5`, `1 3 5`, `1, 3; 5` -> [1, 3, 5]; anything else, or a
    number of more than three digits -> None."""
    text = re.sub(r"[^\W\d_]+", lambda m: str(_NUMBER_WORDS.get(m[0].lower(), m[0])), text)
    if not _NUMBER_LIST.match(text):
        return None
    found = re.findall(r"\d+", text)
    if any(len(n) > _OPTION_DIGITS for n in found):
        return None
    return [int(n) for n in found]


# A run of spaces is only tried from its start ((?<!\s)): linear time, whatever is typed.
_PHONE_SEPARATORS = re.compile(
    r"[,;\n]+|(?<!\s)\s+/\s+|(?<!\s)\s+(?:dan|and|atau|or)\s+", re.IGNORECASE
)
_WA_LINK = re.compile(r"^(?:https?://)?(?:wa\.me|api\.whatsapp\.com/send\?phone=)/?", re.IGNORECASE)


def phone(text: str, region: str = "ID") -> str | None:
    """One phone number in E.164 (`0812-3456-7890`, `+62 812...`, `62812...`, `wa.me/62812...`
    -> `+6281234567890`), or None if it is not a valid number."""
    candidate = _WA_LINK.sub("", text.strip())
    digits = re.sub(r"\D", "", candidate)
    if not 6 <= len(digits) <= 15:
        return None
    if candidate != text.strip() and not digits.startswith("0"):
        candidate = "+" + digits  # wa.me/60123456789: international, without its +
    if not candidate.startswith("+") and digits.startswith("62") and len(digits) >= 10:
        candidate = "+" + digits
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def phones(text: str, region: str = "ID") -> tuple[list[str], list[str]]:
    """The valid numbers in E.164 and the pieces that are not numbers, from a message that
    may name several (separated by commas, new lines, "and"...)."""
    valid: list[str] = []
    invalid: list[str] = []
    for piece in _PHONE_SEPARATORS.split(text):
        piece = piece.strip()
        if not piece:
            continue
        number = phone(piece, region)
        if number is None:
            invalid.append(piece)
        elif number not in valid:
            valid.append(number)
    return valid, invalid


_COORDINATES = re.compile(r"(-?\d{1,2}(?:\.\d+)?)(?:\s*[,;]\s*|\s+)(-?\d{1,3}(?:\.\d+)?)")


def coordinates(text: str) -> tuple[float, float] | None:
    """`1.0587, 104.4845` -> (1.0587, 104.4845), when both are real coordinates."""
    match = _COORDINATES.fullmatch(text.strip())
    if match is None or "." not in text:
        return None
    lat, lon = float(match[1]), float(match[2])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


# What a resident tells about a recruiter, in one or several messages, sorted out.
_LINK = re.compile(
    r"(?:https?://|www\.)[^\s,;]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|id|net|org|co|me|ly|io|my|sg|info)"
    r"(?:/[^\s,;]*)?",
    re.I,
)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{2,30}")
_AGENCY = re.compile(
    r"\b(?:PT|CV|LPK|P3MI|PJTKI|PPTKIS|yayasan|agensi|agency|company)\.?\s+[^\W\d_][\w&'.-]*"
    r"(?:\s+(?!(?:dan|and|di|no|nomor|hp|wa|telp|rek|namanya|name)\b)[^\W\d_][\w&'.-]*){0,3}",
    re.I,
)
_BANKS = r"bri|bni|bca|mandiri|bsi|cimb(?:\s+niaga)?|danamon|permata|btn|maybank|dana|ovo|gopay"
# A number said to be an account: "rek BRI 1234567890", "no. rekening: 123...", "BCA 123...".
_ACCOUNT = re.compile(
    rf"\b(?:(?:no\.?\s*)?rek(?:ening)?\.?|norek|account|acc)?\s*:?\s*\b({_BANKS})?\b\s*:?\s*"
    r"(\d[\d .-]{6,}\d)",
    re.I,
)
_SAID_ACCOUNT = re.compile(rf"(?:rek|norek|account|acc|{_BANKS})", re.I)
_NUMBER = re.compile(r"(?:\+|\b)\d[\d\s().-]{5,}\d")
# An e-mail address: kept whole (its domain is not a link).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
# A phone number has at most this many groups of digits: "+62 812 3456 7890".
_PHONE_GROUPS = 6


def numbers_in(run: str, region: str = "ID") -> tuple[list[str], str]:
    """The phone numbers (E.164) in a run of digits that is not one number as a whole
    ("15.000.000 0812 3456 7890": an amount, then a number; two numbers side by side), and
    what is left of the run. The longest valid sequence of groups is taken at each place, a
    few groups at most (linear time, whatever is typed)."""
    groups = run.split()
    found: list[str] = []
    left: list[str] = []
    i = 0
    while i < len(groups):
        for j in range(min(len(groups), i + _PHONE_GROUPS), i, -1):
            number = phone(" ".join(groups[i:j]), region)
            if number is not None:
                if number not in found:
                    found.append(number)
                i = j
                break
        else:
            left.append(groups[i])
            i += 1
    return found, " ".join(left)


@dataclass(frozen=True)
class Recruiter:
    """Phone numbers (E.164), links and @accounts, bank or wallet account numbers, agency
    names, and whatever else was said (a name, mostly): nothing typed is dropped."""

    phones: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    rest: str = ""


def recruiter(text: str, region: str = "ID") -> Recruiter:
    found: dict[str, list[str]] = {"phones": [], "links": [], "accounts": [], "agencies": []}

    def keep(kind: str, value: str) -> str:
        if value not in found[kind]:
            found[kind].append(value)
        return " "

    def link(match: re.Match[str]) -> str:
        whatsapp = any(host in match[0].lower() for host in ("wa.me", "whatsapp.com"))
        number = phone(match[0].split("&", 1)[0], region) if whatsapp else None
        return keep("phones", number) if number else keep("links", match[0].rstrip(".)"))

    def account(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match[2])
        if not _SAID_ACCOUNT.search(match[0]):
            return match[0]  # a bare number: a phone number, or left as said
        bank = f"{match[1].upper()} " if match[1] else ""
        return keep("accounts", bank + digits)

    def number(match: re.Match[str]) -> str:
        valid = phone(match[0], region)
        if valid:
            return keep("phones", valid)
        inside, left = numbers_in(match[0], region)  # an amount and a number, two numbers
        for found_number in inside:
            keep("phones", found_number)
        return f" {left} " if inside else match[0]

    rest = EMAIL.sub(lambda m: keep("links", m[0]), text)  # before links: not "gmail.com"
    rest = _LINK.sub(link, rest)
    rest = _HANDLE.sub(lambda m: keep("links", m[0]), rest)
    rest = _AGENCY.sub(lambda m: keep("agencies", " ".join(m[0].split())), rest)
    rest = _ACCOUNT.sub(account, rest)
    rest = _NUMBER.sub(number, rest)
    rest = re.sub(r"\s*([,;])(?:\s*[,;:/-])*", r"\1", rest)
    rest = " ".join(rest.split()).strip(" ,;:-/")
    return Recruiter(
        tuple(found["phones"]),
        tuple(found["links"]),
        tuple(found["accounts"]),
        tuple(found["agencies"]),
        rest,
    )


# Thanks and greetings alone: answered kindly, and the question stands.
_THANKS = r"terima\s*kasih|makasih|m+ksh|trims|tq|thanks?|thank\s+you|thx|ty|syukran"
_GREETING = (
    r"h[ae]l+o+|hai+|hi+|hey|halo\s+kak|p+|pagi|siang|sore|malam|selamat\s+(?:pagi|siang|sore|"
    r"malam)|good\s+(?:morning|afternoon|evening)|ass?alamu'?\s*alaikum(?:\s+wr\.?\s*wb\.?)?|salam"
)
_POLITE = (
    r"(?:\s+(?:banyak|ya|yah|kak|pak|bu|bang|mas|mbak|min|admin|sigap|bot|much|so\s+much|a\s+lot))*"
)
_COURTESY = re.compile(
    rf"(?:(?P<thanks>{_THANKS})|(?P<greeting>{_GREETING})){_POLITE}[\s!.,~😊🙏👍🙂❤️]*", re.I
)


class Courtesy(StrEnum):
    THANKS = "thanks"
    GREETING = "greeting"


def courtesy(text: str) -> Courtesy | None:
    """ "terima kasih banyak 🙏", "halo kak", "thanks!": a courtesy alone, nothing to act on."""
    match = _COURTESY.fullmatch(text.strip())
    if match is None:
        return None
    return Courtesy.THANKS if match["thanks"] else Courtesy.GREETING


def mentions(text: str, phrases: Sequence[str]) -> bool:
    """Whether the text has one of the phrases as whole words, whatever the case."""
    return bool(phrases) and _phrases(tuple(phrases)).search(text) is not None


@functools.cache
def _phrases(phrases: tuple[str, ...]) -> re.Pattern[str]:
    words = (r"\s+".join(map(re.escape, p.split())) for p in phrases if p.strip())
    return re.compile(rf"(?<!\w)(?:{'|'.join(words)})(?!\w)", re.I)


# Common little words of each language: enough to tell an English message from an Indonesian
# (or Malay) one.
_LITTLE_WORDS = {
    "en": {
        "the", "my", "is", "a", "an", "to", "and", "i", "he", "she", "they", "we", "his",
        "her", "are", "was", "were", "for", "me", "of", "in", "on", "at", "with", "this",
        "that", "job", "work", "help", "please", "can", "cant", "can't", "not", "no", "from",
        "home", "go",
    },
    "id": {
        "yang", "saya", "aku", "di", "dan", "ke", "dia", "ini", "itu", "tidak", "tak", "gak",
        "nggak", "ada", "kerja", "adik", "kakak", "tolong", "dengan", "untuk", "mau", "sudah",
        "udah", "agen", "gaji", "bayar", "kami", "kita", "mereka", "juga", "tapi", "tp", "yg",
        "dari", "kat", "nak", "boleh", "balik", "pulang", "sama", "minta",
    },
}  # fmt: skip


def language_of(text: str) -> str | None:
    """ "en" or "id" when the message is clearly in one of them (two little words more than
    the other's), else None."""
    words = re.findall(r"[^\W\d_]+(?:'[a-z]+)?", text.lower())
    score = {
        language: sum(w in little for w in words) for language, little in _LITTLE_WORDS.items()
    }
    english, indonesian = score["en"], score["id"]
    if english >= indonesian + 2:
        return "en"
    if indonesian >= english + 2:
        return "id"
    return None
