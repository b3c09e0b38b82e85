"""The risk score (handlers/risk.py, handlers/data/indicators.toml): each family of indicators
found in the words people write (Indonesian, Malay, English, typos, no punctuation), the reasons
and levels, ordinary offers that stay low, the data file's schema, and the priority rule."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from handlers.i18n import gettext
from handlers.residents.priority import priority
from handlers.risk import (
    INDICATORS,
    Found,
    Level,
    _first,
    _first_phrase,
    _matchers,
    _Words,
    indicators,
    of_report,
    score,
)
from handlers.taskforce.alert_texts import risk_line
from storage.models import ChildInvolved, OfferKind, Priority, RedFlag, Report, Urgency


def found(story: str, destination: str | None = None, kind: str | None = None) -> set[str]:
    return {r.indicator for r in score([], destination, kind, story).reasons}


# One family at a time: (a text as people write it, the indicator it must find).
ILO_FORCED_LABOUR = [
    ("pasport adik saya di tahan sama agen nya gak dikasih balik", "documents_held"),
    ("majikan simpan paspor kami semua tak boleh pegang sendiri", "documents_held"),
    ("they took our passports when we arrived at the airport", "documents_held"),
    ("kami gk boleh keluar dari gedung dijaga satpam", "movement_restricted"),
    ("we are locked in the compound cannot leave", "movement_restricted"),
    ("hp nya diambil bos sudah 2 minggu hilang kontak", "contact_cut_off"),
    ("since march we lost contact with my sister", "contact_cut_off"),
    ("went to thailand for a job in IT now we cant contact him", "contact_cut_off"),
    ("kalau tidak capai target dipukuli dan disetrum", "violence_threats"),
    ("they threatened my family back home", "violence_threats"),
    ("katanya harus bayar utang tiket 30 juta baru boleh pulang", "debt_bondage"),
    ("gajinya dipotong terus buat bayar hutang", "debt_bondage"),
    ("sudah 3 bulan gaji tdk dibayar", "wages_withheld"),
    ("we have not been paid for two months", "wages_withheld"),
    ("kerja 16 jam sehari tanpa libur", "abusive_conditions"),
    ("working 18 hours every day", "abusive_conditions"),
]
ILO_EC_RECRUITMENT = [
    ("sampai sana ternyata disuruh menipu orang lewat love scam", "job_deception"),
    ("he was forced to scam people online", "job_deception"),
    ("katanya kerja di thailand ternyata dibawa ke kamboja lewat darat", "location_changed"),
    ("they said bangkok then the location changed to myawaddy", "location_changed"),
    ("harus berangkat besok jangan bilang siapa2 ya", "pressure_secrecy"),
    ("he said keep it secret from your parents", "pressure_secrecy"),
    ("kontrak nanti aja di sana yang penting berangkat", "no_contract"),
    ("there is no contract, just trust me", "no_contract"),
    ("diminta biaya pendaftaran 3 juta dulu", "upfront_fees"),
    ("asked for a processing fee of 500 ringgit", "upfront_fees"),
    ("kak ini lowongan kapal ikan taiwan bayar 5jt dulu buat medical", "upfront_fees"),
    ("he asked her to pay RM 300 for the permit", "upfront_fees"),
    ("umurnya dituakan biar bisa bikin paspor", "documents_falsified"),
    ("adik saya umur 16 diajak kerja ke malaysia", "minor_recruited"),
    ("she is underage but they said no problem", "minor_recruited"),
]
INDONESIAN_NON_PROCEDURAL = [
    ("berangkat pakai visa turis nanti visa kerja menyusul", "wrong_visa"),
    ("ke saudi pake visa umrah trus kerja di sana", "wrong_visa"),
    ("masuk malaysia guna visa pelancong je", "wrong_visa"),
    ("they will send her on a tourist visa and arrange the permit later", "wrong_visa"),
    ("nyebrang lewat pelabuhan tikus malam malam naik speedboat", "unofficial_route"),
    ("lewat jalur belakang dari tanjung uban", "unofficial_route"),
    ("disuruh tf ke rek pribadi atas nama ibu sari", "personal_account"),
    ("sy sdh transfer ke rekening pribadi agennya 5jt", "personal_account"),
    ("pay to my personal account first", "personal_account"),
    ("pt nya tidak terdaftar di siskop2mi", "not_registered"),
    ("berangkatnya lewat calo di kampung", "not_registered"),
    ("the agency is not registered anywhere", "not_registered"),
    ("nama perusahaan dirahasiakan nanti dikasih tau", "vague_company"),
    ("nanti kalau ditanya imigrasi bilang mau liburan", "lie_to_officials"),
    ("he told her to say you are a tourist at the airport", "lie_to_officials"),
]
SCAM_COMPOUNDS = [
    ("lowongan cs online gaji dolar", "online_job_abroad"),
    ("looking for customer service staff, online job", "online_job_abroad"),
    ("syarat cuma bisa ketik sama punya paspor, tes ketik aja", "typing_test_passport_only"),
    ("only a typing test, just a passport needed", "typing_test_passport_only"),
    ("tiket pesawat ditanggung mess gratis makan gratis", "travel_paid"),
    ("free flight and free accommodation provided", "travel_paid"),
    ("tiket percuma, tempat tinggal disediakan", "travel_paid"),
    ("gaji 15 juta sebulan", "high_pay"),
    ("gajih 20jt/bln", "high_pay"),
    ("salary $1500 per month", "high_pay"),
    ("gaji RM 5000 sebulan", "high_pay"),
    ("penghasilan Rp 18.000.000", "high_pay"),
    ("tanpa pengalaman tanpa ijazah langsung kerja", "no_experience_needed"),
    ("no experience needed, training provided", "no_experience_needed"),
    ("tiada pengalaman pun boleh", "no_experience_needed"),
    ("liat loker fb kerja di luar negri", "social_media_ad"),
]


FAMILIES = ILO_FORCED_LABOUR + ILO_EC_RECRUITMENT + INDONESIAN_NON_PROCEDURAL + SCAM_COMPOUNDS


@pytest.mark.parametrize(("story", "indicator"), FAMILIES)
def test_each_indicator_is_found_in_the_words_people_write(story: str, indicator: str) -> None:
    assert indicator in found(story), found(story)


@pytest.mark.parametrize(
    ("destination", "kind", "story", "indicator"),
    [
        ("Kamboja", OfferKind.ONLINE_JOB, "", "cambodia_online_job"),
        (None, None, "ditawari kerja online di phnom penh", "cambodia_online_job"),
        (None, None, "job as customer service in cambodia", "cambodia_online_job"),
        (None, None, "kerja jadi admin di kemboja", "cambodia_online_job"),
        ("Myanmar", OfferKind.ONLINE_JOB, "", "myanmar_laos_online_job"),
        (
            "Thailand",
            None,
            "nanti dari bangkok ke myawaddy jadi operator",
            "myanmar_laos_online_job",
        ),
        ("Kamboja", OfferKind.WORK_ABROAD, "kerja di pabrik", "no_placement_country"),
        ("Malaysia", OfferKind.ONLINE_JOB, "", "online_job_abroad"),
    ],
)
def test_cambodia_myanmar_and_laos_count_once_and_most_for_online_jobs(
    destination: str | None, kind: OfferKind | None, story: str, indicator: str
) -> None:
    reasons = [r for r in score([], destination, kind, story).reasons if r.indicator in MEKONG]
    assert [r.indicator for r in reasons] == [indicator]


MEKONG = {i.id for i in indicators().indicator if i.group == "mekong"}


def test_a_ticked_warning_sign_counts_as_its_indicator_once() -> None:
    risk = score([RedFlag.DOCUMENTS_HELD], None, None, "paspor ditahan, passport kept")
    assert [(r.indicator, r.points, r.by, r.found) for r in risk.reasons] == [
        ("documents_held", 5, Found.ANSWER, "documents_held")
    ]


@pytest.mark.parametrize("flag", list(RedFlag))
def test_every_warning_sign_a_resident_can_tick_has_an_indicator(flag: RedFlag) -> None:
    assert score([flag], None, None, "").points > 0


def test_the_journey_offer_is_high_with_its_reasons_heaviest_first() -> None:
    risk = score(
        [],
        "Kamboja",
        OfferKind.ONLINE_JOB,
        "ada yg nawarin kerja online di kamboja tiket ditanggung paspor dipegang agen",
    )
    assert (risk.level, risk.points) == (Level.HIGH, 12)
    assert [(r.indicator, r.points, r.by, r.found) for r in risk.reasons] == [
        ("documents_held", 5, Found.WORDS, "paspor dipegang"),
        ("cambodia_online_job", 5, Found.OFFER, "Kamboja + online_job"),
        ("travel_paid", 2, Found.WORDS, "tiket ditanggung"),
    ]


def test_reasons_carry_the_words_as_written_and_both_languages() -> None:
    risk = score([], None, None, "Katanya PASPOR-di tahan dulu sama sponsor")
    (reason,) = risk.reasons
    assert reason.indicator == "documents_held" and reason.by is Found.WORDS
    assert reason.found == "PASPOR-di tahan"
    assert reason.source == "ilo_forced_labour" and reason.points == 5
    assert reason.label("en") == "passport held" and reason.label("id") == "paspor ditahan"
    assert "forced labour" in reason.explanation("en")
    assert "kerja paksa" in reason.explanation("id")
    assert reason.explanation("ms") == reason.explanation("en")  # no Malay texts: English


def test_the_levels_follow_the_thresholds_in_the_file() -> None:
    levels = indicators().levels
    assert (levels.medium, levels.high) == (4, 8)
    assert score([], None, None, "").level is Level.LOW
    assert score([], None, None, "tanpa pengalaman").points == 2  # low
    assert score([], None, None, "tanpa pengalaman").level is Level.LOW
    medium = score([], None, None, "gaji 15 juta tanpa pengalaman")
    assert (medium.points, medium.level) == (4, Level.MEDIUM)
    high = score([], None, None, "gaji 15 juta tanpa pengalaman visa turis")
    assert (high.points, high.level) == (8, Level.HIGH)


def test_the_heaviest_reasons_come_first_and_ties_keep_the_files_order() -> None:
    risk = score(
        [RedFlag.UPFRONT_FEES],
        "Kamboja",
        OfferKind.ONLINE_JOB,
        "tiket ditanggung gaji 15 juta paspor ditahan transfer ke rekening pribadi",
    )
    points = [r.points for r in risk.reasons]
    assert points == sorted(points, reverse=True)
    assert [r.indicator for r in risk.top(3)] == [
        "documents_held",
        "cambodia_online_job",
        "personal_account",
    ]
    assert risk.points == sum(points) == 5 + 5 + 4 + 2 + 2 + 2


# Ordinary offers and everyday words: no false alarm.
ORDINARY = [
    # A legal placement through a licensed agency, with the warnings such adverts carry.
    "Lowongan resmi ke Jepang (Kaigo) melalui PT Sukses Mandiri Abadi, P3MI terdaftar di "
    "SISKOP2MI. Visa kerja dan perjanjian kerja ditandatangani sebelum berangkat di BP3MI. "
    "Pelatihan bahasa 6 bulan di LPK. Gaji sesuai kontrak. Tanpa calo, tidak dipungut biaya "
    "penempatan. Jangan transfer ke rekening pribadi siapa pun.",
    "loker pabrik elektronik di batam kawasan industri muka kuning gaji UMK kontrak 1 tahun "
    "lamaran antar langsung ke HRD",
    "Official job fair by Disnaker Bintan: caregiver jobs in Taiwan through registered agencies "
    "only. Beware of tourist visas and personal accounts. Work visa and contract required.",
    "Kerja di kedai makan di Johor melalui agensi berlesen, permit kerja diurus sebelum "
    "berangkat, kontrak ditandatangani, gaji RM 1800 sebulan",
    "saya mau tanya apakah pt ini resmi, katanya terdaftar, kontrak 2 tahun, visa kerja",
    "Dicari admin toko online di Tanjungpinang, kerja dari kantor, gaji 3 juta",
    "adik saya sudah 15 tahun kerja di malaysia dengan permit resmi",
    "hubungi admin untuk info lebih lanjut, no rek perusahaan tercantum di website resmi",
    "Kerja kosong: operator pengeluaran di Pasir Gudang, gaji RM1700, permit kerja disediakan, "
    "penginapan disediakan",
    "anak saya umur 19 mau kerja di kilang di johor melalui agensi, ada kontrak dan permit",
    "tetangga ditawari kerja di malaysia jadi pembantu rumah tangga, berangkat minggu depan",
]


@pytest.mark.parametrize("story", ORDINARY)
def test_an_ordinary_legal_offer_scores_low(story: str) -> None:
    risk = score([], None, OfferKind.WORK_ABROAD, story)
    assert risk.level is Level.LOW, [(r.indicator, r.found) for r in risk.reasons]


DENIED = [
    "bukan visa turis, pakai visa kerja",
    "jangan transfer ke rekening pribadi",
    "paspor tidak ditahan, dipegang sendiri",
    "tidak ada potong gaji",
    "waspada pelabuhan tikus",
    "don't pay to a personal account",
    "never a tourist visa",
]


@pytest.mark.parametrize("story", DENIED)
def test_words_denied_or_warned_against_do_not_count(story: str) -> None:
    assert found(story) == set()


def test_not_knowing_is_not_a_denial() -> None:
    assert "documents_held" in found("gak tau paspor ditahan di mana")
    assert found("tidak. paspor ditahan agen") == {"documents_held"}  # another sentence


def test_a_stored_report_is_scored_with_what_was_said_of_the_recruiter() -> None:
    report = a_report(
        offer_kind=OfferKind.WORK_ABROAD,
        destination="Malaysia",
        story="ditawari kerja",
        recruiter_name="Pak Budi, calo dari Uban",
    )
    assert {r.indicator for r in of_report(report).reasons} == {"not_registered"}


def test_phrases_are_tried_only_where_they_can_begin_and_find_what_the_expression_finds() -> None:
    """Each phrase list is tried only at the words of a text its phrases can begin with: the
    same matches as the expression tried everywhere, denied ones skipped the same way, in
    any case (IGNORECASE's İ, ı, ſ and the Kelvin sign included)."""
    stories = [story for story, _ in FAMILIES] + ORDINARY + DENIED
    stories += [
        "PASPOR DITAHAN, Paspor DiTaHaN",
        "pa\u017fpor ditahan; \u0130ndonesia, \u212aamboja, v\u0131sa tur\u0131s",
        "tidak paspor ditahan. paspor ditahan",
        "tidak naik pompong, tidak lewat calo",  # after a denied phrase, not within it
        "bukan visa turis_visa turis, visa-turis, visa   turis",
        "kerja di kamboja/myanmar, phnom-penh; don't pay to a personal account, pay to one",
        "x" * 40,
        "",
    ]
    for matchers in _matchers().values():
        for phrases in (matchers.words, matchers.destinations, matchers.offer_words):
            if phrases is None:
                continue
            assert phrases.first_words is not None  # every phrase begins with a word
            for story in stories:
                for guard in (True, False):
                    expected = _first(phrases.pattern, story, guard=guard)
                    assert _first_phrase(phrases, _Words(story), guard=guard) == expected, story


# The data file, as a coordinator edits it.


def test_the_indicators_file_has_a_source_weight_trigger_and_both_explanations() -> None:
    with INDICATORS.open("rb") as f:
        raw = tomllib.load(f)
    assert len(raw["indicator"]) >= 20
    for entry in raw["indicator"]:
        assert entry["source"] in raw["sources"], entry["id"]
        assert entry["item"].strip(), entry["id"]
        assert 1 <= entry["weight"] <= 10, entry["id"]
        assert set(entry["trigger"]) & {
            "red_flags",
            "words",
            "patterns",
            "destinations",
            "offer_kinds",
        }, entry["id"]
        for field in ("label", "explanation"):
            assert entry[field]["id"].strip() and entry[field]["en"].strip(), entry["id"]
    for source in raw["sources"].values():
        assert source["title"] and source["publisher"] and source["year"]
    families = {e["source"] for e in raw["indicator"]}
    assert families == {
        "ilo_forced_labour",
        "ilo_ec_trafficking",
        "id_non_procedural",
        "scam_compounds",
    }
    assert indicators() is indicators()  # read once


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('explanation.en = "Nobody may keep', 'explanation.fr = "Nobody may keep'), "en"),
        (('source = "ilo_forced_labour"', 'source = "somewhere"'), "somewhere"),
        (('red_flags = ["documents_held"]', 'red_flags = ["passport"]'), "red_flags"),
        (("weight = 5", "weight = 0"), "weight"),
        (("[levels]\nmedium = 4", "[levels]\nmedium = 9"), "high must be above"),
        (('id = "movement_restricted"', 'id = "documents_held"'), "same id"),
    ],
)
def test_a_wrong_entry_in_the_file_is_refused_with_its_name(
    tmp_path: Path, change: tuple[str, str], complaint: str
) -> None:
    text = INDICATORS.read_text()
    assert change[0] in text
    broken = tmp_path / "indicators.toml"
    broken.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ValidationError, match=complaint):
        indicators(broken)


