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

# A whole English report, from choosing the language up to the summary.
ENGLISH_REPORT: Turns = [
    ("bahasa en", "Language: English."),
    ("lapor", "Do you want to stay anonymous?"),
    ("1", "Is any of these happening?"),
    ("4", "Who received this offer"),
    ("2", "Is a child (under 18) involved?"),
    ("2", "What kind of job or offer is it?"),
    ("1", "Where is the job supposed to be?"),
    ("1", "How did the offer come?"),
    ("1", "Which of these happened?"),
    ("1,3", "recruiter's name or nickname"),
    ("Pak Budi", "Which agency or company"),
    ("skip", "What phone or WhatsApp numbers"),
    ("0812-3456-7890", "social-media account or a link"),
    ("https://facebook.com/lowongan.malaysia", "Tell us what happened"),
    (ENGLISH_STORY, "photos, screenshots or documents"),
    ("done", "Where did this happen"),
    ("2", "Please check your report"),
]

# Choosing English and starting a report.
START_IN_ENGLISH: Turns = [
    ("bahasa en", "Language: English."),
    ("report", "Do you want to stay anonymous?"),
]

# English answers from the privacy question up to the story: anonymous, no urgency, me, no
# child, the first kind, destination and channel, no red flags, and the four recruiter
# questions skipped.
ANONYMOUS_TO_STORY: Turns = [
    ("1", "Is any of these happening?"),
    ("4", "Who received this offer"),
    ("1", "Is a child (under 18) involved?"),
    ("2", "What kind of job or offer is it?"),
    ("1", "Where is the job supposed to be?"),
    ("1", "How did the offer come?"),
    ("1", "Which of these happened?"),
    ("done", "recruiter's name or nickname"),
    ("skip", "Which agency or company"),
    ("skip", "What phone or WhatsApp numbers"),
    ("skip", "social-media account or a link"),
    ("skip", "Tell us what happened"),
]
# The same, contactable with both consents.
CONTACTABLE_TO_STORY: Turns = [
    ("2", "May the task force contact you"),
    ("1", "May your identity be shared with the police"),
    ("1", "Is any of these happening?"),
    *ANONYMOUS_TO_STORY[1:],
]

INDONESIAN_STORY = "Sepupu saya ditawari kerja di restoran Malaysia, harus bayar 5 juta dulu."

# A whole Indonesian report (the default language), from the menu up to the reference.
INDONESIAN_REPORT: Turns = [
    ("lapor", "Apakah Anda ingin tetap anonim?"),
    ("1", "Apakah salah satu dari ini sedang terjadi?"),
    ("4", "Siapa yang menerima tawaran ini"),
    ("2", "Apakah ada anak (di bawah 18 tahun) yang terlibat?"),
    ("2", "Apa jenis pekerjaan atau tawarannya?"),
    ("1", "Katanya tempat kerjanya di mana?"),
    ("1", "Lewat apa tawaran ini datang?"),
    ("1", "Mana saja yang terjadi?"),
    ("1,3", "nama atau nama panggilan perekrutnya"),
    ("Pak Budi", "agen atau perusahaan apa"),
    ("lewati", "Nomor HP atau WhatsApp apa"),
    ("0812-3456-7890", "akun media sosial atau link iklannya"),
    ("lewati", "Ceritakan apa yang terjadi"),
    (INDONESIAN_STORY, "foto, tangkapan layar, atau dokumen"),
    ("selesai", "Di mana ini terjadi"),
    ("2", "Mohon periksa laporan Anda"),
    ("1", "Nomor laporan Anda"),
]


def check_reply(sent: str, expected: str, reply: str) -> None:
    """The bot's reply to `sent` contains `expected` (in any case)."""
    assert expected.lower() in reply.lower(), (
        f"after sending {sent!r} expected {expected!r} in:\n{reply}"
    )
