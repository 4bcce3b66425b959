"""Checks a release before anything is built or published (run by the release workflow).

    python3 packaging/release_check.py --tag v0.1.1 [--require-secrets NAME ...] [--repo DIR]

Fails, one line per problem, exit 1, when
- the tag is not ``v`` + ``smsdesk.__version__``;
- the version is not a plain release X.Y.Z (a pre-release like 0.2.0rc1 sorts after 0.2.0 in
  Debian's ordering and does not fit the four numbers of the Windows version resource);
- the AppStream metainfo has no ``<release version="X.Y.Z" date=...>`` entry (software
  centres show it as the changelog), or packaging/debian/changelog's top entry is another;
- a signing secret named with ``--require-secrets`` is empty in the environment: a tagged
  build must never publish unsigned installers.
Without ``--tag`` (a build by hand from the Actions tab) only the files are checked.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

APP_ID = "io.github.smsdesk.SmsDesk"
RELEASE = re.compile(r"^\d+\.\d+\.\d+$")


def version_of(repo: Path) -> str:
    text = (repo / "smsdesk" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if found is None:
        raise SystemExit("smsdesk/__init__.py has no __version__")
    return found.group(1)


def problems(repo: Path, tag: str | None, secrets: list[str]) -> list[str]:
    found: list[str] = []
    version = version_of(repo)
    if tag is not None and tag != f"v{version}":
        found.append(f"the tag is {tag}, but smsdesk/__init__.py says __version__ = {version!r}")
    if not RELEASE.match(version):
        found.append(f"{version} is not a release version X.Y.Z (Debian and Windows need one)")
    metainfo = repo / "resources" / f"{APP_ID}.metainfo.xml"
    releases = ET.parse(metainfo).getroot().findall("./releases/release")
    entry = next((r for r in releases if r.get("version") == version), None)
    if entry is None:
        found.append(f'{metainfo.name} has no <release version="{version}"> entry')
    elif not re.match(r"^\d{4}-\d{2}-\d{2}$", entry.get("date", "")):
        found.append(f"{metainfo.name}: the release {version} has no date (YYYY-MM-DD)")
    elif releases[0] is not entry:
        found.append(f"{metainfo.name}: the release {version} is not the first (newest) entry")
    changelog = (repo / "packaging" / "debian" / "changelog").read_text(encoding="utf-8")
    top = re.match(r"^smsdesk \(([^)]+)\)", changelog)
    if top is None or top.group(1) != version:
        named = top.group(1) if top else "missing"
        found.append(f"packaging/debian/changelog's top entry is {named}, not {version}")
    for name in secrets:
        if not os.environ.get(name):
            found.append(f"the signing secret {name} is not set: a tagged build must be signed")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a release before building it.")
    parser.add_argument("--tag", help="the pushed tag, e.g. v0.1.1 (none: a build by hand)")
    parser.add_argument("--require-secrets", nargs="*", default=[], metavar="NAME")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    found = problems(args.repo, args.tag or None, args.require_secrets)
    for line in found:
        print(f"release check: {line}", file=sys.stderr)
    if not found:
        print(f"release check: smsdesk {version_of(args.repo)} is ready to build")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
