"""Listening to status changes (for campaigns).

A campaign message carries `Message.campaign_id` and `Message.campaign_recipient_id` (set by
whoever sends it, through `message_send_template(..., campaign_id=..., campaign_recipient_id=...)`
or `message_outbound_record`). To keep recipients and stats in step, register a listener once,
e.g. in the campaigns AppConfig.ready():

    from apps.messaging.hooks import status_listener

    @status_listener
    def on_message_status(*, message, previous_status, new_status): ...

It is called in the transaction that changed the status (so a rollback undoes both), once per
change, in the message's workspace schema, for every message (filter on `campaign_id`).
`previous_status` -> `new_status` may skip steps (sent -> read: `read` implies delivered, so
count it as delivered too) and may go from `failed` to `delivered`/`read`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

StatusListener = Callable[..., Any]
_listeners: list[StatusListener] = []


def status_listener(func: StatusListener) -> StatusListener:
    if func not in _listeners:
        _listeners.append(func)
    return func


def status_listener_remove(func: StatusListener) -> None:
    if func in _listeners:
        _listeners.remove(func)


def notify_status_change(*, message: Any, previous_status: str, new_status: str) -> None:
    for listener in list(_listeners):
        listener(message=message, previous_status=previous_status, new_status=new_status)
