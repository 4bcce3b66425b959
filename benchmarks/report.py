"""``python -m benchmarks.report [FILE] [--readme]``: the table of a raw results file (the
published one by default); ``--readme`` puts it into benchmarks/README.md between its markers."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import ROOT
from benchmarks.results_file import PUBLISHED, Results

README = ROOT / "README.md"
BEGIN = "<!-- results: rendered from results/published.json by python -m benchmarks.report -->"
END = "<!-- results end -->"


def with_table(readme: str, results: Results) -> str:
    """``readme`` with the part between the markers replaced by the results' table."""
    head, rest = readme.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{results.markdown()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=PUBLISHED)
    parser.add_argument("--readme", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args(argv)
    results = Results.read(args.file)
    if args.readme:
        README.write_text(with_table(README.read_text(encoding="utf-8"), results), "utf-8")
    else:
        print(results.markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
