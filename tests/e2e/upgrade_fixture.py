"""The upgrade test's fixture: a database written by an older `sluice serve`, holding work in
flight, and the script that writes it.

    SLUICE_BIN=/path/to/older/sluice .venv/bin/python tests/e2e/upgrade_fixture.py
    SLUICE_BIN=... SLUICE_TEST_POSTGRES=postgres://... .venv/bin/python tests/e2e/upgrade_fixture.py

The first writes `data/upgrade/sluice.db` (an SQLite data directory's database, vacuumed); the
second `data/upgrade/postgres.sql` (`pg_dump` of a PostgreSQL database). Each holds, when the
older server stopped (SIGTERM, as before an upgrade):

- `upgrade_wait/waiting`: its first call answered, then a Map whose two iterations sleep in a
  60-second Wait (long overdue when the test runs, so the timers fire at once);
- `upgrade_call/in_flight`: a task call in flight to a function that never answered (the
  function server went away with the older server);
- the DataArts job `upgrade_dag`, one instance half run: node `extract` done, `transform`
  running (its call in flight, as above), `load` waiting for it.

No function URL is stored: calls are resolved at call time from the server's `--function-url`
and `[functions]` configuration, so the test points them at its own function server.
`test_upgrade.py` opens the database with the server under test and checks that every execution
finishes correctly.
"""

import json
import pathlib
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkdgc import v1 as dgc

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "data" / "upgrade"
SQLITE_FIXTURE = DATA / "sluice.db"
POSTGRES_FIXTURE = DATA / "postgres.sql"

WAIT_FLOW = "upgrade_wait"
WAIT_EXECUTION = "waiting"
WAIT_INPUT = {"items": ["a", "b"]}
CALL_FLOW = "upgrade_call"
CALL_EXECUTION = "in_flight"
CALL_INPUT = {"order": 7}
DAG_JOB = "upgrade_dag"
WORKSPACE = "ws-upgrade"
DAG_NODES = ("extract", "transform", "load")

# Function paths (`/{service}/{function}` under `--function-url`), and the endpoint path of the
# DataArts node type `HiveSQL` (`[functions] "DLF:HiveSQL"`).
BEFORE = "/upgrade/before"
AFTER = "/upgrade/after"
SLOW = "/upgrade/slow"
HIVE = "/dlf/hive"
# Fixed so the stored executions never time out (the default is a year after their start).
STANDARD_TIMEOUT_SECS = 100 * 365 * 24 * 3600


def task(name, function, body, next_line):
    return f"""  - Type: Task
    Name: {name}
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: acs:fc:::services/upgrade/functions/{function}
      body:
{body}
    {next_line}
"""


WAIT_DEFINITION = f"""Type: StateMachine
Name: {WAIT_FLOW}
SpecVersion: v1
StartAt: Before
States:
{task("Before", "before", "        items.$: $Input.items", "Next: Each")}  - Type: Map
    Name: Each
    ItemsPath: $Input.items
    Processor:
      StartAt: Pause
      States:
        - Type: Wait
          Name: Pause
          Seconds: 60
          End: true
    Next: After
{task("After", "after", "        slept.$: $Input", "End: true")}"""

CALL_DEFINITION = f"""Type: StateMachine
Name: {CALL_FLOW}
SpecVersion: v1
StartAt: Call
States:
{task("Call", "slow", "        order.$: $Input.order", "End: true")}"""


def hive_node(name, after=()):
    return dgc.Node(
        name=name,
        type="HiveSQL",
        location=dgc.Location(x="0", y="0"),
        pre_node_name=list(after),
        properties=[dgc.ModelProperty(name="sql", value=f"insert into {name} select 1")],
    )


DAG_DEFINITION = [
    hive_node("extract"),
    hive_node("transform", after=["extract"]),
    hive_node("load", after=["transform"]),
]


def config_text(function_port):
    """The `--config` file both servers run with: the DataArts node endpoint and the limits."""
    return f"""[functions]
"DLF:HiveSQL" = "http://127.0.0.1:{function_port}{HIVE}"

[limits]
standard_timeout_secs = {STANDARD_TIMEOUT_SECS}
"""


def state_of(call):
    """The state (DataArts: node) a call is made for, from the function protocol's header."""
    return {k.lower(): v for k, v in call.headers.items()}.get("x-sluice-state")


def wait_until(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"the older server did not get there: {what}")


def make(workdir):
    # Imported here: conftest reads SLUICE_BIN (the older binary) when imported.
    from conftest import POSTGRES, Sluice
    from functions import FunctionServer, answer, echo, hang

    functions = FunctionServer()
    functions.register(BEFORE, echo())
    functions.register(SLOW, hang(600))

    def hive(call, conn):
        if state_of(call) == "transform":
            return hang(600)(call, conn)
        return 200, {"rows": 1}

    functions.register(HIVE, hive)
    config = workdir / "sluice.toml"
    config.write_text(config_text(functions.port))
    server = Sluice(workdir / "data", functions.url_template, config=config)
    try:
        fnf = server.client()
        for name, definition in ((WAIT_FLOW, WAIT_DEFINITION), (CALL_FLOW, CALL_DEFINITION)):
            fnf.create_flow(m.CreateFlowRequest(name=name, definition=definition, description="upgrade", type="FDL"))
        dataarts = server.huawei(dgc.DgcClient)
        info = dgc.JobInfo(name=DAG_JOB, nodes=DAG_DEFINITION, process_type="BATCH",
                           schedule=dgc.Schedule(type="EXECUTE_ONCE"))
        dataarts.create_job(dgc.CreateJobRequest(workspace=WORKSPACE, body=info))

        fnf.start_execution(m.StartExecutionRequest(flow_name=CALL_FLOW, execution_name=CALL_EXECUTION,
                                                    input=json.dumps(CALL_INPUT)))
        dataarts.run_once(dgc.RunOnceRequest(workspace=WORKSPACE, job_name=DAG_JOB,
                                             body=dgc.StartJobReq(job_params=[])))
        fnf.start_execution(m.StartExecutionRequest(flow_name=WAIT_FLOW, execution_name=WAIT_EXECUTION,
                                                    input=json.dumps(WAIT_INPUT)))

        def pauses():
            events = fnf.get_execution_history(m.GetExecutionHistoryRequest(
                flow_name=WAIT_FLOW, execution_name=WAIT_EXECUTION)).body.events
            return sum(1 for e in events if e.type == "StepEntered" and e.step_name == "Pause")

        wait_until(lambda: pauses() == 2, "both iterations in their Wait")
        wait_until(lambda: functions.calls_to(SLOW), "the call in flight")
        wait_until(lambda: any(state_of(c) == "transform" for c in functions.calls_to(HIVE)),
                   "the Dag's second node running")
        time.sleep(0.5)  # every step above committed before the stop
    finally:
        server.stop()
        functions.close()
    DATA.mkdir(parents=True, exist_ok=True)
    if POSTGRES:
        with POSTGRES_FIXTURE.open("w") as out:
            subprocess.run(["pg_dump", "--no-owner", "--no-privileges", server.database], stdout=out, check=True)
        print(f"wrote {POSTGRES_FIXTURE}")
    else:
        SQLITE_FIXTURE.unlink(missing_ok=True)
        with sqlite3.connect(workdir / "data" / "sluice.db") as db:
            db.execute("VACUUM INTO ?", (str(SQLITE_FIXTURE),))
        print(f"wrote {SQLITE_FIXTURE}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    directory = pathlib.Path(tempfile.mkdtemp())
    try:
        make(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
