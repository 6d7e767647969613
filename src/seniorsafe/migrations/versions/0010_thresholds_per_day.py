"""detection thresholds: the inactivity sensitivity became a false-alarm budget per day

Stored override layers (`organisations.settings` / `seniors.settings` -> "detection_thresholds") that still
carry the old per-pause chances `inactivity_caution_p` / `inactivity_danger_p` are rewritten to
`inactivity_caution_per_day` / `inactivity_danger_per_day` at the population's pause rate (40 pauses a day,
`personal.PRIOR_PAUSES_PER_DAY`), capped at 1 a day; the downgrade does the reverse.

Revision ID: 0010_thresholds_per_day
Revises: 0009_read_cache
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_thresholds_per_day"
down_revision: str | Sequence[str] | None = "0009_read_cache"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAUSES_PER_DAY = 40.0
RENAMES = (("inactivity_caution_p", "inactivity_caution_per_day"), ("inactivity_danger_p", "inactivity_danger_per_day"))


def _rewrite(old: str, new: str, value_sql: str) -> None:
    for table in ("organisations", "seniors"):
        op.execute(f"""
            UPDATE {table} SET settings = jsonb_set(
                settings, '{{detection_thresholds}}'::text[],
                ((settings->'detection_thresholds') - '{old}'::text)
                || jsonb_build_object('{new}', {value_sql.format(v=f"(settings->'detection_thresholds'->>'{old}')")})
            )
            WHERE jsonb_exists(settings->'detection_thresholds', '{old}')
        """)


def upgrade() -> None:
    for old, new in RENAMES:
        _rewrite(old, new, "least(1.0, {v}::float8 * " + str(PAUSES_PER_DAY) + ")")


def downgrade() -> None:
    for old, new in RENAMES:
        _rewrite(new, old, "least(0.999, {v}::float8 / " + str(PAUSES_PER_DAY) + ")")
