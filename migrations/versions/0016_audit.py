"""the audit log: one append-only row per change made by staff, admins or sysadmins

Revision ID: 0016_audit
Revises: 0015_platform
Create Date: 2026-12-02 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016_audit'
down_revision = '0015_platform'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_log',
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('target_store_id', sa.String(length=36), nullable=True),
    sa.Column('resource_type', sa.String(length=40), nullable=False),
    sa.Column('resource_id', sa.String(length=80), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_audit_log_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_log_store_id_created_at', ['store_id', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_log_store_id_resource_type_created_at',
                              ['store_id', 'resource_type', 'created_at'], unique=False)


def downgrade():
    op.drop_table('audit_log')
