"""bench/_http.py: the load bench's HTTP client reads every response framing gunicorn sends,
reuses kept-alive connections, and reports failures instead of hanging or mixing up replies."""

import asyncio
import json

import pytest

from bench._http import HttpClient, ResponseError


class _Server:
    """A loopback server answering each request with the next canned reply (bytes, a tuple of
    pieces sent apart, or None to stay silent), recording the requests and connections."""

    def __init__(self, replies: list[bytes | tuple | None]) -> None:
        self.replies = replies
        self.requests: list[bytes] = []
        self.connections = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                reply = self.replies.pop(0)
                if reply is None:
                    await asyncio.sleep(10)
                    return
                for piece in reply if isinstance(reply, tuple) else (reply,):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.02)
                if b"Connection: close" in b"".join(
                    reply if isinstance(reply, tuple) else (reply,)
                ):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()


def _ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def _run(coroutine):
    return asyncio.run(coroutine)


def test_sends_json_and_headers_and_reads_a_content_length_body():
    async def scenario():
        async with _Server([_ok(b'{"ok": true}')]) as server:
            client = HttpClient("127.0.0.1", server.port, {"Authorization": "Bearer k"}, 5)
            status, body = await client.request("POST", "/contacts", {"a": 1})
            client.close()
            return status, body, server.requests[0]

    status, body, request = _run(scenario())
    assert (status, json.loads(body)) == (200, {"ok": True})
    assert request.startswith(b"POST /contacts HTTP/1.1\r\n")
    assert b"Authorization: Bearer k\r\n" in request
    assert b"Content-Type: application/json\r\n" in request
    assert request.endswith(b'\r\n\r\n{"a": 1}')


def test_reads_a_chunked_body_split_across_packets():
    chunked = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab",
        b"cd\r\n2\r\nef\r",
        b"\n0\r\n\r\n",
    )

    async def scenario():
        async with _Server([chunked]) as server:
            client = HttpClient("127.0.0.1", server.port, {}, 5)
            result = await client.request("GET", "/x")
            client.close()
            return result

    assert _run(scenario()) == (201, b"abcdef")


def test_a_kept_alive_connection_is_reused_and_a_closed_one_is_not():
    async def scenario():
        replies = [_ok(b"1"), _ok(b"2", "Connection: close\r\n"), _ok(b"3")]
        async with _Server(replies) as server:
            client = HttpClient("127.0.0.1", server.port, {}, 5)
            bodies = [(await client.request("GET", f"/{n}"))[1] for n in range(3)]
            client.close()
            return bodies, server.connections

    bodies, connections = _run(scenario())
    assert bodies == [b"1", b"2", b"3"]
    assert connections == 2  # the first two shared one; the server closed it after the second


def test_a_silent_server_times_out_and_a_garbled_reply_is_an_error():
    async def scenario():
        async with _Server([None, b"SSH-2.0-OpenSSH\r\n\r\n"]) as server:
            client = HttpClient("127.0.0.1", server.port, {}, 0.2)
            with pytest.raises(TimeoutError):
                await client.request("GET", "/slow")
            with pytest.raises(ResponseError):
                await client.request("GET", "/garbled")
            client.close()

    _run(scenario())


def test_a_connection_the_server_drops_mid_request_fails_that_request():
    async def scenario():
        async with _Server(
            [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc"]
        ) as server:
            client = HttpClient("127.0.0.1", server.port, {}, 5)
            with pytest.raises(ConnectionError):
                await client.request("GET", "/cut")
            client.close()

    _run(scenario())
