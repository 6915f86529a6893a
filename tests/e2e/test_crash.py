"""Crash safety: `kill -9` the server at random moments under a steady load of starts, stops and
callbacks, restart it on the same data directory, and check what every acknowledged answer
promised.

- every execution whose StartExecution was answered exists and ends in exactly one terminal
  status, with dense history ids and the terminal event last;
- every execution whose StopExecution was answered is Stopped.
"""

import collections
import json
import pathlib
import queue
import random
import threading
import time

from alibabacloud_fnf20190315 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from conftest import Sluice
from test_cloudflow import create, task_flow, unique

DATA = pathlib.Path(__file__).parent / "data"
KILLS = 4
TERMINAL = {"Succeeded", "Failed", "Stopped", "TimedOut"}
TERMINAL_EVENTS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionStopped", "ExecutionTimedOut"}


def chain_flow(name):
    return (DATA / "call_wait_call.yaml").read_text().replace("NAME", name)


def waiting_flow(name):
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Sleep
States:
  - Type: Wait
    Name: Sleep
    Seconds: 2
    End: true
"""


class Load:
    """Threads that start, stop and report callbacks until told to finish, recording what the
    servers acknowledged. Each request goes to one of the nodes that are up (any, if none is).
    Requests that fail because a server is down are simply not acknowledged; callback tokens
    are retried until a server answers for them."""

    def __init__(self, nodes, flows, input_of=lambda flow, n: {"n": n}, starters=3):
        self.nodes = nodes
        self.flows = flows
        self.input_of = input_of
        self.started = []  # (flow, execution) acknowledged
        self.stopped = {}  # (flow, execution) acknowledged: when the stop was answered
        self.tokens = queue.Queue()
        self.reported = []  # tokens whose report was answered (success or refusal)
        self.lock = threading.Lock()
        self.done = threading.Event()
        # Callbacks are answered until the checks end: a task re-dispatched after the last
        # restart may submit its token after the load has stopped.
        self.checked = threading.Event()
        self.threads = [
            threading.Thread(target=self.starter, args=(i,), daemon=True) for i in range(starters)
        ] + [
            threading.Thread(target=self.stopper, daemon=True),
            threading.Thread(target=self.reporter, daemon=True),
        ]

    def run(self):
        for thread in self.threads:
            thread.start()

    def wait_for_starts(self, count, within=60):
        """Waits until `count` more starts are acknowledged: a kill then hits a server under
        load however fast or busy the machine is. Fails if that takes over `within` s."""
        with self.lock:
            target = len(self.started) + count
        deadline = time.monotonic() + within
        while len(self.started) < target:
            assert time.monotonic() < deadline, (
                f"the servers acknowledged {len(self.started)} of {target} starts within {within} s")
            time.sleep(0.02)

    def wait_for_a_stop(self, within=60):
        deadline = time.monotonic() + within
        while not self.stopped:
            assert time.monotonic() < deadline, f"no stop was acknowledged within {within} s"
            time.sleep(0.02)

    def finish(self):
        self.done.set()
        for thread in self.threads[:-1]:
            thread.join(timeout=120)

    def close(self):
        self.checked.set()
        if self.threads[-1].is_alive():
            self.threads[-1].join(timeout=120)

    def clients(self, seed):
        """A client per node, and a function picking one of a node that is up."""
        clients = [node.client() for node in self.nodes]
        rng = random.Random(seed)

        def pick():
            up = [c for node, c in zip(self.nodes, clients) if node.alive] or clients
            return rng.choice(up)

        return pick

    def starter(self, worker):
        fnf = self.clients(worker)
        n = 0
        while not self.done.is_set():
            flow = self.flows[n % len(self.flows)]
            name = f"w{worker}-{n}"
            n += 1
            try:
                fnf().start_execution(
                    m.StartExecutionRequest(
                        flow_name=flow, execution_name=name, input=json.dumps(self.input_of(flow, n)))
                )
            except Exception:
                time.sleep(0.05)
                continue
            with self.lock:
                self.started.append((flow, name))

    def stopper(self):
        fnf = self.clients("stopper")
        rng = random.Random(7)
        while not self.done.is_set():
            time.sleep(0.01)
            with self.lock:
                if not self.started:
                    continue
                target = rng.choice(self.started[-50:])
            try:
                fnf().stop_execution(m.StopExecutionRequest(flow_name=target[0], execution_name=target[1]))
            except Exception:
                continue  # already finished, or the server is down: not acknowledged
            with self.lock:
                self.stopped.setdefault(target, time.monotonic())

    def reporter(self):
        fnf = self.clients("reporter")
        while not self.checked.is_set():
            try:
                token = self.tokens.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                fnf().report_task_succeeded(
                    m.ReportTaskSucceededRequest(task_token=token, output=json.dumps({"reported": True}))
                )
                self.reported.append(token)
            except ClientException:
                self.reported.append(token)  # answered: the task finished or its execution was stopped
            except Exception:
                self.tokens.put(token)  # the server is down; try again after the restart
                time.sleep(0.05)


def callback_function(load):
    def function(call, conn):
        load.tokens.put(call.body["token"])
        return 200, {"accepted": True}

    return function


def wait_terminal(fnf, flow, execution, deadline):
    while True:
        body = fnf.describe_execution(
            m.DescribeExecutionRequest(flow_name=flow, execution_name=execution)
        ).body
        if body.status in TERMINAL or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def history(fnf, flow, execution):
    events, token = [], None
    while True:
        body = fnf.get_execution_history(
            m.GetExecutionHistoryRequest(flow_name=flow, execution_name=execution, next_token=token, limit=100)
        ).body
        events += body.events
        token = body.next_token
        if not token:
            return events


def load_flows():
    """A chain of calls and a wait, a wait, a callback task."""
    return [unique("crash_chain"), unique("crash_wait"), unique("crash_callback")]


def create_load_flows(fnf, functions, load):
    chain, waiting, callback = load.flows
    functions.register("/e2e/crash_echo", lambda call, conn: (200, call.body))
    functions.register("/e2e/crash_ask", callback_function(load))
    create(fnf, chain, chain_flow(chain))
    create(fnf, waiting, waiting_flow(waiting))
    create(fnf, callback, task_flow(callback, "crash_ask", extra="    TaskMode: WaitForCustomCallback\n", token=True))


def assert_every_acknowledged_answer_held(fnf, load, within=60, runs=None):
    """Every acknowledged start ended in exactly one terminal status, with dense history ids,
    the terminal event last and no step's events twice: no event of a step more often than
    the flow runs it (`runs`: flow -> {step: times}, once by default) and no scheduled event
    completed twice; every acknowledged stop ended Stopped. Returns the count of each status."""
    deadline = time.monotonic() + within
    statuses = {}
    for flow, execution in load.started:
        body = wait_terminal(fnf, flow, execution, deadline)
        assert body.status in TERMINAL, f"{flow}/{execution} is still {body.status}"
        statuses[body.status] = statuses.get(body.status, 0) + 1
        events = history(fnf, flow, execution)
        ids = [e.event_id for e in events]
        assert ids == list(range(1, len(ids) + 1)), f"{flow}/{execution}: ids not dense: {ids}"
        terminal = [e.type for e in events if e.type in TERMINAL_EVENTS]
        assert len(terminal) == 1 and events[-1].type == terminal[0], f"{flow}/{execution}: {terminal}"
        assert terminal[0] == "Execution" + body.status
        allowed = (runs or {}).get(flow, {})
        steps = collections.Counter((e.type, e.step_name) for e in events if e.step_name)
        twice = {k: n for k, n in steps.items() if n > allowed.get(k[1], 1)}
        assert not twice, f"{flow}/{execution}: a step's history twice: {twice}"
        completions = [(e.type, e.schedule_event_id) for e in events if e.schedule_event_id]
        assert len(completions) == len(set(completions)), f"{flow}/{execution}: completed twice: {completions}"
        if (flow, execution) in load.stopped:
            assert body.status == "Stopped", f"{flow}/{execution}: acknowledged stop, ended {body.status}"
    return statuses


def test_kill_minus_9_under_load_keeps_every_acknowledged_answer(tmp_path, functions):
    sluice = Sluice(tmp_path / "data", functions.url_template)
    load = Load([sluice], load_flows())
    try:
        fnf = sluice.client()
        create_load_flows(fnf, functions, load)
        rng = random.Random(2026)
        load.run()
        for _ in range(KILLS):
            load.wait_for_starts(20)  # every server life serves the load before it is killed
            time.sleep(rng.uniform(0.0, 1.0))
            sluice.kill9()
            time.sleep(rng.uniform(0.0, 0.3))
            sluice.start()
        load.wait_for_starts(20)  # the last restart serves too
        load.wait_for_a_stop()
        load.finish()

        statuses = assert_every_acknowledged_answer_held(fnf, load)
        print(f"{KILLS} kills; {len(load.started)} acknowledged starts, {len(load.stopped)} stops: {statuses}")
    finally:
        load.close()
        sluice.stop()


def test_a_call_in_flight_at_a_crash_is_made_again_with_the_same_idempotency_key(tmp_path, functions):
    """At-least-once across a crash: the restarted server re-sends the call that was in
    flight, with the key the function can deduplicate on."""
    keys = []

    def remember_then_answer(call, conn):
        keys.append(call.headers.get("X-Sluice-Idempotency-Key") or call.headers.get("x-sluice-idempotency-key"))
        if len(keys) == 1:
            time.sleep(30)  # the server dies while this call is in flight
        return 200, {"delivery": len(keys)}

    functions.register("/e2e/crash_once", remember_then_answer)
    sluice = Sluice(tmp_path / "data", functions.url_template)
    try:
        fnf = sluice.client()
        flow = unique("crash_once")
        create(fnf, flow, task_flow(flow, "crash_once"))
        fnf.start_execution(m.StartExecutionRequest(flow_name=flow, execution_name="once", input="{}"))
        deadline = time.monotonic() + 10
        while not keys and time.monotonic() < deadline:
            time.sleep(0.02)
        sluice.kill9()
        sluice.start()
        done = fnf.describe_execution(
            m.DescribeExecutionRequest(flow_name=flow, execution_name="once", wait_time_seconds=20)).body
        assert done.status == "Succeeded" and json.loads(done.output) == {"delivery": 2}
        assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    finally:
        sluice.stop()
