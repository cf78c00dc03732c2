"""mail recipient ids: who a queued or sent mail is for, and whom it names

Revision ID: 20261205c3d4
Revises: 20261205b2c3
Create Date: 2026-11-30 17:07:28

Deleting an account finds the person's mail by id (user_id: the recipient account;
about_user_id: the person whose name the mail carries), never by searching text for a name.
Both are nullable and set NULL when a users row goes (rows are kept as a pseudonym today).
Mail already in the outbox gets user_id where its address is an account's current one; older
mail to an address since changed, and names in older mail, cannot be attributed by id.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261205c3d4"
down_revision = "20261205b2c3"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("mail_outbox", sa.Column("user_id", sa.Integer(), nullable=True))
    op.add_column("mail_outbox", sa.Column("about_user_id", sa.Integer(), nullable=True))
    op.create_index(
        op.f("ix_mail_outbox_about_user_id"), "mail_outbox", ["about_user_id"], unique=False
    )
    op.create_index(op.f("ix_mail_outbox_user_id"), "mail_outbox", ["user_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_mail_outbox_user_id_users"), "mail_outbox", "users",
        ["user_id"], ["id"], ondelete="SET NULL",
    )  # fmt: skip
    op.create_foreign_key(
        op.f("fk_mail_outbox_about_user_id_users"), "mail_outbox", "users",
        ["about_user_id"], ["id"], ondelete="SET NULL",
    )  # fmt: skip
    # Mail to an account's current address is that account's (the same normal form as login).
    op.execute(
        "UPDATE mail_outbox m SET user_id = u.id FROM users u"
        " WHERE lower(btrim(m.to_address)) = u.email_normalized"
    )


def downgrade():
    op.drop_constraint(
        op.f("fk_mail_outbox_about_user_id_users"), "mail_outbox", type_="foreignkey"
    )
    op.drop_constraint(op.f("fk_mail_outbox_user_id_users"), "mail_outbox", type_="foreignkey")
    op.drop_index(op.f("ix_mail_outbox_user_id"), table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_about_user_id"), table_name="mail_outbox")
    op.drop_column("mail_outbox", "about_user_id")
    op.drop_column("mail_outbox", "user_id")
