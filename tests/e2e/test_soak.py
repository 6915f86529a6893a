"""A soak: mixed load (waits, task chains with retries and catches, Parallel and Map, callbacks,
stops) while the servers are killed, and on PostgreSQL the database restarted too.

- on SQLite, `kill -9` of the server, again and again (it restarts on the same data);
- on three PostgreSQL nodes, `kill -9` of random nodes (each restarts, a new node) and one
  `pg_ctl restart -m immediate` of the database under them.

Afterwards every answer the servers gave holds:
- every acknowledged start ended in exactly one terminal status, with a dense history in which
  no step's events appear more often than the flow runs the step;
- every acknowledged stop ended Stopped, and no function call of a stopped execution went on
  more than 200 ms past the stop's answer (none was made after it);
- a callback reported again after its execution ended gets `TaskAlreadyCompleted`.

`SLUICE_SOAK_SECONDS` sets how long the load runs (45 s by default, a few minutes for a real
soak).
"""

import json
import os
import pathlib
import random
import time

import pytest
from alibabacloud_fnf20190315 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from conftest import POSTGRES, POSTGRES_DIR, Sluice, fresh_database, postgres_server
from functions import work
from test_cloudflow import create, task_flow, unique, wait_flow
from test_crash import Load, assert_every_acknowledged_answer_held, callback_function

DATA = pathlib.Path(__file__).parent / "data"
SECONDS = float(os.environ.get("SLUICE_SOAK_SECONDS", "45"))
ABORT_WITHIN = 0.2
ITEMS = [1, 2, 3]


class Soak:
    """The flows of the mixed load, the functions they call, and what the checks need."""

    def __init__(self, functions):
        self.functions = functions
        self.disturbances = []  # (when, what): kills and the database restart, for the report
        self.kinds = {
            "retry_catch": unique("soak_retry_catch"),
            "fan_out": unique("soak_fan_out"),
            "callback": unique("soak_callback"),
            "wait": unique("soak_wait"),
        }
        # How often each flow runs a step (the events of one step at most that often).
        self.runs = {
            self.kinds["retry_catch"]: {"Flaky": 3},
            self.kinds["fan_out"]: {"Fan": len(ITEMS), "Item": len(ITEMS), "Both": 2},
        }

    def register(self, load):
        def flaky(call):
            if call.header("X-Sluice-Attempt") == "0":
                return 500, {"errorCode": "Transient.Error", "errorMessage": "try again"}
            return 200, {"attempt": call.header("X-Sluice-Attempt")}

        self.functions.register("/e2e/soak_flaky", work(0.4, flaky))
        self.functions.register("/e2e/soak_broken", work(0.2, lambda call: (
            500, {"errorCode": "Biz.Broken", "errorMessage": "always"})))
        self.functions.register("/e2e/soak_work", work(0.6, lambda call: (200, call.body)))
        self.functions.register("/e2e/soak_ask", callback_function(load))

    def create_flows(self, fnf):
        for kind in ("retry_catch", "fan_out"):
            name = self.kinds[kind]
            create(fnf, name, (DATA / f"soak_{kind}.yaml").read_text().replace("NAME", name))
        callback = self.kinds["callback"]
        create(fnf, callback, task_flow(callback, "soak_ask", extra="    TaskMode: WaitForCustomCallback\n", token=True))
        create(fnf, self.kinds["wait"], wait_flow(self.kinds["wait"], 2))

    def input_of(self, flow, n):
        return {"n": n, "items": ITEMS}

    def load(self, nodes):
        load = Load(nodes, list(self.kinds.values()), input_of=self.input_of, starters=2)
        self.register(load)
        self.create_flows(nodes[0].client())
        return load

    def disturbed(self, what):
        self.disturbances.append((time.monotonic(), what))

    def around(self, moment):
        """The disturbances within 5 s of `moment`, relative to it (for a failure's message)."""
        return [(round(at - moment, 3), what) for at, what in self.disturbances if abs(at - moment) < 5]

    def check(self, fnf, load):
        statuses = assert_every_acknowledged_answer_held(fnf, load, within=120, runs=self.runs)
        assert len(load.started) > 100, f"the load acknowledged only {len(load.started)} starts"
        assert load.stopped, "no stop was acknowledged"
        self.assert_no_call_outlived_its_stop(load)
        self.assert_late_callbacks_are_refused(fnf, load)
        return statuses

    def assert_no_call_outlived_its_stop(self, load):
        stopped_at = dict(load.stopped)
        late = []
        with self.functions.lock:
            calls = list(self.functions.calls)
        for call in calls:
            stop = stopped_at.get((call.header("X-Sluice-Flow"), call.header("X-Sluice-Execution")))
            if stop is None or call.path == "/e2e/soak_ask":
                continue
            ended = call.closed_at or call.answered_at
            if ended is None or ended - stop > ABORT_WITHIN:
                how = "closed" if call.closed_at else "answered" if call.answered_at else "open"
                late.append((call.path, call.header("X-Sluice-Execution"), round(call.received_at - stop, 3),
                             None if ended is None else round(ended - stop, 3), how, self.around(stop)))
        assert not late, (
            "calls went on past their execution's stop (received, ended: s after the stop's answer; "
            f"how it ended; the kills and restarts around the stop): {late[:10]}")

    def assert_late_callbacks_are_refused(self, fnf, load):
        tokens = load.reported[-20:]
        assert tokens, "no callback was reported"
        for token in tokens:
            with pytest.raises(ClientException) as refused:
                fnf.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=token, output="{}"))
            assert refused.value.code == "TaskAlreadyCompleted", refused.value


