"""smsdesk ships its own licence where smsdesk.legal looks for it."""

from __future__ import annotations

from pathlib import Path

from smsdesk import legal


def test_the_licence_is_found_and_is_mit() -> None:
    path = legal.licence()
    assert path is not None
    assert path.read_text(encoding="utf-8").startswith("MIT License")


def test_pyproject_declares_the_spdx_licence_and_ships_the_file() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert all((root / f).is_file() for f in project["license-files"])
