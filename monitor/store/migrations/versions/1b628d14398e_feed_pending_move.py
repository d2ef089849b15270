"""feed pending move; moves made before the address check are undone

Revision ID: 1b628d14398e
Revises: e70ef0f574db
Create Date: 2026-12-04 18:10:00.000000

A permanent redirect to another host now moves a feed only when two polls in a row see it (`pending_url` holds
the first sighting), and no redirect of a public feed may lead to a private address (issue 16). Moves stored
before this revision were applied at the first 301, wherever it pointed, possibly to an internal address: each
feed goes back to the URL feeds.yaml gives it (`config_url`) and learns a genuine move again within two polls.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '1b628d14398e'
down_revision: str | None = 'e70ef0f574db'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
    op.execute("UPDATE feeds SET url = config_url WHERE config_url IS NOT NULL AND url <> config_url")


def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('pending_url')
