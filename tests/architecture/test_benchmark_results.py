"""The published benchmark results: each verdict is what its recorded figure and target give,
and benchmarks/README.md shows exactly the table rendered from that raw file."""

from __future__ import annotations

from benchmarks.report import README, with_table
from benchmarks.results_file import PUBLISHED, Results


def test_every_published_verdict_follows_from_its_figure_and_target() -> None:
    results = Results.read(PUBLISHED)
    judged = [row for row in results.rows if row.limit is not None]
    assert judged, "no judged row: the raw file lost its figures"
    assert [row.scenario for row in results.rows if not row.verdict_holds()] == []
    assert results.commit and results.machine.get("cpus")


def test_the_readme_table_is_the_one_rendered_from_the_published_file() -> None:
    readme = README.read_text(encoding="utf-8")
    assert with_table(readme, Results.read(PUBLISHED)) == readme


def test_a_verdict_that_contradicts_its_target_is_caught() -> None:
    from benchmarks.common import Row, Target

    frame = Target(0.016, "≤ 16 ms")
    slow = Row.judged("Ctrl+End", "50 ms", "—", frame, 0.050)
    assert slow.verdict == "MISSED" and slow.verdict_holds()
    slow.verdict = "met"  # what the old table said at 50 ms against a 16 ms target
    assert not slow.verdict_holds()
    unsent = Row.judged("lateness", "p99 0.4 s", "—", Target(1.0, "p99 ≤ 1 s"), 0.4, also=False)
    assert unsent.verdict == "MISSED" and unsent.verdict_holds()
