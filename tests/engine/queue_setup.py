"""What the Queue's sort and scope tests share: walking a filter's pages by keyset."""

from __future__ import annotations

from smsdesk.engine.browse import Browser, QueueFilter, cursor_of


def walk(browser: Browser, flt: QueueFilter, page_size: int) -> list[str]:
    """Every message ``flt`` admits, page after page from each page's last row's key."""
    found: list[str] = []
    after = None
    while True:
        page = browser.page(flt, after=after, limit=page_size)
        found += [m.id for m in page]
        if len(page) < page_size:
            return found
        after = cursor_of(flt, page[-1])