def test_a_trigger_needs_something_to_find(tmp_path: Path) -> None:
    text = INDICATORS.read_text().replace(
        '[indicator.trigger]\nwords = [\n  "tanpa libur"', '[indicator.trigger]\nx = [\n  "a"', 1
    )
    broken = tmp_path / "indicators.toml"
    broken.write_text(text)
    with pytest.raises(ValidationError):
        indicators(broken)


# The priority: a high risk makes a report at least high, and never lowers it.


@pytest.mark.parametrize(
    ("urgency", "child", "flags", "risk", "expected"),
    [
        (Urgency.NONE, ChildInvolved.NO, [], Level.HIGH, Priority.HIGH),
        (Urgency.NONE, ChildInvolved.NO, [], Level.MEDIUM, Priority.NORMAL),
        (Urgency.NONE, ChildInvolved.NO, [], Level.LOW, Priority.NORMAL),
        (Urgency.DANGER_NOW, ChildInvolved.NO, [], Level.LOW, Priority.URGENT),
        (Urgency.DANGER_NOW, ChildInvolved.NO, [], Level.HIGH, Priority.URGENT),
        (Urgency.NONE, ChildInvolved.YES, [], Level.LOW, Priority.HIGH),
        (Urgency.NONE, ChildInvolved.NO, [RedFlag.DOCUMENTS_HELD], Level.LOW, Priority.HIGH),
    ],
)
def test_a_high_risk_makes_a_report_at_least_high_and_never_lowers_one(
    urgency: Urgency, child: ChildInvolved, flags: list[RedFlag], risk: Level, expected: Priority
) -> None:
    assert priority(urgency, child, flags, risk) is expected


