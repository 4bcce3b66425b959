"""The contact book: contacts and groups, CSV import and export, opt-outs, saved templates.

The book keeps the Sandbox's fictional +1 555 numbers like any other (trying smsdesk with
the Sandbox is how people start); whether a number may be sent to is decided for the account
it goes through, when scheduling, as for typed numbers (``phones.split_for_account``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import delete, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from smsdesk.core.contacts_csv import (
    ColumnGuess,
    ContactRow,
    ImportPreview,
    read_contacts_csv,
    read_header,
    rejected_csv,
    write_contacts_csv,
)
from smsdesk.core.errors import InvalidInput, NotFound
from smsdesk.core.gc_pause import collector_paused
from smsdesk.core.phones import normalize_number
from smsdesk.core.templates import lint, parse_template
from smsdesk.core.text_checks import check_label, check_template_text
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.context import AppContext
from smsdesk.engine.template_replies import (
    DEFAULT_RULES,
    ReplyRules,
    delete_rules,
    read_rules,
    write_rules,
)
from smsdesk.store import queries
from smsdesk.store.models import (
    Contact,
    ContactGroup,
    GroupMember,
    Message,
    OptOut,
    ProviderAccount,
    Template,
)

IMPORT_CHUNK = 2000  # rows per transaction: progress can be shown, other writers get turns
_CONTACTS: sa.Table = Contact.metadata.tables["contact"]
_MEMBERS: sa.Table = GroupMember.metadata.tables["group_member"]
# The contact table's columns without their types, for values already in the driver's form.
_CONTACT_ROWS = sa.table(
    "contact",
    *(sa.column(name) for name in ("id", "number", "name", "zone", "fields_json")),
    *(sa.column(name) for name in ("created_at", "updated_at")),
)


@dataclass(frozen=True)
class ContactView:
    id: int
    name: str
    number: str
    zone: str | None
    fields: dict[str, str]
    groups: tuple[str, ...]
    opted_out_at: datetime | None
    opt_out_source: str | None


@dataclass(frozen=True)
class ImportSummary:
    added: int
    updated: int
    rejected: int
    repaired: int
    merged: int
    group: str | None


@dataclass(frozen=True)
class TemplateView:
    name: str
    text: str
    fields: tuple[str, ...]
    warnings: tuple[str, ...]
    replies: ReplyRules = DEFAULT_RULES  # what replies to its messages mean and get back


# Names are one line of sensible length: a 100,000-character name would swamp every list.
NAME_LIMIT = 200


def _contact_name(name: str) -> str:
    """An optional contact name: empty, or one checked line."""
    if not name.strip():
        return ""
    return check_label(name, field="name", what="contact", limit=NAME_LIMIT)


class ContactBook:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    # -- contacts -------------------------------------------------------------------------

    def normalize(self, raw: str) -> str:
        """A number as the book stores it: E.164, fictional Sandbox numbers included."""
        return normalize_number(raw, self.ctx.settings.default_region, allow_test_numbers=True)

    def list_contacts(
        self, search: str = "", group: str | None = None, limit: int = 1000
    ) -> list[ContactView]:
        stmt = select(Contact).order_by(col(Contact.name), col(Contact.number)).limit(limit)
        if search.strip():
            needle = f"%{search.strip()}%"
            # ilike: PostgreSQL's LIKE minds case, and "maria" must find "Maria".
            match = col(Contact.name).ilike(needle) | col(Contact.number).like(needle)
            # Numbers are shown as the desk writes them, "(202) 555-0119" or "07911 123456":
            # their digits find the stored "+12025550119", without the national leading 0.
            digits = "".join(ch for ch in search if ch.isdigit())
            if len(digits) >= 3:
                match |= col(Contact.number).like(f"%{digits.removeprefix('0')}%")
            stmt = stmt.where(match)
        with self.ctx.db.read() as s:
            if group:
                gid = self._group_id(s, group)
                stmt = stmt.join(GroupMember, col(GroupMember.contact_id) == col(Contact.id)).where(
                    GroupMember.group_id == gid
                )
            contacts = list(s.exec(stmt).all())
            return self._views(s, contacts)

    def _views(self, s: Session, contacts: Sequence[Contact]) -> list[ContactView]:
        ids = [c.id for c in contacts]
        groups: dict[int, list[str]] = {}
        for contact_id, name in s.exec(
            select(GroupMember.contact_id, ContactGroup.name)
            .join(ContactGroup, col(ContactGroup.id) == col(GroupMember.group_id))
            .where(col(GroupMember.contact_id).in_(ids))
        ):
            groups.setdefault(contact_id, []).append(name)
        opted = self.opted_out([c.number for c in contacts], s)
        return [
            ContactView(
                id=c.id or 0,
                name=c.name,
                number=c.number,
                zone=c.zone,
                fields=json.loads(c.fields_json or "{}"),
                groups=tuple(sorted(groups.get(c.id or 0, []))),
                opted_out_at=opted[c.number].at if c.number in opted else None,
                opt_out_source=opted[c.number].source if c.number in opted else None,
            )
            for c in contacts
        ]

    def by_numbers(self, numbers: Iterable[str]) -> dict[str, Contact]:
        wanted = list(numbers)
        with self.ctx.db.read() as s:
            found = s.exec(select(Contact).where(col(Contact.number).in_(wanted))).all()
        return {c.number: c for c in found}

    def save_contact(
        self,
        number: str,
        *,
        name: str = "",
        zone: str | None = None,
        fields: dict[str, str] | None = None,
        groups: Sequence[str] = (),
    ) -> ContactView:
        """Add a contact, or update the one with this number."""
        e164 = self.normalize(number)
        zone_name = resolve_zone(zone).key if zone else None
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            contact = s.exec(select(Contact).where(Contact.number == e164)).first()
            if contact is None:
                contact = Contact(number=e164, created_at=now, updated_at=now)
            contact.name = _contact_name(name) or contact.name
            contact.zone = zone_name or contact.zone
            merged = {**json.loads(contact.fields_json or "{}"), **(fields or {})}
            contact.fields_json = json.dumps(merged, ensure_ascii=False)
            contact.updated_at = now
            s.add(contact)
            s.flush()
            for group in groups:
                self._join(s, self._ensure_group(s, group), contact.id or 0)
            return self._views(s, [contact])[0]

    def contact(self, contact_id: int) -> ContactView:
        with self.ctx.db.read() as s:
            found = s.get(Contact, contact_id)
            if found is None:
                raise NotFound("That contact no longer exists.", field="contact")
            return self._views(s, [found])[0]

    def add_contact(
        self,
        *,
        number: str,
        name: str,
        zone: str | None,
        fields: dict[str, str],
        groups: Sequence[str],
    ) -> ContactView:
        """A new contact, as the editor fills it in; a number already in the book is
        refused (naming whose it is) rather than merged."""
        return self._write_contact(None, number, name, zone, fields, groups)

    def update_contact(
        self,
        contact_id: int,
        *,
        number: str,
        name: str,
        zone: str | None,
        fields: dict[str, str],
        groups: Sequence[str],
    ) -> ContactView:
        """Replace what one contact holds (as the editor shows it): its number may change,
        custom fields and groups left out are removed. Everything is checked first."""
        return self._write_contact(contact_id, number, name, zone, fields, groups)

    def _write_contact(
        self,
        contact_id: int | None,
        number: str,
        name: str,
        zone: str | None,
        fields: dict[str, str],
        groups: Sequence[str],
    ) -> ContactView:
        e164 = self.normalize(number)
        zone_name = resolve_zone(zone).key if zone else None
        kept = {k.strip(): v.strip() for k, v in fields.items() if k.strip()}
        try:
            return self._store_contact(contact_id, e164, name, zone_name, kept, groups)
        except IntegrityError:
            # Another desk stored the same number between our check and our write.
            raise InvalidInput(
                f"{e164} was just added to the contact book on another computer.", field="number"
            ) from None

    def _store_contact(
        self,
        contact_id: int | None,
        e164: str,
        name: str,
        zone_name: str | None,
        kept: dict[str, str],
        groups: Sequence[str],
    ) -> ContactView:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            if contact_id is None:
                contact = Contact(number=e164, created_at=now, updated_at=now)
            else:
                found = s.get(Contact, contact_id)
                if found is None:
                    raise NotFound("That contact no longer exists.", field="contact")
                contact = found
            other = s.exec(select(Contact).where(Contact.number == e164)).first()
            if other is not None and other.id != contact_id:
                who = f"{other.name}'s" if other.name else "another contact's"
                raise InvalidInput(f"{e164} is already {who} number.", field="number")
            contact.number = e164
            contact.name = _contact_name(name)
            contact.zone = zone_name
            contact.fields_json = json.dumps(kept, ensure_ascii=False)
            contact.updated_at = now
            s.add(contact)
            s.flush()
            cid = contact.id or 0
            wanted = {self._ensure_group(s, g) for g in groups if g.strip()}
            s.execute(
                delete(GroupMember).where(
                    col(GroupMember.contact_id) == cid,
                    col(GroupMember.group_id).not_in(wanted),
                )
            )
            for gid in wanted:
                self._join(s, gid, cid)
            s.flush()
            return self._views(s, [contact])[0]

    def delete_contacts(self, contact_ids: Sequence[int]) -> int:
        """Delete these contacts (their messages and opt-outs stay); how many there were."""
        ids = list(contact_ids)
        with self.ctx.db.write() as s:
            s.execute(delete(GroupMember).where(col(GroupMember.contact_id).in_(ids)))
            gone = s.execute(delete(Contact).where(col(Contact.id).in_(ids)))
            return int(gone.rowcount)  # type: ignore[attr-defined]

    def delete_contact(self, number: str) -> None:
        e164 = self.normalize(number)
        with self.ctx.db.write() as s:
            contact = s.exec(select(Contact).where(Contact.number == e164)).first()
            if contact is None:
                raise NotFound(f"No contact with number {e164}.", field="number")
            s.execute(delete(GroupMember).where(col(GroupMember.contact_id) == contact.id))
            s.delete(contact)

    # -- groups ---------------------------------------------------------------------------

    def groups(self) -> list[tuple[str, int]]:
        """Group names with their member counts."""
        with self.ctx.db.read() as s:
            rows = s.exec(
                select(ContactGroup.name, func.count(col(GroupMember.contact_id)))
                .join(GroupMember, col(GroupMember.group_id) == col(ContactGroup.id), isouter=True)
                .group_by(col(ContactGroup.name))
                .order_by(col(ContactGroup.name))
            ).all()
        return [(name, count) for name, count in rows]

    def group_numbers(self, group: str) -> list[str]:
        """The group's numbers. Whether each may be sent through an account is the
        scheduler's question (``phones.split_for_account``), as for typed numbers."""
        with self.ctx.db.read() as s:
            gid = self._group_id(s, group)
            return list(
                s.exec(
                    select(Contact.number)
                    .join(GroupMember, col(GroupMember.contact_id) == col(Contact.id))
                    .where(GroupMember.group_id == gid)
                    .order_by(col(Contact.number))
                ).all()
            )

    def create_group(self, name: str) -> None:
        with self.ctx.db.write() as s:
            if s.exec(select(ContactGroup.id).where(ContactGroup.name == name.strip())).first():
                raise InvalidInput(
                    f"There is already a group named '{name.strip()}'.", field="group"
                )
            self._ensure_group(s, name)

    def rename_group(self, old: str, new: str) -> None:
        new = new.strip()
        if not new:
            raise InvalidInput("A group needs a name.", field="group")
        with self.ctx.db.write() as s:
            gid = self._group_id(s, old)
            taken = s.exec(select(ContactGroup.id).where(ContactGroup.name == new)).first()
            if taken is not None and taken != gid:
                raise InvalidInput(f"There is already a group named '{new}'.", field="group")
            s.execute(update(ContactGroup).where(col(ContactGroup.id) == gid).values(name=new))

    def delete_group(self, name: str) -> None:
        """Delete the group; its members stay in the book."""
        with self.ctx.db.write() as s:
            gid = self._group_id(s, name)
            s.execute(delete(GroupMember).where(col(GroupMember.group_id) == gid))
            s.execute(delete(ContactGroup).where(col(ContactGroup.id) == gid))

    def add_to_group(self, group: str, contact_ids: Sequence[int]) -> None:
        """Put these contacts in the group, creating it if it is new."""
        with self.ctx.db.write() as s:
            gid = self._ensure_group(s, group)
            for contact_id in contact_ids:
                self._join(s, gid, contact_id)

    def remove_from_group(self, group: str, contact_ids: Sequence[int]) -> None:
        with self.ctx.db.write() as s:
            gid = self._group_id(s, group)
            s.execute(
                delete(GroupMember).where(
                    col(GroupMember.group_id) == gid,
                    col(GroupMember.contact_id).in_(list(contact_ids)),
                )
            )

    @staticmethod
    def _group_id(s: Session, name: str) -> int:
        gid = s.exec(select(ContactGroup.id).where(ContactGroup.name == name.strip())).first()
        if gid is None:
            raise NotFound(f"No group named '{name}'.", field="group")
        return gid

    @staticmethod
    def _ensure_group(s: Session, name: str) -> int:
        name = name.strip()
        if not name:
            raise InvalidInput("A group needs a name.", field="group")
        name = check_label(name, field="group", what="group", limit=NAME_LIMIT)
        gid = s.exec(select(ContactGroup.id).where(ContactGroup.name == name)).first()
        if gid is None:
            group = ContactGroup(name=name)
            s.add(group)
            s.flush()
            gid = group.id
        assert gid is not None
        return gid

    @staticmethod
    def _join(s: Session, group_id: int, contact_id: int) -> None:
        if s.get(GroupMember, (group_id, contact_id)) is None:
            s.add(GroupMember(group_id=group_id, contact_id=contact_id))

    # -- CSV ------------------------------------------------------------------------------

    def import_columns(self, data: bytes) -> ColumnGuess:
        """The file's columns and the fields their names give away: the mapping step."""
        return read_header(data)

    def preview_import(
        self,
        data: bytes,
        *,
        mapping: dict[str, str] | None = None,
        progress: Callable[[int, int], bool] | None = None,
    ) -> ImportPreview:
        """Read and check a CSV file; nothing is written."""
        return read_contacts_csv(
            data,
            default_region=self.ctx.settings.default_region,
            mapping=mapping,
            progress=progress,
            allow_test_numbers=True,
        )

    def commit_import(
        self,
        preview: ImportPreview,
        *,
        group: str | None = None,
        progress: Callable[[int, int], bool] | None = None,
    ) -> ImportSummary:
        """Write what the preview accepted: new numbers added, known ones updated.

        Written in chunks so a window can show progress; cancelling stops after the current
        chunk, keeping what was written (each chunk is whole)."""
        now = self.ctx.clock.now()
        added = updated = 0
        rows = preview.rows
        with collector_paused():
            for start in range(0, len(rows), IMPORT_CHUNK):
                chunk = rows[start : start + IMPORT_CHUNK]
                with self.ctx.db.write() as s:
                    gid = self._ensure_group(s, group) if group else None
                    new, changed = self._import_chunk(s, chunk, now)
                    added += new
                    updated += changed
                    if gid is not None:
                        self._join_all(s, gid, [row.number for row in chunk])
                if progress is not None and not progress(start + len(chunk), len(rows)):
                    break
        return ImportSummary(
            added, updated, len(preview.rejected), preview.repaired, preview.merged, group
        )

    @staticmethod
    def _import_chunk(s: Session, chunk: Sequence[ContactRow], now: datetime) -> tuple[int, int]:
        """Insert the new numbers and update the known ones, one statement each for the whole
        chunk (object by object, 100,000 contacts took a minute); returns how many of each.
        The preview's numbers are unique, so a chunk never inserts one twice."""
        wanted = [row.number for row in chunk]
        known = {
            number: (cid, name, zone, fields_json)
            for cid, number, name, zone, fields_json in s.execute(
                # SQLAlchemy's select: sqlmodel's is typed for at most four columns.
                sa.select(
                    _CONTACTS.c.id,
                    _CONTACTS.c.number,
                    _CONTACTS.c.name,
                    _CONTACTS.c.zone,
                    _CONTACTS.c.fields_json,
                ).where(_CONTACTS.c.number.in_(wanted))
            )
        }
        inserts: list[dict[str, object]] = []
        updates: list[dict[str, object]] = []
        for row in chunk:
            if (found := known.get(row.number)) is None:
                inserts.append(
                    {
                        "number": row.number,
                        "name": row.name,
                        "zone": row.zone,
                        "fields_json": json.dumps(row.fields, ensure_ascii=False),
                    }
                )
                continue
            cid, name, zone, fields_json = found
            merged = {**json.loads(fields_json or "{}"), **row.fields}
            updates.append(
                {
                    "cid": cid,
                    "name": row.name or name,
                    "zone": row.zone or zone,
                    "fields_json": json.dumps(merged, ensure_ascii=False),
                }
            )
        # Not through the ORM class: its bulk insert splits the rows into small batches by
        # which columns are None. And the time, the same for every row, is converted for the
        # driver once, not once per row and column (that was a third of the write).
        dialect = s.get_bind().dialect
        process = _CONTACTS.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        stamp = process(now) if process else now
        if inserts:
            for values in inserts:
                values["created_at"] = values["updated_at"] = stamp
            s.execute(insert(_CONTACT_ROWS), inserts)
        if updates:
            for values in updates:
                values["updated_at"] = stamp
            s.execute(
                update(_CONTACT_ROWS).where(_CONTACT_ROWS.c.id == sa.bindparam("cid")), updates
            )
        return len(inserts), len(updates)

    @staticmethod
    def _join_all(s: Session, group_id: int, numbers: Sequence[str]) -> None:
        """Put these contacts in the group, those not in it yet: one INSERT … SELECT."""
        member = sa.select(_MEMBERS.c.contact_id).where(
            _MEMBERS.c.group_id == group_id, _MEMBERS.c.contact_id == _CONTACTS.c.id
        )
        joining = sa.select(sa.literal(group_id), _CONTACTS.c.id).where(
            _CONTACTS.c.number.in_(numbers), ~member.exists()
        )
        s.execute(insert(_MEMBERS).from_select(["group_id", "contact_id"], joining))

    @staticmethod
    def rejected_csv(preview: ImportPreview) -> str:
        """The rows an import refused, as a CSV to fix and import again."""
        return rejected_csv(preview)

    def export_contacts_csv(self) -> str:
        contacts = self.list_contacts(limit=10_000_000)
        extra = sorted({k for c in contacts for k in c.fields})
        columns = ["name", "number", "zone", "groups", "opted_out_at", *extra]
        rows = [
            {
                "name": c.name,
                "number": c.number,
                "zone": c.zone or "",
                "groups": "; ".join(c.groups),
                "opted_out_at": c.opted_out_at.isoformat() if c.opted_out_at else "",
                **c.fields,
            }
            for c in contacts
        ]
        return write_contacts_csv(rows, columns)

    def export_history_csv(self) -> str:
        """Every message with its state, for audit (the same file as the Queue's export)."""
        from smsdesk.engine.history_export import history_csv
        from smsdesk.engine.views import MessageView

        with self.ctx.db.read() as s:
            names = {a.id: a.name for a in s.exec(select(ProviderAccount))}
            msgs = s.exec(select(Message).order_by(col(Message.send_at), col(Message.id))).all()
        return history_csv(MessageView.of(m, names.get(m.account_id, "?")) for m in msgs)

    # -- opt-outs -------------------------------------------------------------------------

    def opted_out(self, numbers: Iterable[str], s: Session | None = None) -> dict[str, OptOut]:
        wanted = list(numbers)
        if s is None:
            with self.ctx.db.read() as own:
                return queries.opted_out(own, wanted)
        return queries.opted_out(s, wanted)

    def opt_out(self, number: str, source: str = "manual") -> OptOut:
        e164 = normalize_number(number, self.ctx.settings.default_region, allow_test_numbers=True)
        with self.ctx.db.write() as s:
            return queries.record_opt_out(s, e164, self.ctx.clock.now(), source)

    def opt_in(self, number: str) -> None:
        e164 = normalize_number(number, self.ctx.settings.default_region, allow_test_numbers=True)
        with self.ctx.db.write() as s:
            found = s.get(OptOut, e164)
            if found is None:
                raise NotFound(f"{e164} has not opted out.", field="number")
            s.delete(found)

    def list_opt_outs(self) -> list[OptOut]:
        with self.ctx.db.read() as s:
            return list(s.exec(select(OptOut).order_by(col(OptOut.at).desc())).all())

    # -- templates ------------------------------------------------------------------------

    def save_template(
        self, name: str, text: str, replies: ReplyRules | None = None
    ) -> TemplateView:
        """``replies``: its confirmation words and answers (None: kept as they are)."""
        name = name.strip()
        if not name:
            raise InvalidInput("A template needs a name.", field="name")
        name = check_label(name, field="name", what="template", limit=NAME_LIMIT)
        check_template_text(text)  # control characters would reach every message made from it
        parsed = parse_template(text)  # refuses a malformed template before storing it
        with self.ctx.db.write() as s:
            found = s.exec(select(Template).where(Template.name == name)).first()
            template = found or Template(name=name, text=text, updated_at=self.ctx.clock.now())
            template.text = text
            template.updated_at = self.ctx.clock.now()
            s.add(template)
            s.flush()
            assert template.id is not None
            if replies is not None:  # with the template, in its transaction
                write_rules(s, template.id, replies, self.ctx.clock.now())
            kept = read_rules(s, template.id)
        return TemplateView(name, text, parsed.fields, tuple(lint(text)), kept)

    def template(self, name: str) -> TemplateView:
        with self.ctx.db.read() as s:
            found = s.exec(select(Template).where(Template.name == name.strip())).first()
            rules = read_rules(s, found.id) if found is not None and found.id else DEFAULT_RULES
        if found is None:
            raise NotFound(f"No template named '{name}'.", field="template")
        return TemplateView(
            found.name,
            found.text,
            parse_template(found.text).fields,
            tuple(lint(found.text)),
            rules,
        )

    def templates(self) -> list[TemplateView]:
        with self.ctx.db.read() as s:
            names = s.exec(select(Template.name).order_by(col(Template.name))).all()
        return [self.template(n) for n in names]

    def delete_template(self, name: str) -> None:
        with self.ctx.db.write() as s:
            found = s.exec(select(Template).where(Template.name == name.strip())).first()
            if found is None:
                raise NotFound(f"No template named '{name}'.", field="template")
            if found.id is not None:
                delete_rules(s, found.id)
            s.delete(found)

    def longest_values(self) -> dict[str, str]:
        """Per merge field (name, first_name, number, custom fields), the longest value any
        contact has: what a template's worst-case length is worked out with. One pass."""
        longest: dict[str, str] = {}

        def keep(field: str, value: object) -> None:
            text = "" if value is None else str(value)
            if len(text) > len(longest.get(field, "")):
                longest[field] = text

        query = select(Contact.name, Contact.number, Contact.fields_json)
        with self.ctx.db.read() as s:
            for name, number, fields_json in s.execute(query.execution_options(yield_per=2000)):
                keep("number", number)
                if name:
                    keep("name", name)
                    keep("first_name", name.split()[0])
                for field, value in json.loads(fields_json or "{}").items():
                    keep(str(field), value)
        return longest
