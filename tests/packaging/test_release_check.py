"""packaging/release_check.py, as the release workflow runs it, on copies of the files it
reads: the tag, the metainfo's release entry, the Debian changelog, the signing secrets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.install_tree import REPO

SCRIPT = REPO / "packaging" / "release_check.py"
METAINFO = "resources/io.github.smsdesk.SmsDesk.metainfo.xml"
FILES = ("smsdesk/__init__.py", METAINFO, "packaging/debian/changelog")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def version(repo: Path) -> str:
    text = (repo / "smsdesk/__init__.py").read_text()
    found = re.search(r'__version__ = "([^"]+)"', text)
    assert found is not None
    return found.group(1)


def check(repo: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return run.returncode, run.stderr


def bump(repo: Path, new: str, *, metainfo: bool = True, changelog: bool = True) -> None:
    old = version(repo)
    init = repo / "smsdesk/__init__.py"
    init.write_text(init.read_text().replace(f'"{old}"', f'"{new}"'))
    if metainfo:
        path = repo / METAINFO
        path.write_text(
            path.read_text().replace(
                "<releases>",
                f'<releases>\n    <release version="{new}" date="2026-12-01"/>',
            )
        )
    if changelog:
        path = repo / "packaging/debian/changelog"
        path.write_text(f"smsdesk ({new}) stable; urgency=medium\n\n" + path.read_text())


def test_the_repository_as_it_is_passes(repo: Path) -> None:
    code, err = check(repo, "--tag", f"v{version(repo)}")
    assert (code, err) == (0, "")


def test_a_tag_that_is_not_the_version_fails(repo: Path) -> None:
    code, err = check(repo, "--tag", "v9.9.9")
    assert code == 1
    assert f"the tag is v9.9.9, but smsdesk/__init__.py says __version__ = '{version(repo)}'" in err


def test_a_version_without_its_metainfo_release_fails(repo: Path) -> None:
    bump(repo, "0.2.0", metainfo=False)
    code, err = check(repo, "--tag", "v0.2.0")
    assert code == 1
    assert 'has no <release version="0.2.0"> entry' in err
    assert "changelog" not in err  # only what is wrong is named


def test_a_version_without_its_changelog_entry_fails(repo: Path) -> None:
    bump(repo, "0.2.0", changelog=False)
    code, err = check(repo, "--tag", "v0.2.0")
    assert code == 1 and "changelog's top entry is" in err and "not 0.2.0" in err


def test_a_complete_new_version_passes(repo: Path) -> None:
    bump(repo, "0.2.0")
    assert check(repo, "--tag", "v0.2.0") == (0, "")


def test_a_pre_release_version_fails(repo: Path) -> None:
    bump(repo, "0.2.0rc1")
    code, err = check(repo, "--tag", "v0.2.0rc1")
    assert code == 1 and "0.2.0rc1 is not a release version X.Y.Z" in err


def test_a_tag_build_without_signing_secrets_fails(repo: Path) -> None:
    tag = f"v{version(repo)}"
    secrets = ("SMOKE_SIGN_A", "SMOKE_SIGN_B")
    code, err = check(repo, "--tag", tag, "--require-secrets", *secrets, env={"SMOKE_SIGN_A": "x"})
    assert code == 1
    assert err.strip().splitlines() == [
        "release check: the signing secret SMOKE_SIGN_B is not set: a tagged build must be signed"
    ]
    ok = check(repo, "--tag", tag, "--require-secrets", *secrets, env=dict.fromkeys(secrets, "x"))
    assert ok == (0, "")
