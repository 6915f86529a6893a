"""The database fails under a running server (issue 10 item 13): a PostgreSQL server crashed
(immediate shutdown) while a function call is in flight, then started again.

Before, the node got the function's answer, failed to record it (`error connecting to
server`), only logged it, and the execution stayed Running forever: its task row belongs to
a live node, so no one took it over. Now what is owed to an accepted execution (the task's
result, a timer's firing) is tried again until the database answers.
"""

import threading
import time

import pytest

from conftest import POSTGRES, POSTGRES_DIR, Sluice, postgres_server
from test_cloudflow import create, describe, start, task_flow, unique, wait_flow, wait_for

pytestmark = pytest.mark.skipif(
    not (POSTGRES and POSTGRES_DIR),
    reason="restarts the throwaway PostgreSQL; SLUICE_TEST_POSTGRES_DIR is not set (./scripts/test sets it)",
)


def test_a_result_answered_while_the_database_is_down_is_recorded_once_it_is_back(tmp_path, functions):
    release = threading.Event()

    def answer_when_released(call, conn):
        release.wait(30)
        return 200, {"answered": True}

    functions.register("/e2e/db_down_answer", answer_when_released)
    server = Sluice(tmp_path / "data", functions.url_template)
    try:
        fnf = server.client()
        calling, waiting = unique("db_down_call"), unique("db_down_wait")
        create(fnf, calling, task_flow(calling, "db_down_answer"))
        create(fnf, waiting, wait_flow(waiting, 2))
        start(fnf, calling, "c")
        start(fnf, waiting, "w")  # its Wait ends while the database is down
        wait_for(lambda: functions.calls_to("/e2e/db_down_answer"))
        postgres_server("halt")
        try:
            release.set()  # the answer arrives, and cannot be recorded
            time.sleep(3)
        finally:
            postgres_server("resume")
        deadline = time.monotonic() + 30
        while True:
            try:
                done = {name: describe(fnf, flow, name, wait=5) for flow, name in ((calling, "c"), (waiting, "w"))}
                if all(d.status != "Running" for d in done.values()) or time.monotonic() > deadline:
                    break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # the server's pool is reconnecting
        assert {n: d.status for n, d in done.items()} == {"c": "Succeeded", "w": "Succeeded"}
        assert done["c"].output == '{"answered":true}' or '"answered"' in done["c"].output
        assert len(functions.calls_to("/e2e/db_down_answer")) == 1, "the call was made once"
    finally:
        release.set()
        server.stop()
