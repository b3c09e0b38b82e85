"""Loading the config: defaults, the example file, env variables, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import config
from bot.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = config.load(environ={})
    assert settings == Settings()
    assert settings.storage.url == "sqlite+aiosqlite:///sigap.db"
    assert settings.bot.default_language == "id" and settings.bot.reference_prefix == "BTN"
    assert "Tambelan" in settings.intake.area_keys and len(settings.intake.areas) == 11
    assert settings.intake.areas[-1].text("en") == "Outside Bintan"
    assert [c.number for c in settings.intake.emergency_contacts] == ["110", "129", "0800-1000"]


def test_the_example_file_is_the_defaults() -> None:
    """Its relative database and media folder are beside it, as in any config file."""
    example = config.load(ROOT / "config.example.toml", environ={})
    defaults = Settings()
    assert example.storage.url == f"sqlite+aiosqlite:///{ROOT / 'sigap.db'}"
    assert example.storage.media_dir == ROOT / "media"
    assert example.privacy.key_file == ROOT / "sigap.key"
    beside = {"storage": defaults.storage, "privacy": defaults.privacy}
    assert example.model_copy(update=beside) == defaults


def test_relative_paths_in_a_config_file_are_beside_it(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(folder, '[storage]\nurl = "sqlite:///data/a.db"\nmedia_dir = "files"\n')
    settings = config.load(path, environ={})
    assert settings.storage.url == f"sqlite+aiosqlite:///{folder / 'data' / 'a.db'}"
    assert settings.storage.media_dir == folder / "files"
    absolute = write(folder, '[storage]\nurl = "sqlite:////srv/a.db"\nmedia_dir = "/srv/m"\n')
    settings = config.load(absolute, environ={})
    assert settings.storage.url == "sqlite+aiosqlite:////srv/a.db"
    assert settings.storage.media_dir == Path("/srv/m")
    given = config.load(path, environ={"SIGAP_STORAGE_URL": "sqlite:///b.db"})
    assert given.storage.url == "sqlite+aiosqlite:///b.db"  # the shell's directory


def test_env_variables_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\nurl = "sqlite:///a.db"\n')
    settings = config.load(path, environ={"SIGAP_STORAGE_URL": "postgresql://db/sigap"})
    assert settings.storage.url == "postgresql+psycopg://db/sigap"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bot]\nlanguage = 'id'\n", "bot.language: unknown key"),
        ("[botx]\n", "botx: unknown key"),
        ("[intake]\ndraft_expiry_hours = 'soon'\n", "intake.draft_expiry_hours: Input should be"),
        ("[intake]\nmax_media_mb = -1\n", "intake.max_media_mb: Input should be greater than 0"),
        (
            "[intake]\nmax_messages_per_minute = 2\n",
            "intake.max_messages_per_minute: Input should be greater than or equal to 5",
        ),
        ("[bot]\ntimezone = 'Mars/Olympus'\n", "bot.timezone: an IANA time zone"),
        ("[bot]\nlanguages = ['id', 'fr']\n", "bot.languages: languages with a catalog"),
        ("[bot]\ndefault_language = 'en'\nlanguages = ['id']\n", "default_language 'en'"),
        ("[storage]\nurl = 'mysql://x/y'\n", "storage.url: a sqlite:/// or postgresql"),
        ("[bot]\nreference_prefix = 'btn-'\n", "bot.reference_prefix: String should match"),
        ("[[intake.emergency_contacts]]\nname = 'x'\n", "intake.emergency_contacts.0.number"),
        ("[bot\n", "not valid TOML"),
        (
            "[retention]\ndrafts_days = -1\n",
            "retention.drafts_days: a number of 0 (keep forever) or more (got -1)",
        ),
        (
            "[retention]\nclosed_identity_months = -12\n",
            "retention.closed_identity_months: a number of 0 (keep forever) or more (got -12)",
        ),
        ("[retention]\nevidence_months = 'never'\n", "retention.evidence_months: Input should be"),
        ("[retention]\ndrafts_years = 1\n", "retention.drafts_years: unknown key"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        config.load(path, environ={})
    assert message in str(error.value)
    assert str(error.value).count("\n") == 0


def test_retention_keeps_drafts_30_days_identities_12_months_and_evidence_24_by_default(
    tmp_path: Path,
) -> None:
    """0 keeps a kind forever; a key left out keeps its default."""
    retention = config.load(write(tmp_path, ""), environ={}).retention
    assert (retention.drafts_days, retention.closed_identity_months) == (30, 12)
    assert retention.evidence_months == 24
    path = write(tmp_path, "[retention]\nclosed_identity_months = 0\n")
    retention = config.load(path, environ={}).retention
    assert (retention.drafts_days, retention.closed_identity_months) == (30, 0)


def test_a_missing_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "nope.toml", environ={})
