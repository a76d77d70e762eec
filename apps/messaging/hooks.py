"""Listening to status changes (for campaigns).

A campaign message carries `Message.campaign_id` and `Message.campaign_recipient_id` (set by
whoever sends it, through `message_send_template(..., campaign_id=..., campaign_recipient_id=...)`
or `message_outbound_record`). To keep recipients and stats in step, register a listener once,
e.g. in the campaigns AppConfig.ready():

    from apps.messaging.hooks import status_batch_listener

    @status_batch_listener
    def on_message_statuses(*, changes): ...  # [StatusChange(message, previous, new), ...]

A listener is called once per batch of applied statuses (a drained batch of Meta callbacks,
or a single change), with the changes in the order they were applied; a message may appear
several times, each time as it stands after the whole batch. It is called in the transaction
that changed the status (so a rollback undoes both), in the message's workspace schema, for
every message (filter on `campaign_id`).
`previous_status` -> `new_status` may skip steps (sent -> read: `read` implies delivered, so
count it as delivered too) and may go from `failed` to `delivered`/`read`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

StatusListener = Callable[..., Any]
_batch_listeners: list[StatusListener] = []


class StatusChange(NamedTuple):
    message: Any
    previous_status: str
    new_status: str


def status_batch_listener(func: StatusListener) -> StatusListener:
    if func not in _batch_listeners:
        _batch_listeners.append(func)
    return func


def status_batch_listener_remove(func: StatusListener) -> None:
    if func in _batch_listeners:
        _batch_listeners.remove(func)


def notify_status_changes(*, changes: Sequence[StatusChange]) -> None:
    if not changes:
        return
    for batch_listener in list(_batch_listeners):
        batch_listener(changes=changes)


def notify_status_change(*, message: Any, previous_status: str, new_status: str) -> None:
    notify_status_changes(changes=[StatusChange(message, previous_status, new_status)])
