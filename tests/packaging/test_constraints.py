"""packaging/constraints.txt pins the release build: every run-time dependency of smsdesk
(with the PostgreSQL driver) at one exact version that pyproject.toml allows, so every
platform ships the same Qt."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.packaging.install_tree import REPO


def pins() -> dict[str, Version]:
    found: dict[str, Version] = {}
    for line in (REPO / "packaging" / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"not an exact pin: {line}"
            found[canonicalize_name(name)] = Version(version)
    return found


def test_every_run_time_dependency_is_pinned_within_its_bounds() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    pinned = pins()
    # The release builds run Python 3.11 (.github/workflows/release.yml).
    env = {"python_version": "3.11", "python_full_version": "3.11.9", "extra": ""}
    for text in wanted:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is not pinned"
        assert req.specifier.contains(pinned[name], prereleases=False), (text, pinned[name])
    # Qt and its binding at one version: they are built for each other.
    assert pinned["pyside6-essentials"] == pinned["shiboken6"]
    assert pinned["psycopg"] == pinned["psycopg-binary"]
