"""packaging/linux/apt-repo.sh: a signed apt repository that apt itself accepts (a real
apt-get update against it, with its own state folders), and refuses once tampered with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.install_tree import REPO

SCRIPT = REPO / "packaging" / "linux" / "apt-repo.sh"
TOOLS = ("dpkg-deb", "dpkg-scanpackages", "gpg", "gpgv", "apt-get", "apt-cache")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason="needs dpkg-dev, gpg and apt"
)


def fake_deb(tmp: Path, version: str) -> Path:
    root = tmp / f"pkg-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share/doc/smsdesk").mkdir(parents=True)
    (root / "usr/share/doc/smsdesk/README").write_text(f"smsdesk {version}\n")
    (root / "DEBIAN/control").write_text(
        f"Package: smsdesk\nVersion: {version}\nArchitecture: amd64\n"
        "Maintainer: The smsdesk developers <smsdesk@users.noreply.github.com>\n"
        "Description: test package\n"
    )
    deb = tmp / f"smsdesk_{version}_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


@pytest.fixture
def signing_key(tmp_path: Path) -> tuple[dict[str, str], str]:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        [
            *("gpg", "--batch", "--passphrase", "", "--quick-gen-key"),
            *("smsdesk test <t@example.org>", "ed25519", "sign", "never"),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line[:3] == "fpr")
    return env, fingerprint


def apt(tmp: Path, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """apt-get/apt-cache with nothing of this machine's apt configuration but dpkg's status."""
    state = tmp / "apt"
    for d in ("lists/partial", "cache/archives/partial", "parts", "prefs"):
        (state / d).mkdir(parents=True, exist_ok=True)
    sources = state / "sources.list"
    sources.write_text(
        f"deb [signed-by={repo / 'smsdesk-archive-keyring.gpg'}] file:{repo} stable main\n"
    )
    options = [
        f"-oDir::State::Lists={state / 'lists'}",
        f"-oDir::Cache={state / 'cache'}",
        f"-oDir::Etc::SourceList={sources}",
        f"-oDir::Etc::SourceParts={state / 'parts'}",
        f"-oDir::Etc::PreferencesParts={state / 'prefs'}",
        "-oAPT::Sandbox::User=root",
        "-oAcquire::Languages=none",
    ]
    return subprocess.run(
        [args[0], *options, *args[1:]], capture_output=True, text=True, check=False
    )


def test_apt_accepts_the_signed_repository(
    tmp_path: Path, signing_key: tuple[dict[str, str], str]
) -> None:
    env, fingerprint = signing_key
    out = tmp_path / "repo"
    debs = [str(fake_deb(tmp_path, v)) for v in ("0.1.0", "0.1.1")]
    subprocess.run(
        ["bash", str(SCRIPT), str(out), *debs],
        env={**env, "APT_SIGNING_KEY_ID": fingerprint},
        check=True,
        capture_output=True,
    )
    release = out / "dists/stable"
    for name in ("Release", "Release.gpg", "InRelease", "main/binary-amd64/Packages.xz"):
        assert (release / name).is_file(), name
    assert json.loads((out / "latest.json").read_text()) == {
        "version": "0.1.1",
        "url": "https://github.com/smsdesk/smsdesk/releases/tag/v0.1.1",
    }
    subprocess.run(
        ["gpgv", "--keyring", str(out / "smsdesk-archive-keyring.gpg"), str(release / "InRelease")],
        check=True,
        capture_output=True,
    )
    update = apt(tmp_path, out, "apt-get", "update")
    assert update.returncode == 0, update.stdout + update.stderr
    assert "W:" not in update.stderr and "E:" not in update.stderr, update.stderr
    policy = apt(tmp_path, out, "apt-cache", "policy", "smsdesk")
    assert "Candidate: 0.1.1" in policy.stdout, policy.stdout

    # A mirror that changes a package list after signing: apt refuses it.
    packages = release / "main/binary-amd64/Packages"
    packages.write_text(packages.read_text().replace("0.1.1", "9.9.9"))
    for stale in (packages.with_suffix(".xz"), packages.with_suffix(".gz")):
        stale.unlink()
    shutil.rmtree(tmp_path / "apt" / "lists")
    tampered = apt(tmp_path, out, "apt-get", "update")
    assert tampered.returncode != 0 or "Hash Sum mismatch" in tampered.stderr
    assert "9.9.9" not in apt(tmp_path, out, "apt-cache", "policy", "smsdesk").stdout


def test_no_signing_key_no_repository(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "APT_SIGNING_KEY_ID"}
    run = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "repo"), str(fake_deb(tmp_path, "0.1.0"))],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0 and "APT_SIGNING_KEY_ID" in run.stderr
    assert not (tmp_path / "repo").exists()
