"""reviews: the write side (anonymous, approval, the once-only reward)

Revision ID: 0007_reviews
Revises: 0006_payments
Create Date: 2026-11-30 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_reviews'
down_revision = '0006_payments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.add_column(sa.Column('reward_credited', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reward_transaction_id', sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reviews_approved_by_id_users'), 'users', ['approved_by_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_reviews_reward_transaction_id_balance_transactions'),
                                    'balance_transactions', ['reward_transaction_id'], ['id'], ondelete='SET NULL')
        batch_op.create_unique_constraint(batch_op.f('uq_reviews_reward_transaction_id'), ['reward_transaction_id'])


def downgrade():
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_reviews_reward_transaction_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_reviews_reward_transaction_id_balance_transactions'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_reviews_approved_by_id_users'), type_='foreignkey')
        batch_op.drop_column('reward_transaction_id')
        batch_op.drop_column('reward_credited')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('anonymous')
