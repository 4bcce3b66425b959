"""Contacts and groups, opt-outs, templates, appointments; reminders linked to them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_uid", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_source_uid"), ["source_uid"], unique=True)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("zone", sa.String(), nullable=True),
        sa.Column("fields_json", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_number"), ["number"], unique=True)

    op.create_table(
        "contact_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_group_name"), ["name"], unique=True)

    op.create_table(
        "opt_out",
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("template", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_template_name"), ["name"], unique=True)

    op.create_table(
        "group_member",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["contact_group.id"],
        ),
        sa.PrimaryKeyConstraint("group_id", "contact_id"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reminder_offset_minutes", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_message_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            "ix_message_state_send_at_id", ["state", "send_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_message_attention",
            ["id"],
            unique=False,
            sqlite_where=sa.text("attention IS NOT NULL"),
            postgresql_where=sa.text("attention IS NOT NULL"),
        )
        batch_op.create_foreign_key(
            "fk_message_appointment_id", "appointment", ["appointment_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_message_appointment_id", type_="foreignkey")
        batch_op.drop_index("ix_message_attention")
        batch_op.drop_index("ix_message_state_send_at_id")
        batch_op.drop_index(batch_op.f("ix_message_appointment_id"))
        batch_op.drop_column("reminder_offset_minutes")
        batch_op.drop_column("appointment_id")

    op.drop_table("group_member")
    with op.batch_alter_table("template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_name"))

    op.drop_table("template")
    op.drop_table("opt_out")
    with op.batch_alter_table("contact_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_group_name"))

    op.drop_table("contact_group")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_number"))

    op.drop_table("contact")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_source_uid"))

    op.drop_table("appointment")
