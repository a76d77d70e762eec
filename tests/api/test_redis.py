"""`run_script`: the rate limiter's Lua script on each thread's own Redis connection."""

from __future__ import annotations

import threading

from apps.api import redis as api_redis
from apps.api.redis import ScriptCall, redis_client, run_script

INCREMENT = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


def test_it_runs_the_script_and_returns_its_reply():
    redis_client().delete("test:run-script")
    assert run_script(INCREMENT, ["test:run-script"], [2]) == 2
    assert run_script(INCREMENT, ["test:run-script"], [3]) == 5


def test_a_redis_that_lost_its_scripts_is_given_the_script_again():
    redis_client().delete("test:run-script")
    run_script(INCREMENT, ["test:run-script"], [1])
    redis_client().script_flush()  # what a restart of Redis does
    assert run_script(INCREMENT, ["test:run-script"], [1]) == 2


def test_a_connection_the_server_closed_is_replaced():
    redis_client().delete("test:run-script")
    run_script(INCREMENT, ["test:run-script"], [1])
    own = api_redis._thread.connection
    own.send_command("CLIENT", "ID")
    redis_client().client_kill_filter(_id=own.read_response())
    assert run_script(INCREMENT, ["test:run-script"], [1]) == 2
    assert run_script(INCREMENT, ["test:run-script"], [1]) == 3


def test_each_thread_has_its_own_connection():
    run_script(INCREMENT, ["test:run-script"], [1])
    connections = [api_redis._thread.connection]

    def other_thread():
        run_script(INCREMENT, ["test:run-script"], [1])
        connections.append(api_redis._thread.connection)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert connections[0] is not None and connections[1] is not None
    assert connections[0] is not connections[1]


def test_replies_read_later_or_out_of_order_reach_their_own_calls():
    redis_client().delete("test:run-script")
    first = ScriptCall(INCREMENT, ["test:run-script"], [1])
    second = ScriptCall(INCREMENT, ["test:run-script"], [10])
    assert run_script(INCREMENT, ["test:run-script"], [100]) == 111
    assert second.reply() == 11
    assert first.reply() == 1
    assert api_redis._thread.pending is None


def test_a_call_whose_connection_broke_before_its_reply_runs_again():
    redis_client().delete("test:run-script")
    run_script(INCREMENT, ["test:run-script"], [1])
    own = api_redis._thread.connection
    own.send_command("CLIENT", "ID")
    killed = own.read_response()
    call = ScriptCall(INCREMENT, ["test:run-script"], [1])
    redis_client().client_kill_filter(_id=killed)
    # Either the script ran before the kill or not at all; its reply is what Redis holds now.
    assert call.reply() in (2, 3)
    assert int(redis_client().get("test:run-script")) == call.reply()
