"""the amount a review reward was a share of: ``reviews.reward_basis``, what the buyer had kept of
the order (its total less refunds) when the reward was paid. A later refund takes back the part of
the reward it removes (``services.reviews.settle_reward``: the reward times what is kept now over
this basis); a reward paid before this column existed counts as a share of the order's total.

Revision ID: 0028_review_reward_basis
Revises: 0027_products_visible
"""
import sqlalchemy as sa
from alembic import op

revision = '0028_review_reward_basis'
down_revision = '0027_products_visible'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reviews') as batch_op:
        batch_op.add_column(sa.Column('reward_basis', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('reviews') as batch_op:
        batch_op.drop_column('reward_basis')
