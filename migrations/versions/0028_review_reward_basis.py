"""the amount a review reward was a share of: ``reviews.reward_basis``, what the buyer had kept of
the order (its total less refunds) when the reward was paid. A later refund takes back the part of
the reward it removes (``services.reviews.settle_reward``: the reward times what is kept now over
this basis). The rewards paid before this column existed were paid on what the buyer had kept then
(the order's total less its refunds at that moment): the upgrade fills their basis in from the
ledger (below); one it cannot place (no ledger row of it left) stays NULL, counted as a share of the
order's total.

Revision ID: 0028_review_reward_basis
Revises: 0027_products_visible
"""
import sqlalchemy as sa
from alembic import op

revision = '0028_review_reward_basis'
down_revision = '0027_products_visible'
branch_labels = None
depends_on = None

# When a paid reward was paid: its ledger row (``reviews.reward_transaction_id``) or, that row gone,
# the order's earliest positive ``review_reward`` row.
_PAID_AT = """COALESCE(
    (SELECT paid.created_at FROM balance_transactions paid
      WHERE paid.id = reviews.reward_transaction_id AND paid.amount > 0),
    (SELECT MIN(paid.created_at) FROM balance_transactions paid
      WHERE paid.order_id = reviews.order_id AND paid.kind = 'review_reward' AND paid.amount > 0))"""

# The basis of a reward paid before 0028: the order's total less its refunds (the ones that did not
# fail) made before the reward was paid; what the reward code of the time paid on
# (``total - amount_refunded``). One statement, the same on SQLite and PostgreSQL.
BACKFILL = f"""
UPDATE reviews SET reward_basis = (
    SELECT o.total - COALESCE((
        SELECT SUM(r.amount) FROM refunds r
         WHERE r.order_id = o.id AND r.status <> 'FAILED' AND r.created_at < {_PAID_AT}), 0)
      FROM orders o WHERE o.id = reviews.order_id)
 WHERE reviews.reward_credited = :credited AND reviews.reward_basis IS NULL
   AND {_PAID_AT} IS NOT NULL
"""


def upgrade():
    with op.batch_alter_table('reviews') as batch_op:
        batch_op.add_column(sa.Column('reward_basis', sa.BigInteger(), nullable=True))
    op.execute(sa.text(BACKFILL).bindparams(sa.bindparam('credited', True, type_=sa.Boolean())))


def downgrade():
    with op.batch_alter_table('reviews') as batch_op:
        batch_op.drop_column('reward_basis')
