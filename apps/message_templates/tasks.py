from __future__ import annotations

from apps.core.tasks import tenant_task
from apps.message_templates.services import message_template_sandbox_review


@tenant_task(ignore_result=True)
def message_template_sandbox_review_task(*, template_id: str) -> None:
    message_template_sandbox_review(template_id=template_id)
