"""Audits the packages installed in .venv for known vulnerabilities with pip-audit, asking
PyPI's JSON API (`pip-audit -s pypi`: no network beyond the package registry). pip-audit runs
from a venv of its own (.venv-audit), so its dependencies are neither audited nor installed
with Sigap's. Exits 1 when an installed release has a known vulnerability that is not among
the exceptions below, and lists what could not be audited.

Where PyPI's page of one release (/pypi/NAME/VERSION/json, what pip-audit asks) cannot be
reached but the project's page (/pypi/NAME/json) can, as on the development machines, a
package installed at its latest release is audited from the project's page, whose
`vulnerabilities` are the latest release's; an older one is listed as not audited.

Run by .ci/run; by hand: `python3 scripts/audit.py` (after `python3 dev.py test` made .venv)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".venv-audit"
PIP_AUDIT = "pip-audit==2.10.1"
PYPI = "https://pypi.org/pypi"
INSTALLED = """
import importlib.metadata as m, json, sysconfig
print(json.dumps({"site": sysconfig.get_paths()["purelib"],
                  "versions": {d.metadata["Name"]: d.version for d in m.distributions()}}))
"""

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
    installed = json.loads(
        subprocess.run([str(python), "-c", INSTALLED], check=True, capture_output=True).stdout
    )
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "audit.json"
        command = [str(tool), "-s", "pypi", "--path", installed["site"], "--skip-editable"]
        command += ["--progress-spinner", "off", "-f", "json", "-o", str(out)]
        for vulnerability in EXCEPTIONS:
            command += ["--ignore-vuln", vulnerability]
        finished = subprocess.run(command, capture_output=True, text=True)  # 1: found some
        if not out.exists():
            print(finished.stderr, file=sys.stderr)
            return 1
        dependencies = json.loads(out.read_text())["dependencies"]
    versions = {canonical(name): v for name, v in installed["versions"].items()}
    dependencies = [d for d in dependencies if "editable" not in d.get("skip_reason", "")]
    for dependency in dependencies:
        dependency.setdefault("version", versions.get(canonical(dependency["name"]), "?"))
    skipped = [d for d in dependencies if "skip_reason" in d]
    with ThreadPoolExecutor(8) as pool:  # one request each: a few seconds in all
        pages = dict(zip(map(id, skipped), pool.map(latest_release_vulns, skipped), strict=True))
    found: list[str] = []
    audited, unaudited = 0, []
    for dependency in dependencies:
        name, version = dependency["name"], dependency["version"]
        vulns = pages[id(dependency)] if "skip_reason" in dependency else dependency["vulns"]
        if vulns is None:
            unaudited.append(f"{name} {version}")
            continue
        audited += 1
        for vulnerability in vulns:
            fixes = vulnerability.get("fix_versions") or vulnerability.get("fixed_in") or []
            fixed = ", ".join(fixes)
            found.append(f"{name} {version}: {vulnerability['id']} (fixed in: {fixed or '-'})")
    for line in found:
        print("VULNERABLE", line)
    print(
        f"dependency audit: {audited} installed packages audited, {len(found)} known "
        f"vulnerabilities; not audited (no vulnerability data for the release installed): "
        f"{', '.join(unaudited) or 'none'}"
    )
    return 1 if found else 0


def canonical(name: str) -> str:
    """A distribution's name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def latest_release_vulns(dependency: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The known vulnerabilities of the release installed, from the project's page on PyPI,
    if it is the latest release; None when it is not (or PyPI does not answer)."""
    name, version = dependency["name"], dependency["version"]
    try:
        with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=15) as response:
            page = json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None
    if page["info"]["version"] != version:
        return None
    return [
        v
        for v in page.get("vulnerabilities") or []
        if not v.get("withdrawn")
        and v["id"] not in EXCEPTIONS
        and not set(v.get("aliases") or []) & set(EXCEPTIONS)
    ]


if __name__ == "__main__":
    sys.exit(main())
