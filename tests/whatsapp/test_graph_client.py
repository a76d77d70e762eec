"""The Graph API client against the fake Graph API on loopback: real HTTP, real retries."""

from __future__ import annotations

import asyncio
import socket
import urllib.request

import pytest

from apps.whatsapp import graph
from apps.whatsapp.graph import GraphClient, GraphError, GraphTimeout, GraphUnreachable, run_sync

PHONE = "106540352242922"
WABA = "102290129340398"


def client(**options) -> GraphClient:
    return GraphClient(access_token="good-token", **options)


def send(c: GraphClient, to: str = "14155550123"):
    return run_sync(c.send_template(phone_number_id=PHONE, to=to, name="welcome", language="en_US"))


def test_it_sends_a_template_and_returns_the_wamid(fake_graph):
    body = send(client())

    assert body["messages"][0]["id"].startswith("wamid.")
    assert fake_graph.counts["messages"] == 1
    sent = fake_graph.sent[-1]
    assert sent["to"] == "14155550123"
    assert sent["template"] == {"name": "welcome", "language": {"code": "en_US"}}


def test_it_uses_the_configured_base_url(fake_graph, settings):
    settings.GRAPH_API_BASE_URL = "http://127.0.0.1:9/v21.0"
    assert client().base_url == "http://127.0.0.1:9/v21.0"


@pytest.mark.parametrize(
    ("http_status", "meta_code", "title"),
    [
        (400, 131026, "Message undeliverable"),
        (400, 131056, "Too many messages to one recipient"),
        (400, 131049, "Marketing frequency cap"),
        (400, 132001, "Template not found"),
        (400, 100, "Invalid parameter"),
        (403, 10, "Permission denied"),
        (400, 368, "Account temporarily blocked"),
    ],
)
def test_it_maps_meta_errors_to_upstream_errors(fake_graph, http_status, meta_code, title):
    fake_graph.config.failures_by_number["14155550123"] = (http_status, meta_code)

    with pytest.raises(GraphError) as caught:
        send(client())

    error = caught.value
    assert (error.status, error.code) == (502, "upstream_error")
    assert error.meta_code == meta_code
    assert error.http_status == http_status
    assert error.details["title"] == title
    assert error.details["fix"]
    assert error.details["fbtrace_id"].startswith("Fake")


def test_an_expired_token_maps_to_190(fake_graph):
    with pytest.raises(GraphError) as caught:
        run_sync(GraphClient(access_token="expired-token").get_phone_number(phone_number_id=PHONE))
    assert caught.value.meta_code == 190
    assert caught.value.details["title"] == "Access token expired or invalid"
    assert fake_graph.counts["phone_number"] == 1  # a 401 is not retried


def test_an_invalid_recipient_maps_to_131009(fake_graph):
    with pytest.raises(GraphError) as caught:
        send(client(), to="12")
    assert caught.value.meta_code == 131009


def test_it_retries_a_safe_request_on_5xx(fake_graph):
    fake_graph.config.fail_next.extend([{"status": 500}, {"status": 503, "code": 131016}])

    body = run_sync(client().get_phone_number(phone_number_id=PHONE))

    assert body["id"] == PHONE
    assert fake_graph.counts["phone_number"] == 3


def test_it_gives_up_after_the_last_attempt(fake_graph):
    fake_graph.config.fail_next.extend([{"status": 500}] * 5)

    with pytest.raises(GraphError) as caught:
        run_sync(client(attempts=3).get_phone_number(phone_number_id=PHONE))

    assert caught.value.meta_code == 131000
    assert fake_graph.counts["phone_number"] == 3


def test_it_never_retries_a_send_on_5xx(fake_graph):
    fake_graph.config.fail_next.append({"status": 500})

    with pytest.raises(GraphError):
        send(client())

    assert fake_graph.counts["messages"] == 1
    assert len(fake_graph.sent) == 0


def test_it_retries_a_send_refused_with_429(fake_graph):
    fake_graph.config.fail_next.append({"status": 429, "code": 130429})

    body = send(client())

    assert body["messages"][0]["id"].startswith("wamid.")
    assert fake_graph.counts["messages"] == 2
    assert len(fake_graph.sent) == 1


def test_a_send_that_times_out_is_not_repeated(fake_graph):
    fake_graph.config.fail_next.append({"delay": 0.5})

    with pytest.raises(GraphTimeout) as caught:
        send(client(timeout=0.2))

    assert (caught.value.status, caught.value.code) == (504, "upstream_timeout")
    assert fake_graph.counts["messages"] == 1


def test_a_safe_request_that_times_out_is_retried(fake_graph):
    fake_graph.config.fail_next.append({"delay": 0.5})

    body = run_sync(client(timeout=0.2).get_phone_number(phone_number_id=PHONE))

    assert body["id"] == PHONE
    assert fake_graph.counts["phone_number"] == 2


def test_an_unreachable_server_is_retried_then_reported(fake_graph):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(GraphUnreachable) as caught:
        send(GraphClient(access_token="t", base_url=f"http://127.0.0.1:{port}/v21.0"))

    assert caught.value.status == 502


def test_it_follows_template_paging(fake_graph):
    for n in range(5):
        run_sync(
            client().create_template(
                waba_id=WABA,
                payload={
                    "name": f"t{n}",
                    "language": "en_US",
                    "category": "UTILITY",
                    "components": [{"type": "BODY", "text": "Hi"}],
                },
            )
        )

    templates = run_sync(client().list_templates(waba_id=WABA, page_size=2))

    assert [t["name"] for t in templates] == ["t0", "t1", "t2", "t3", "t4"]
    assert fake_graph.counts["templates_list"] == 3


def test_it_deletes_a_template(fake_graph):
    created = run_sync(
        client().create_template(
            waba_id=WABA,
            payload={
                "name": "gone",
                "language": "en",
                "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Hi"}],
            },
        )
    )
    run_sync(client().delete_template(waba_id=WABA, name="gone", meta_id=created["id"]))
    assert fake_graph.templates[WABA] == []


def test_it_uploads_media_and_retries_the_upload(fake_graph):
    fake_graph.config.fail_next.append({"status": 502})

    media_id = run_sync(
        client().upload_media(
            phone_number_id=PHONE,
            content=b"%PDF-1.4 x",
            mime_type="application/pdf",
            filename="a.pdf",
        )
    )

    assert fake_graph.media[media_id] == (b"%PDF-1.4 x", "application/pdf")
    assert fake_graph.counts["media_upload"] == 2
    info = run_sync(client().get_media(media_id=media_id))
    assert info["mime_type"] == "application/pdf"
    with urllib.request.urlopen(info["url"]) as download:  # retrieval, as Meta offers it
        assert download.read() == b"%PDF-1.4 x"


def test_the_async_api_sends_many_concurrently_on_one_loop(fake_graph):
    c = client()

    async def dispatch():
        return await asyncio.gather(
            *[
                c.send_template(
                    phone_number_id=PHONE, to=f"1415555{n:04d}", name="w", language="en"
                )
                for n in range(40)
            ]
        )

    results = graph.run_async(dispatch)

    assert len({r["messages"][0]["id"] for r in results}) == 40
    assert fake_graph.counts["messages"] == 40
