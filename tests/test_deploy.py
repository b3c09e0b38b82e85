"""The deployment recipes in deploy/: the systemd unit as systemd reads it, the container's
files as far as they can be checked without building the image (built and run by
tests/journeys/test_container_journey.py), and the config the compose file mounts."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot import config
from bot.cli import main
from bot.service import JOB_GRACE, SEND_GRACE

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "sigap.service"
CLEAN_STOP = 10  # seconds: bot/service.py's promise, SEND_GRACE and JOB_GRACE within it


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def exec_start() -> list[str]:
    return shlex.split(unit()["Service"]["ExecStart"])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_reads_the_unit_without_a_complaint(tmp_path: Path) -> None:
    """systemd-analyze verify, with ExecStart pointing at this checkout's sigap (the unit's
    /opt/sigap/venv does not exist here): an unknown key or a bad value is a warning on
    stderr, which fails the test."""
    sigap = Path(shutil.which("sigap") or ROOT / ".venv" / "bin" / "sigap")
    assert sigap.exists()
    text = UNIT.read_text(encoding="utf-8").replace(exec_start()[0], str(sigap))
    (tmp_path / "sigap.service").write_text(text, encoding="utf-8")
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "sigap.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""


def test_the_unit_runs_sigap_run_with_the_config_as_an_unprivileged_user() -> None:
    service = unit()["Service"]
    command = exec_start()
    assert command[0].endswith("/bin/sigap")
    assert command[1:] == ["run", "--config", "/etc/sigap/config.toml"]
    # The same arguments are the ones `sigap` takes (--help stops before anything runs).
    accepted = CliRunner().invoke(main, [*command[1:], "--help"])
    assert accepted.exit_code == 0, accepted.output
    assert "Run the service" in accepted.output
    assert service["User"] not in ("", "root")
    assert service["Restart"] == "on-failure"


def test_the_unit_lets_sigap_stop_cleanly_before_killing_it() -> None:
    service = unit()["Service"]
    assert SEND_GRACE + JOB_GRACE < CLEAN_STOP
    assert service["KillSignal"] == "SIGTERM"
    assert CLEAN_STOP < int(service["TimeoutStopSec"]) <= 30


def test_the_unit_may_write_only_its_data_folder_which_is_its_working_directory() -> None:
    service = unit()["Service"]
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    data = "/var/lib/" + service["StateDirectory"]
    assert service["ReadWritePaths"].split() == [data]
    assert service["WorkingDirectory"] == data


def dockerfile() -> dict[str, list[str]]:
    """The Dockerfile's instructions (continuation lines joined), by instruction."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, rest = line.strip().partition(" ")
            found.setdefault(instruction.upper(), []).append(rest.strip())
    return found


def test_the_image_runs_sigap_run_as_a_non_root_user_and_checks_its_health() -> None:
    image = dockerfile()
    # Debian 12 and its Python, whatever Debian 12 base is given (BASE).
    assert image["ARG"] == ["BASE=debian:bookworm-slim"]
    assert image["FROM"] == ["${BASE}"]
    assert image["USER"] == ["sigap"]
    assert image["STOPSIGNAL"] == ["SIGTERM"]
    assert image["CMD"] == ['["sigap", "run", "--config", "/etc/sigap/config.toml"]']
    assert "http://127.0.0.1:8080/healthz" in image["HEALTHCHECK"][0]
    installs = " ".join(image["RUN"])
    assert "python3 python3-venv" in installs and "python3 -m venv" in installs
    assert "pip install --no-compile ." in installs and "[test]" not in installs
    copied = {line.split()[0] for line in image["COPY"]}
    # What the package is made of: a missing one would fail the build, or start-up.
    assert copied == {"pyproject.toml", "bot", "handlers", "storage"}


def test_compose_gives_sigap_more_time_to_stop_than_it_needs() -> None:
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    grace = re.search(r"^\s+stop_grace_period: (\d+)s$", compose, re.MULTILINE)
    assert grace is not None and int(grace.group(1)) > CLEAN_STOP
    assert "dockerfile: deploy/Dockerfile" in compose
    assert "condition: service_healthy" in compose
    # Its PostgreSQL is the version of the image's pg_dump (Debian 12's), for `sigap backup`.
    assert "image: postgres:15-bookworm" in compose
    assert "ARG BASE=debian:bookworm-slim" in (DEPLOY / "Dockerfile").read_text()


def test_the_config_compose_mounts_loads_with_compose_environment(tmp_path: Path) -> None:
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    environment = dict(
        re.findall(r"^      (SIGAP_[A-Z_]+): (.+)$", compose, re.MULTILINE),
    )
    assert set(environment) <= set(config.ENVIRONMENT)
    url = environment["SIGAP_STORAGE_URL"].replace("${SIGAP_DB_PASSWORD}", "0123abcd")
    settings = config.load(
        DEPLOY / "config.compose.toml",
        {"SIGAP_STORAGE_URL": url, "SIGAP_MEDIA_DIR": environment["SIGAP_MEDIA_DIR"]},
    )
    assert settings.server.host == "0.0.0.0"
    assert settings.server.port == 8080  # the port the image exposes and checks
    assert settings.storage.url == "postgresql+psycopg://sigap:0123abcd@postgres:5432/sigap"
    assert str(settings.storage.media_dir) == "/var/lib/sigap/media"


def test_the_guide_lists_the_commands_the_bot_registers() -> None:
    from handlers.residents.menu import commands

    guide = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    shown = guide.split("<!-- telegram commands: begin -->", 1)[1]
    shown = shown.split("<!-- telegram commands: end -->", 1)[0]
    rows = [line for line in shown.strip().splitlines()[2:]]
    assert rows == [f"| `/{name}` | {description} |" for name, description in commands("en")]