# The alert's line.


def a_report(**fields: object) -> Report:
    values: dict[str, object] = {
        "reference": "BTN-2026-00001",
        "created_at": datetime(2026, 1, 5, tzinfo=UTC),
        "priority": Priority.HIGH,
        "channel": "telegram",
        "sender": "1",
        "language": "id",
        "urgency": Urgency.NONE,
        "affected": "family",
        "child_involved": ChildInvolved.NO,
        "offer_kind": OfferKind.ONLINE_JOB,
        "destination": "Kamboja",
        "offer_source": "social_media",
        "story": "",
    }
    return Report(**{**values, **fields})


def test_the_alert_line_names_the_level_points_and_top_three_reasons() -> None:
    report = a_report(
        story="kerja online, tiket ditanggung, paspor ditahan, transfer ke rekening pribadi"
    )
    assert risk_line(gettext("en"), report, "en") == (
        "Risk: high (16) — passport held; Cambodia for an online job; fees to a personal account"
    )
    assert risk_line(gettext("id"), report, "id") == (
        "Risiko: tinggi (16) — paspor ditahan; Kamboja untuk kerja online; "
        "bayar ke rekening pribadi"
    )


def test_the_alert_line_of_a_report_with_no_sign() -> None:
    report = a_report(offer_kind=OfferKind.WORK_ABROAD, destination="Malaysia", story="kerja")
    assert risk_line(gettext("en"), report, "en") == "Risk: low (0)"


def test_a_broken_indicators_file_stops_start_up_with_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import config
    from handlers import risk

    broken = tmp_path / "indicators.toml"
    broken.write_text(INDICATORS.read_text().replace("weight = 5", "weight = 0", 1))
    monkeypatch.setattr(risk, "INDICATORS", broken)
    monkeypatch.setattr(risk, "indicators", lambda: indicators(broken))
    with pytest.raises(config.ConfigError, match=r"indicators.toml: .*weight"):
        config.load(None, environ={})
