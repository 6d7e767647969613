"""detector progress: the last stream entry whose alert decisions are committed, per home (exactly-once)

Revision ID: 0006_detection
Revises: 0003_alerts
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_detection"
down_revision: str | None = "0003_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "detector_progress",
        sa.Column("home_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], name=op.f("fk_detector_progress_home_id_homes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("home_id", name=op.f("pk_detector_progress")),
    )


def downgrade() -> None:
    op.drop_table("detector_progress")
