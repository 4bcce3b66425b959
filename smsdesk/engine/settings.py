"""Showing and changing settings: validation, then only the keys that changed are written
(each a compare-and-set in the database), so a change made meanwhile by another process to
another setting is kept."""

from __future__ import annotations

from datetime import time

import phonenumbers

from smsdesk.core.errors import InvalidInput
from smsdesk.core.quiet_hours import QuietHours
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.context import AppContext
from smsdesk.store.settings import (
    MAX_GRACE_MINUTES,
    MAX_REPLY_DAYS,
    QUIET_MODES,
    Settings,
    write_settings,
)


def regions() -> list[tuple[str, int]]:
    """Every country smsdesk can read numbers for: (two-letter code, calling code)."""
    # From phonenumbers' code-to-regions table: asking country_code_for_region loads each
    # region's metadata, a third of a second at start-up for the Settings view.
    return sorted(
        (code, calling)
        for calling, codes in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
        for code in codes
        if code in phonenumbers.SUPPORTED_REGIONS and code != "001"
    )


def region_of_locale(name: str) -> str | None:
    """The country a locale names ("en_US" -> "US"), or None ("C", "en", "es_419")."""
    _language, sep, rest = name.replace("-", "_").partition("_")
    code = rest.split(".")[0].split("@")[0].upper() if sep else ""
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


class SettingsService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def settings(self) -> Settings:
        """The settings as stored now (another process may have changed them)."""
        return self.ctx.refresh_settings()

    def update_settings(
        self,
        *,
        zone: str | None = None,
        default_region: str | None = None,
        catch_up_grace_minutes: int | None = None,
        quiet_hours: str | None = None,
        quiet_mode: str | None = None,
        reply_match_days: int | None = None,
    ) -> Settings:
        """Validate and save; an empty string clears a value (back to the system's).

        ``quiet_hours`` is "HH:MM-HH:MM" (quiet from the first time to the second).
        A value equal to what this process last read is not a change and is not written:
        a form that passes back a field the user did not touch cannot undo another
        process's change to it."""
        wanted: dict[str, object] = {}
        if quiet_hours is not None:
            start, sep, end = quiet_hours.partition("-")
            try:
                if not sep:
                    raise ValueError("no dash")
                QuietHours(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
            except ValueError:
                raise InvalidInput(
                    f"Quiet hours '{quiet_hours}' are not HH:MM-HH:MM, e.g. 21:00-08:00.",
                    field="quiet_hours",
                ) from None
            wanted["quiet_start"], wanted["quiet_end"] = start.strip(), end.strip()
        if quiet_mode is not None:
            if quiet_mode not in QUIET_MODES:
                raise InvalidInput("Quiet-hours mode is move, refuse or off.", field="quiet_mode")
            wanted["quiet_mode"] = quiet_mode
        if zone is not None:
            wanted["zone"] = resolve_zone(zone).key if zone else None
        if default_region is not None:
            region = default_region.strip().upper()
            if region and region not in phonenumbers.SUPPORTED_REGIONS:
                raise InvalidInput(
                    f"Unknown region '{default_region}'; use a two-letter country code like GB",
                    field="default_region",
                )
            wanted["default_region"] = region or None
        if catch_up_grace_minutes is not None:
            if not 0 <= catch_up_grace_minutes <= MAX_GRACE_MINUTES:
                raise InvalidInput(
                    "The catch-up grace must be between 0 minutes and 24 hours.",
                    field="catch_up_grace_minutes",
                )
            wanted["catch_up_grace_minutes"] = catch_up_grace_minutes
        if reply_match_days is not None:
            if not 1 <= reply_match_days <= MAX_REPLY_DAYS:
                raise InvalidInput(
                    f"Replies can answer a message from 1 to {MAX_REPLY_DAYS} days old.",
                    field="reply_match_days",
                )
            wanted["reply_match_days"] = reply_match_days
        known = self.ctx.settings_snapshot()
        changes = {
            k: v
            for k, v in wanted.items()
            if k in known.unreadable or getattr(known.settings, k) != v
        }
        write_settings(self.ctx.db, changes, self.ctx.clock.now())
        return self.ctx.refresh_settings()

    def finish_first_run(self) -> Settings:
        """The window's first-run guide was completed: it is not shown at start again."""
        write_settings(self.ctx.db, {"first_run_done": True}, self.ctx.clock.now())
        return self.ctx.refresh_settings()
