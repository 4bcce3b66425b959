"""Writes THIRD_PARTY_NOTICES.txt for a frozen smsdesk: the licence of everything it bundles.

Run with the build environment's Python (the one PyInstaller freezes from), at build time:

    python packaging/third_party_notices.py OUTPUT [--system-lib PATH]...

Sections, in order:
1. the Python distributions smsdesk[postgres] needs at run time (the dependency closure read
   from the installed metadata, so it follows whatever the build resolved), with their licence
   and notice files, as listed by pip-licenses;
2. Qt and PySide6/Shiboken (LGPL-3.0; their wheels carry no licence file), with the LGPL-3.0
   text and the GPL-3.0 text it incorporates, from packaging/licenses/;
3. the Python interpreter (PSF licence) from the build Python's own LICENSE file;
4. on Debian/Ubuntu, each system library copied into the bundle (--system-lib) with its
   package's copyright file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
ROOT_DIST = "smsdesk"
ROOT_EXTRAS = frozenset({"postgres"})  # bundled: PostgreSQL mode works from every installer
# LGPL-3.0 is GPL-3.0 plus extra permissions: both texts must accompany the library.
QT_LICENCES = ("LGPL-3.0.txt", "GPL-3.0.txt")
RULE = "=" * 78


def runtime_closure(root: str, extras: frozenset[str]) -> list[str]:
    """The installed distributions ``root[extras]`` needs at run time, sorted by name."""
    seen: dict[str, str] = {}
    walked: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if (key, wanted) in walked:
            continue
        walked.add((key, wanted))
        dist = metadata.distribution(name)
        seen[key] = dist.metadata["Name"]
        for spec in dist.requires or []:
            req = Requirement(spec)
            envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return sorted((n for k, n in seen.items() if k != ROOT_DIST), key=str.lower)


def pip_licenses(packages: list[str]) -> str:
    """Name, version, licence, URL and the full licence/notice texts of each package."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "piplicenses",
            "--from=mixed",
            "--with-urls",
            "--with-authors",
            "--with-license-file",
            "--with-notice-file",
            "--no-license-path",
            "--format=json",
            "--packages",
            *packages,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = json.loads(out.stdout)
    missing = {canonicalize_name(p) for p in packages} - {
        canonicalize_name(e["Name"]) for e in listed
    }
    if missing:
        raise SystemExit(f"pip-licenses did not list: {', '.join(sorted(missing))}")
    parts = []
    for entry in listed:
        parts.append(f"--- {entry['Name']} {entry['Version']}: {entry['License']} ---\n")
        for field in ("Author", "URL"):
            if entry.get(field, "UNKNOWN") != "UNKNOWN":
                parts.append(f"{field}: {entry[field]}\n")
        for field in ("LicenseText", "NoticeText"):
            if entry.get(field, "UNKNOWN") != "UNKNOWN":
                parts.append("\n" + entry[field].strip() + "\n")
        parts.append("\n")
    return "".join(parts)


def wheel_libraries(packages: list[str]) -> str:
    """The native libraries vendored inside wheels, from their SBOMs (auditwheel writes one)."""
    lines = []
    for name in packages:
        dist = metadata.distribution(name)
        for file in dist.files or []:
            if file.parent.name != "sboms" or not file.name.endswith(".cdx.json"):
                continue
            bom = json.loads(Path(str(dist.locate_file(file))).read_text(encoding="utf-8"))
            for comp in bom.get("components", []):
                if canonicalize_name(comp.get("name", "")) == canonicalize_name(name):
                    continue
                lines.append(
                    f"{name}: {comp.get('name')} {comp.get('version')} ({comp.get('purl')})"
                )
    return "\n".join(lines) + "\n" if lines else ""


def python_licence() -> str:
    for candidate in (
        Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt",
        Path(sys.base_prefix) / "LICENSE.txt",
        Path(f"/usr/share/doc/python{sys.version_info.major}.{sys.version_info.minor}/copyright"),
    ):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8", errors="replace")
    raise SystemExit("no licence file found for the build Python")


def debian_copyrights(libs: list[str]) -> list[tuple[str, str, str]]:
    """(package, libraries, copyright text) for each Debian package the libraries come from."""
    by_package: dict[str, list[str]] = {}
    for lib in libs:
        real = str(Path(lib).resolve())
        found = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True, check=False)
        if found.returncode != 0:
            found = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True, check=False)
        if found.returncode != 0:
            raise SystemExit(f"{lib}: no Debian package owns it; its licence is unknown")
        package = found.stdout.split(":", 1)[0].strip()
        by_package.setdefault(package, []).append(Path(lib).name)
    result = []
    for package, names in sorted(by_package.items()):
        text = Path(f"/usr/share/doc/{package}/copyright").read_text(
            encoding="utf-8", errors="replace"
        )
        result.append((package, ", ".join(sorted(set(names))), text))
    return result


def section(title: str) -> str:
    return f"\n{RULE}\n{title}\n{RULE}\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--system-lib", action="append", default=[], metavar="PATH")
    args = parser.parse_args()

    packages = runtime_closure(ROOT_DIST, ROOT_EXTRAS)
    version = metadata.version(ROOT_DIST)
    parts = [
        f"smsdesk {version}: third-party software notices\n\n"
        "smsdesk itself is under the MIT licence (LICENSE). This build bundles the software\n"
        "below, each under its own licence. Qt and PySide6 are used under the LGPL-3.0: they\n"
        "are loaded as separate shared libraries from the program's folder and may be\n"
        "replaced there with compatible builds of your own.\n",
        section("Python packages"),
        pip_licenses(packages),
    ]
    vendored = wheel_libraries(packages)
    if vendored:
        parts += [
            section("Native libraries inside the wheels above (from their SBOMs)"),
            "Each comes with the package named first and is distributed under its own\n"
            "licence, as packaged by the distribution its identifier names:\n\n",
            vendored,
        ]
    parts.append(section("Qt, PySide6 and Shiboken6 (LGPL-3.0-only; Qt's terms: qt.io/licensing)"))
    for name in QT_LICENCES:
        parts += [f"--- {name} ---\n\n", (HERE / "licenses" / name).read_text(encoding="utf-8")]
    parts += [section(f"Python {sys.version.split()[0]} (the interpreter)"), python_licence()]
    if args.system_lib:
        parts.append(section("System libraries copied from the build machine"))
        for package, names, text in debian_copyrights(args.system_lib):
            parts += [f"--- Debian package {package} ({names}) ---\n\n", text, "\n"]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("".join(parts), encoding="utf-8")
    libs = len(args.system_lib)
    print(f"{args.output}: {len(packages)} Python packages, {libs} system libraries")


if __name__ == "__main__":
    main()
