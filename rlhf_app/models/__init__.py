"""All models, re-exported so that ``from rlhf_app.models import Task`` works everywhere."""
from .activity import ActivityInterval
from .audit import AuditEvent
from .exports import ExportRun
from .generation import GenerationFailure, GenerationJob, GenerationJobStatus
from .judgements import Flag, Judgement, JudgementRevision, JudgementStatus, Review, ReviewVerdict
from .projects import GuidelineVersion, Project, ProjectStatus, TaskKind
from .tasks import (
    Assignment, AssignmentStatus, Completion, CompletionSource, Prompt, Task, TaskItem, TaskStatus,
)
from .users import ApiToken, Role, User, Workspace

__all__ = [
    "ActivityInterval", "ApiToken", "Assignment", "AssignmentStatus", "AuditEvent", "Completion", "CompletionSource", "ExportRun",
    "Flag", "GenerationFailure", "GenerationJob", "GenerationJobStatus", "GuidelineVersion", "Judgement", "JudgementRevision", "JudgementStatus", "Project",
    "ProjectStatus", "Prompt", "Review", "ReviewVerdict", "Role", "Task", "TaskItem", "TaskKind",
    "TaskStatus", "User", "Workspace",
]
