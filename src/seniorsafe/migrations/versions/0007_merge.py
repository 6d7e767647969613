"""one line of history again: workflow, robots and detection all followed 0003_alerts

Revision ID: 0007_merge
Revises: 0004_workflow, 0005_robots, 0006_detection
"""
from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007_merge"
down_revision: str | Sequence[str] | None = ("0004_workflow", "0005_robots", "0006_detection")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
