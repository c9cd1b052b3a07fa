"""initial schema

Revision ID: 0001
Revises: 
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import rlhf_app.db
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('workspaces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workspaces')),
    sa.UniqueConstraint('slug', name=op.f('uq_workspaces_slug'))
    )
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('domain', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('pairwise', 'ranking', name='taskkind', native_enum=False, length=16), nullable=False),
    sa.Column('judgements_per_task', sa.Integer(), nullable=False),
    sa.Column('review_rate', sa.Double(), nullable=False),
    sa.Column('gold_rate', sa.Double(), nullable=False),
    sa.Column('lease_minutes', sa.Integer(), nullable=False),
    sa.Column('pay_rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('models', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('draft', 'active', 'paused', 'closed', name='projectstatus', native_enum=False, length=16), nullable=False),
    sa.Column('guideline_version', sa.Integer(), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('gold_rate >= 0 AND gold_rate <= 1', name=op.f('ck_projects_gold_rate_range')),
    sa.CheckConstraint('guideline_version >= 1', name=op.f('ck_projects_guideline_version_positive')),
    sa.CheckConstraint('judgements_per_task BETWEEN 1 AND 10', name=op.f('ck_projects_overlap_range')),
    sa.CheckConstraint('lease_minutes BETWEEN 5 AND 480', name=op.f('ck_projects_lease_range')),
    sa.CheckConstraint('review_rate >= 0 AND review_rate <= 1', name=op.f('ck_projects_review_rate_range')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_projects_workspace_id_workspaces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('slug', name=op.f('uq_projects_slug'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_domain'), ['domain'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('expert', 'reviewer', 'lab', 'admin', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('domains', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('hourly_rate_cents', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('pseudonym', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=True),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.CheckConstraint('hourly_rate_cents >= 0', name=op.f('ck_users_rate_not_negative')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_users_workspace_id_workspaces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_users_pseudonym')),
    sa.UniqueConstraint('session_token', name=op.f('uq_users_session_token'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_api_tokens_secret_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_events_object', ['object_type', 'object_id'], unique=False)

    op.create_table('export_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=32), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('folder', sa.String(length=255), nullable=False),
    sa.Column('files', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('row_counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_export_runs_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_export_runs_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_runs')),
    sa.UniqueConstraint('folder', name=op.f('uq_export_runs_folder'))
    )
    with op.batch_alter_table('export_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_runs_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index('ix_export_runs_project_created', ['project_id', 'created_at'], unique=False)

    op.create_table('generation_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('model_names', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'finished', 'failed', 'cancelled', name='generationjobstatus', native_enum=False, length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('truncated', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('rq_job_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('concurrency BETWEEN 1 AND 64', name=op.f('ck_generation_jobs_concurrency_range')),
    sa.CheckConstraint('total >= 0 AND completed >= 0 AND failed >= 0', name=op.f('ck_generation_jobs_counts_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_generation_jobs_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_generation_jobs_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generation_jobs'))
    )
    with op.batch_alter_table('generation_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_generation_jobs_project_created', ['project_id', 'created_at'], unique=False)

    op.create_table('guideline_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('rubric', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_guideline_versions_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guideline_versions')),
    sa.UniqueConstraint('project_id', 'version', name=op.f('uq_guideline_versions_project_id_version'))
    )
    with op.batch_alter_table('guideline_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guideline_versions_project_id'), ['project_id'], unique=False)

    op.create_table('prompts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('messages', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('gold', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_prompts_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prompts')),
    sa.UniqueConstraint('project_id', 'external_id', name=op.f('uq_prompts_project_id_external_id'))
    )
    with op.batch_alter_table('prompts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompts_project_id'), ['project_id'], unique=False)

    op.create_table('completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=False),
    sa.Column('model_name', sa.String(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.Enum('generated', 'imported', 'rewrite', name='completionsource', native_enum=False, length=16), nullable=False),
    sa.Column('generation', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.id'], name=op.f('fk_completions_prompt_id_prompts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completions')),
    sa.UniqueConstraint('prompt_id', 'model_name', name=op.f('uq_completions_prompt_id_model_name'))
    )
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_completions_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_completions_prompt_id'), ['prompt_id'], unique=False)

    op.create_table('generation_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=False),
    sa.Column('model_name', sa.String(length=128), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['generation_jobs.id'], name=op.f('fk_generation_failures_job_id_generation_jobs')),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.id'], name=op.f('fk_generation_failures_prompt_id_prompts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generation_failures')),
    sa.UniqueConstraint('job_id', 'prompt_id', 'model_name', name=op.f('uq_generation_failures_job_id_prompt_id_model_name'))
    )
    with op.batch_alter_table('generation_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_generation_failures_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_generation_failures_prompt_id'), ['prompt_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('is_gold', sa.Boolean(), nullable=False),
    sa.Column('gold_preference', sa.Integer(), nullable=True),
    sa.Column('gold_ranking', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('gold_explanation', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('open', 'complete', name='taskstatus', native_enum=False, length=16), nullable=False),
    sa.Column('submitted_count', sa.Integer(), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('gold_preference IS NULL OR gold_preference BETWEEN -3 AND 3', name=op.f('ck_tasks_gold_range')),
    sa.CheckConstraint('submitted_count >= 0', name=op.f('ck_tasks_submitted_count_not_negative')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_tasks_project_id_projects')),
    sa.ForeignKeyConstraint(['prompt_id'], ['prompts.id'], name=op.f('fk_tasks_prompt_id_prompts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('project_id', 'signature', name=op.f('uq_tasks_project_id_signature'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_prompt_id'), ['prompt_id'], unique=False)
        batch_op.create_index('ix_tasks_queue', ['project_id', 'status', 'submitted_count', 'id'], unique=False)

    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('display_order', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('active', 'submitted', 'skipped', 'expired', name='assignmentstatus', native_enum=False, length=16), nullable=False),
    sa.Column('skip_reason', sa.String(length=32), nullable=True),
    sa.Column('skip_note', sa.Text(), nullable=True),
    sa.Column('claimed_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_expires_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active_seconds', sa.Integer(), nullable=False),
    sa.CheckConstraint('active_seconds >= 0', name=op.f('ck_assignments_active_seconds_not_negative')),
    sa.ForeignKeyConstraint(['expert_id'], ['users.id'], name=op.f('fk_assignments_expert_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_assignments_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments')),
    sa.UniqueConstraint('task_id', 'expert_id', name=op.f('uq_assignments_task_id_expert_id'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_expert_status', ['expert_id', 'status'], unique=False)
        batch_op.create_index('ix_assignments_task_status', ['task_id', 'status', 'lease_expires_at'], unique=False)

    op.create_table('task_items',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('position BETWEEN 0 AND 8', name=op.f('ck_task_items_position_range')),
    sa.ForeignKeyConstraint(['completion_id'], ['completions.id'], name=op.f('fk_task_items_completion_id_completions')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_items_task_id_tasks')),
    sa.PrimaryKeyConstraint('task_id', 'position', name=op.f('pk_task_items')),
    sa.UniqueConstraint('task_id', 'completion_id', name=op.f('uq_task_items_task_id_completion_id'))
    )
    with op.batch_alter_table('task_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_items_completion_id'), ['completion_id'], unique=False)

    op.create_table('activity_intervals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('started_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.CheckConstraint('ended_at >= started_at', name=op.f('ck_activity_intervals_ends_after_start')),
    sa.CheckConstraint('seconds >= 0', name=op.f('ck_activity_intervals_seconds_not_negative')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_activity_intervals_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['expert_id'], ['users.id'], name=op.f('fk_activity_intervals_expert_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_intervals'))
    )
    with op.batch_alter_table('activity_intervals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_intervals_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index('ix_activity_intervals_expert_ended', ['expert_id', 'ended_at'], unique=False)

    op.create_table('judgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'approved', 'rejected', 'returned', name='judgementstatus', native_enum=False, length=16), nullable=False),
    sa.Column('preference', sa.Integer(), nullable=True),
    sa.Column('ranking', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('confidence', sa.Integer(), nullable=True),
    sa.Column('rubric_scores', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('critiques', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('rewrite', sa.Text(), nullable=True),
    sa.Column('rewrite_source_id', sa.Integer(), nullable=True),
    sa.Column('flags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('guideline_version', sa.Integer(), nullable=False),
    sa.Column('active_seconds', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status = 'draft' OR preference IS NOT NULL OR ranking IS NOT NULL", name=op.f('ck_judgements_submitted_has_preference')),
    sa.CheckConstraint('active_seconds >= 0', name=op.f('ck_judgements_active_seconds_not_negative')),
    sa.CheckConstraint('confidence IS NULL OR confidence BETWEEN 1 AND 5', name=op.f('ck_judgements_confidence_range')),
    sa.CheckConstraint('preference IS NULL OR preference BETWEEN -3 AND 3', name=op.f('ck_judgements_preference_range')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_judgements_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['expert_id'], ['users.id'], name=op.f('fk_judgements_expert_id_users')),
    sa.ForeignKeyConstraint(['rewrite_source_id'], ['completions.id'], name=op.f('fk_judgements_rewrite_source_id_completions')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_judgements_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judgements')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_judgements_assignment_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_judgements_idempotency_key')),
    sa.UniqueConstraint('task_id', 'expert_id', name=op.f('uq_judgements_task_id_expert_id'))
    )
    with op.batch_alter_table('judgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_judgements_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index('ix_judgements_status_task', ['status', 'task_id'], unique=False)

    op.create_table('judgement_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('judgement_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['judgement_id'], ['judgements.id'], name=op.f('fk_judgement_revisions_judgement_id_judgements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judgement_revisions')),
    sa.UniqueConstraint('judgement_id', 'revision', name=op.f('uq_judgement_revisions_judgement_id_revision'))
    )
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('judgement_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.Enum('approve', 'reject', 'send_back', name='reviewverdict', native_enum=False, length=16), nullable=False),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', rlhf_app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['judgement_id'], ['judgements.id'], name=op.f('fk_reviews_judgement_id_judgements')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_judgement_id'), ['judgement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviews_reviewer_id'), ['reviewer_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_reviews_judgement_id'))

    op.drop_table('reviews')
    op.drop_table('judgement_revisions')
    with op.batch_alter_table('judgements', schema=None) as batch_op:
        batch_op.drop_index('ix_judgements_status_task')
        batch_op.drop_index(batch_op.f('ix_judgements_expert_id'))

    op.drop_table('judgements')
    with op.batch_alter_table('activity_intervals', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_intervals_expert_ended')
        batch_op.drop_index(batch_op.f('ix_activity_intervals_assignment_id'))

    op.drop_table('activity_intervals')
    with op.batch_alter_table('task_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_items_completion_id'))

    op.drop_table('task_items')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_task_status')
        batch_op.drop_index('ix_assignments_expert_status')

    op.drop_table('assignments')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_queue')
        batch_op.drop_index(batch_op.f('ix_tasks_prompt_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('generation_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_generation_failures_prompt_id'))
        batch_op.drop_index(batch_op.f('ix_generation_failures_job_id'))

    op.drop_table('generation_failures')
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_completions_prompt_id'))
        batch_op.drop_index(batch_op.f('ix_completions_content_hash'))

    op.drop_table('completions')
    with op.batch_alter_table('prompts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompts_project_id'))

    op.drop_table('prompts')
    with op.batch_alter_table('guideline_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guideline_versions_project_id'))

    op.drop_table('guideline_versions')
    with op.batch_alter_table('generation_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_generation_jobs_project_created')

    op.drop_table('generation_jobs')
    with op.batch_alter_table('export_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_export_runs_project_created')
        batch_op.drop_index(batch_op.f('ix_export_runs_created_by_id'))

    op.drop_table('export_runs')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_object')
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))

    op.drop_table('audit_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_workspace_id'))

    op.drop_table('users')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_projects_domain'))

    op.drop_table('projects')
    op.drop_table('workspaces')
    