def run_for(seconds, step):
    """Calls `step(rng)` until `seconds` have passed."""
    rng = random.Random(2026)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        step(rng)


@pytest.mark.skipif(bool(POSTGRES), reason="the SQLite soak runs in the SQLite pass of the suite")
def test_soak_on_sqlite_with_repeated_kill_minus_9(tmp_path, functions):
    server = Sluice(tmp_path / "data", functions.url_template)
    soak = Soak(functions)
    load = soak.load([server])
    kills = 0
    try:
        load.run()

        def kill_and_restart(rng):
            nonlocal kills
            time.sleep(rng.uniform(2.0, 6.0))
            soak.disturbed("kill")
            server.kill9()
            kills += 1
            time.sleep(rng.uniform(0.0, 0.3))
            server.start()

        run_for(SECONDS, kill_and_restart)
        load.finish()
        statuses = soak.check(server.client(), load)
        print(f"SQLite soak: {kills} kills in {SECONDS:.0f} s; {len(load.started)} acknowledged starts, "
              f"{len(load.stopped)} stops: {statuses}")
    finally:
        load.close()
        server.stop()


@pytest.mark.skipif(
    not (POSTGRES and POSTGRES_DIR),
    reason="three nodes on PostgreSQL, restarted under them; SLUICE_TEST_POSTGRES(_DIR) not set (./scripts/test sets them)",
)
def test_soak_on_three_postgresql_nodes_with_kills_and_a_database_restart(tmp_path, functions):
    database = fresh_database()
    nodes = [Sluice(tmp_path / name, functions.url_template, database=database) for name in "ABC"]
    soak = Soak(functions)
    load = soak.load(nodes)
    kills, restarted = 0, False
    began = time.monotonic()
    try:
        load.run()

        def disturb(rng):
            nonlocal kills, restarted
            time.sleep(rng.uniform(2.0, 5.0))
            if not restarted and time.monotonic() - began > SECONDS / 2:
                soak.disturbed("database restart")
                postgres_server("restart")
                soak.disturbed("database back")
                restarted = True
                return
            victim = rng.choice(nodes)
            soak.disturbed(f"kill {'ABC'[nodes.index(victim)]}")
            victim.kill9()
            kills += 1
            time.sleep(rng.uniform(0.2, 1.0))
            victim.start()

        run_for(SECONDS, disturb)
        assert restarted, "the soak was too short to restart the database"
        load.finish()
        statuses = soak.check(nodes[0].client(), load)
        print(f"PostgreSQL soak: {kills} kills of 3 nodes and one database restart in {SECONDS:.0f} s; "
              f"{len(load.started)} acknowledged starts, {len(load.stopped)} stops: {statuses}")
    finally:
        load.close()
        for node in nodes:
            node.stop()
