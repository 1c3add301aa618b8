"""The portal's Celery tasks, where Celery's autodiscovery looks for them."""

from portal.submissions.tasks import submission_answer_task, submission_check_task, submission_evaluate_task

__all__ = ["submission_answer_task", "submission_check_task", "submission_evaluate_task"]
