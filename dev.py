"""Sets up a virtual environment in .venv (again when pyproject.toml changes) and runs Sigap
in it: `python3 dev.py chat`, `python3 dev.py test`, `python3 dev.py lint`,
`python3 dev.py bench NAME` (a script in bench/), or any `sigap` command
(`python3 dev.py reports list`). Needs only Python 3.11+."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def ensure_venv(with_tests: bool) -> None:
    """The product's packages, and the test tools too when asked (`test`, `lint`, `bench`):
    `chat` and `run` install only what Sigap needs. Installed again when pyproject.toml
    changes."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    installed = STAMP.read_text().split() if STAMP.exists() else []
    if installed[:1] == [wanted] and (not with_tests or installed[1:] == ["test"]):
        return
    if not (BIN / "python").exists():
        print("setting up .venv (first run only)...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # setuptools too: the one venv bundles (65.5 with Python 3.11) has known vulnerabilities.
    subprocess.run([*pip, "--upgrade", "pip", "setuptools"], check=True)
    extras = "[test]" if with_tests or installed[1:] == ["test"] else ""
    subprocess.run([*pip, "--editable", f"{ROOT}{extras}"], check=True)
    STAMP.write_text(f"{wanted} test" if extras else wanted)


def main(args: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036  (this file runs on any Python 3)
        sys.exit("Sigap needs Python 3.11 or newer")
    ensure_venv(with_tests=args[:1] in (["test"], ["lint"], ["bench"]))
    if args[:1] == ["test"]:
        command = [str(BIN / "python"), "-m", "pytest", *args[1:]]
    elif args[:1] == ["lint"]:
        python = str(BIN / "python")
        for step in (
            [python, "-m", "ruff", "check", "."],
            [python, "-m", "ruff", "format", "--check", "."],
            [python, "-m", "mypy", "bot", "handlers", "storage"],
        ):
            if subprocess.run(step, cwd=ROOT).returncode:
                return 1
        return 0
    elif args[:1] == ["bench"] and len(args) > 1:
        command = [str(BIN / "python"), "-m", f"bench.{args[1]}", *args[2:]]
    else:
        command = [str(BIN / "sigap"), *args]
    in_repo = args[:1] in (["test"], ["bench"])
    return run(command, cwd=ROOT if in_repo else None)


def run(command: list[str], cwd: Path | None) -> int:
    """Runs the command and returns its exit status. Ctrl-C reaches it too (the terminal
    signals the whole foreground group) and it stops on its own, `sigap run` after finishing
    what it has in hand: wait for that (subprocess.run would kill it), then report 130."""
    process = subprocess.Popen(command, cwd=cwd)
    interrupted = False
    while True:
        try:
            code = process.wait()
            break
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        return 130
    return 128 - code if code < 0 else code  # killed by a signal: as a shell reports it


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # while setting up .venv or linting
        sys.exit(130)
