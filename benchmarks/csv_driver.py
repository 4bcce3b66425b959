"""Run in a fresh process by ``benchmarks.csv_import``: import one contacts CSV the way the
window and ``smsdesk contacts import`` do (preview with validation, then write), print timings.

``python -m benchmarks.csv_driver FILE`` with SMSDESK_HOME etc. set (``common.env_for``)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(path: str) -> None:
    from smsdesk.engine.contacts import ContactBook
    from smsdesk.engine.context import AppContext
    from smsdesk.engine.settings import SettingsService

    ctx = AppContext.open()
    # The file is a UK clinic's, as people type numbers.
    SettingsService(ctx).update_settings(default_region="GB")
    book = ContactBook(ctx)
    data = Path(path).read_bytes()
    started = time.perf_counter()
    preview = book.preview_import(data)
    previewed = time.perf_counter()
    summary = book.commit_import(preview, group="Imported")
    written = time.perf_counter()
    ctx.close()
    print(
        json.dumps(
            {
                "preview": previewed - started,
                "commit": written - previewed,
                "accepted": preview.accepted,
                "rejected": len(preview.rejected),
                "repaired": preview.repaired,
                "merged": preview.merged,
                "added": summary.added,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
