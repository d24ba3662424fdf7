"""Silver tasks: one generator per module, run over a collection by `TasksStage` (see `curation.tasks.base`)."""

from curation.tasks.base import GENERATORS, TaskGenerator, TasksConfig, TasksStage, task_id
from curation.tasks.leakage import is_subtitle_leak
from curation.tasks.user import UserTasksError, load_user_tasks

__all__ = [
    "GENERATORS",
    "TaskGenerator",
    "TasksConfig",
    "TasksStage",
    "UserTasksError",
    "is_subtitle_leak",
    "load_user_tasks",
    "task_id",
]
