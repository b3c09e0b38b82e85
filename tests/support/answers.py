"""Scripted answers to the report conversation, as (answer, expected) pairs: `expected` is a
part of what the bot answers to `answer`, most often the next question. A transcript so shows
which question each answer belongs to, and a test fails where an answer lands on another
question than the one it was written for."""

from __future__ import annotations

from collections.abc import Sequence

Turns = Sequence[tuple[str, str]]

ENGLISH_STORY = (
    "A man offered my sister a job in a Malaysian restaurant; she must pay 5 million first."
)

# A whole English report, from choosing the language up to the summary: ten answers from
# LAPOR to the summary's Send.
ENGLISH_REPORT: Turns = [
    ("bahasa en", "Language: English."),
    ("lapor", "is any of these happening?"),
    ("4", "May they contact you"),
    ("1", "Who received this offer"),
    ("2", "Is a child (under 18) involved?"),
    ("2", "What kind of job or offer is it?"),
    ("1", "Where is the job supposed to be?"),
    ("1", "Which of these happened?"),
    ("1,3", "identifies the recruiter"),
    ("Pak Budi, 0812-3456-7890, https://facebook.com/lowongan.malaysia", "Noted"),
    ("done", "Tell us what happened"),
    (ENGLISH_STORY, "Please check your report"),
]
# From the summary: the details that take longer (how the offer came, files, the place).
DETAILS: Turns = [
    ("2", "How did the offer come?"),
    ("1", "photos, screenshots or documents"),
    ("done", "Where did this happen"),
    ("2", "Please check your report"),
]

# Choosing English and starting a report.
START_IN_ENGLISH: Turns = [
    ("bahasa en", "Language: English."),
    ("report", "is any of these happening?"),
]

# English answers from the urgency question up to the story: no urgency, anonymous, me, no
# child, the first kind and destination, no red flags, nothing about the recruiter.
ANONYMOUS_TO_STORY: Turns = [
    ("4", "May they contact you"),
    ("1", "Who received this offer"),
    ("1", "Is a child (under 18) involved?"),
    ("2", "What kind of job or offer is it?"),
    ("1", "Where is the job supposed to be?"),
    ("1", "Which of these happened?"),
    ("done", "identifies the recruiter"),
    ("skip", "Tell us what happened"),
]
CONTACT_NUMBER = "0812-1111-2222"
# The same, contactable, the number for the police and the UPTD PPA, on a channel that does
# not know the number.
CONTACTABLE_TO_STORY: Turns = [
    ("4", "May they contact you"),
    ("2", "Who may the task force give your number to"),
    ("1,3", "Which phone number can the task force contact you on?"),
    (CONTACT_NUMBER, "Who received this offer"),
    *ANONYMOUS_TO_STORY[2:],
]

INDONESIAN_STORY = "Sepupu saya ditawari kerja di restoran Malaysia, harus bayar 5 juta dulu."

# A whole Indonesian report (the default language), from the menu up to the reference.
INDONESIAN_REPORT: Turns = [
    ("lapor", "apakah salah satu dari ini sedang terjadi?"),
    ("4", "Bolehkah mereka menghubungi Anda"),
    ("1", "Siapa yang menerima tawaran ini"),
    ("2", "Apakah ada anak (di bawah 18 tahun) yang terlibat?"),
    ("2", "Apa jenis pekerjaan atau tawarannya?"),
    ("1", "Katanya tempat kerjanya di mana?"),
    ("1", "Mana saja yang terjadi?"),
    ("1,3", "mengenali perekrutnya"),
    ("Pak Budi 0812-3456-7890", "Sudah dicatat"),
    ("selesai", "Ceritakan apa yang terjadi"),
    (INDONESIAN_STORY, "Mohon periksa laporan Anda"),
    ("1", "Nomor laporan Anda"),
]
# The same details in Indonesian, from the summary back to it.
INDONESIAN_DETAILS: Turns = [
    ("2", "Lewat apa tawaran ini datang?"),
    ("1", "foto, tangkapan layar, atau dokumen"),
    ("selesai", "Di mana ini terjadi"),
    ("2", "Mohon periksa laporan Anda"),
]


def check_reply(sent: str, expected: str, reply: str) -> None:
    """The bot's reply to `sent` contains `expected` (in any case)."""
    assert expected.lower() in reply.lower(), (
        f"after sending {sent!r} expected {expected!r} in:\n{reply}"
    )
