"""Audits the packages installed in .venv for known vulnerabilities with pip-audit, asking
PyPI's JSON API (`pip-audit -s pypi`: no network beyond the package registry). pip-audit runs
from a venv of its own (.venv-audit), so its dependencies are neither audited nor installed
with Sigap's. Exits 1 when an installed release has a known vulnerability that is not among
the exceptions below; prints what could not be audited.

Run by .ci/run; by hand: `python3 scripts/audit.py` (after `python3 dev.py test` made .venv)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".venv-audit"
PIP_AUDIT = "pip-audit==2.10.1"

# Vulnerabilities accepted for now, each with the reason (pip-audit's --ignore-vuln). Empty:
# when one is reported, upgrade the pin in pyproject.toml if a fixed release exists; only
# when none does (or the vulnerable code is never reached) add it here with why.
EXCEPTIONS: dict[str, str] = {}


def main() -> int:
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        sys.exit("no .venv: run `python3 dev.py test` first")
    tool = TOOLS / "bin" / "pip-audit"
    if not tool.exists():
        venv.EnvBuilder(with_pip=True).create(TOOLS)
        pip = [str(TOOLS / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--disable-pip-version-check", PIP_AUDIT], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "audit.json"
        command = [str(tool), "-s", "pypi", "--path", site, "--skip-editable"]
        command += ["--progress-spinner", "off", "-f", "json", "-o", str(out)]
        for vulnerability in EXCEPTIONS:
            command += ["--ignore-vuln", vulnerability]
        # Exit status 1 means "vulnerabilities found"; the JSON says which.
        finished = subprocess.run(command, capture_output=True, text=True)
        if not out.exists():
            print(finished.stderr, file=sys.stderr)
            return 1
        report = json.loads(out.read_text())
    return summarise(report["dependencies"])


def summarise(dependencies: list[dict[str, Any]]) -> int:
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d and "editable" not in str(d)]
    found = [(d, v) for d in audited for v in d.get("vulns") or []]
    for dependency, vulnerability in found:
        fixed = ", ".join(vulnerability.get("fix_versions") or []) or "no fixed release"
        print(
            f"VULNERABLE {dependency['name']} {dependency['version']}: {vulnerability['id']} "
            f"(fixed in: {fixed})"
        )
    print(
        f"pip-audit: {len(audited)} installed packages audited, {len(found)} known "
        f"vulnerabilities, {len(skipped)} not audited"
    )
    if skipped and not audited:
        # PyPI answers 404 for /pypi/NAME/VERSION/json where only the registry's project pages
        # are reachable: then nothing can be audited, which is said rather than hidden.
        print(
            "pip-audit: WARNING: PyPI's JSON API had no release data for any package "
            f"(e.g. {skipped[0]['skip_reason']}); nothing was audited"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
