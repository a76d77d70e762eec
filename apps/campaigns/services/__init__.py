"""Every write to campaigns: creation and edits, the state machine, materialisation, stats,
preview and test send, follow-ups and the audience CSV. See each module's docstring for the
rules it owns; pages, the public API, tasks and the dispatcher all call these functions.

Importing this package registers the message status listener (stats._on_message_statuses).
"""

from apps.campaigns.services.audience_upload import (
    AUDIENCE_CSV_MAX_BYTES,
    AUDIENCE_CSV_MAX_ROWS,
    AudienceUpload,
    campaign_audience_upload,
)
from apps.campaigns.services.editing import (
    _uuid_list,
    campaign_create,
    campaign_set_audience,
    campaign_update,
    template_resolve,
)
from apps.campaigns.services.follow_ups import (
    RETARGET_STATUSES,
    campaign_retarget,
    campaign_retry_failed,
)
from apps.campaigns.services.lifecycle import (
    InvalidTransition,
    TransitionConflict,
    _enqueue_dispatch,
    _start,
    campaign_complete_if_done,
    campaign_fail,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
    campaign_send_now,
    campaign_stop,
    campaigns_start_due,
)
from apps.campaigns.services.materialise import TIME_ORDERED_UUID_SQL, _materialise
from apps.campaigns.services.preview import (
    campaign_preview,
    campaign_test_send,
    header_media_param,
)
from apps.campaigns.services.stats import (
    MESSAGE_TO_RECIPIENT,
    RecipientStatusChange,
    campaign_recipient_status_apply,
    campaign_recipient_statuses_apply,
    campaign_refresh_metrics,
    counters_delta,
)

__all__ = [
    "AUDIENCE_CSV_MAX_BYTES",
    "AUDIENCE_CSV_MAX_ROWS",
    "MESSAGE_TO_RECIPIENT",
    "RETARGET_STATUSES",
    "TIME_ORDERED_UUID_SQL",
    "AudienceUpload",
    "InvalidTransition",
    "RecipientStatusChange",
    "TransitionConflict",
    "_enqueue_dispatch",
    "_materialise",
    "_start",
    "_uuid_list",
    "campaign_audience_upload",
    "campaign_complete_if_done",
    "campaign_create",
    "campaign_fail",
    "campaign_pause",
    "campaign_preview",
    "campaign_recipient_status_apply",
    "campaign_recipient_statuses_apply",
    "campaign_refresh_metrics",
    "campaign_resume",
    "campaign_retarget",
    "campaign_retry_failed",
    "campaign_schedule",
    "campaign_send_now",
    "campaign_set_audience",
    "campaign_stop",
    "campaign_test_send",
    "campaign_update",
    "campaigns_start_due",
    "counters_delta",
    "header_media_param",
    "template_resolve",
]
