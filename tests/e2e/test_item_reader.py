"""A distributed Map's items read from a bucket and its results written to one, through the
official CloudFlow SDK and boto3, against a `sluice serve` whose `[buckets]` keeps
`example-bucket` in a local folder (a copy of `crates/cli/tests/data/buckets/example-bucket`).

Source: the definitions of `crates/cli/tests/data/buckets/` (each one's page in its README):
AWS's "ItemReader (Map)" and "ResultWriter (Map)" pages, CloudFlow's "Distributed mode" page.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from alibabacloud_fnf20190315 import models as m

from conftest import Sluice
from test_cloudflow import create, describe, start, unique
from test_stepfunctions import ROLE, finished

BUCKETS = Path(__file__).resolve().parents[2] / "crates/cli/tests/data/buckets"


@pytest.fixture(scope="module")
def bucket(tmp_path_factory):
    folder = tmp_path_factory.mktemp("buckets") / "example-bucket"
    shutil.copytree(BUCKETS / "example-bucket", folder)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions, bucket):
    directory = tmp_path_factory.mktemp("sluice-buckets")
    config = directory / "sluice.toml"
    config.write_text(f'[buckets]\n"example-bucket" = {json.dumps(str(bucket))}\n')
    server = Sluice(directory / "data", functions.url_template, config=config)
    yield server
    server.stop()


def definition(file, name=None):
    text = (BUCKETS / file).read_text()
    return re.sub(r"(?m)^Name: .*$", f"Name: {name}", text, count=1) if name else text


def read_json(path):
    return json.loads(Path(path).read_text())


def test_cloudflow_reads_a_csv_object_and_writes_the_results_to_the_bucket(server, bucket):
    fnf = server.client()
    flow = unique("csv_reader")
    create(fnf, flow, definition("cloudflow-csv-reader.yaml", flow))
    start(fnf, flow, "parent")
    done = describe(fnf, flow, "parent", wait=20)
    assert done.status == "Succeeded", done.output
    details = json.loads(done.output)["ResultWriterDetails"]
    assert details["Bucket"] == "example-bucket"
    manifest = read_json(bucket / details["Key"])
    assert manifest["DestinationBucket"] == "example-bucket" and manifest["ResultFiles"]["FAILED"] == []
    records = read_json(bucket / manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    assert [json.loads(r["Output"]) for r in records] == [{"movie": "307"}, {"movie": "481"}]
    # MaxItems 2: two children of the three rows, each an execution of its map run.
    events = fnf.get_execution_history(
        m.GetExecutionHistoryRequest(flow_name=flow, execution_name="parent", limit=1000)
    ).body.events
    started = [e for e in events if e.type == "MapRunStarted"]
    run = json.loads(started[0].event_detail)["output"]["MapRunName"]
    assert run in details["Key"]
    kids = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, map_run_name=run, limit=100)).body.executions
    assert sorted(k.status for k in kids) == ["Succeeded", "Succeeded"]


def test_cloudflow_a_traversal_out_of_the_bucket_fails_the_map(server, bucket):
    fnf = server.client()
    flow = unique("traversal")
    create(fnf, flow, definition("traversal.yaml", flow))
    start(fnf, flow, "parent")
    done = describe(fnf, flow, "parent", wait=20)
    assert done.status == "Failed"
    events = fnf.get_execution_history(
        m.GetExecutionHistoryRequest(flow_name=flow, execution_name="parent", limit=1000)
    ).body.events
    failed = [json.loads(e.event_detail) for e in events if e.type == "TaskFailed"]
    assert failed and "refused" in json.dumps(failed), failed
    assert "root:" not in json.dumps([e.event_detail for e in events])


def test_step_functions_reads_a_csv_object_and_writes_a_manifest(server, bucket):
    sfn = server.stepfunctions()
    arn = sfn.create_state_machine(
        name=unique("csv"), definition=(BUCKETS / "asl-csv-reader.json").read_text(), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    done = finished(sfn, execution, timeout=20)
    assert done["status"] == "SUCCEEDED", done
    details = json.loads(done["output"])["ResultWriterDetails"]
    assert details["Bucket"] == "example-bucket" and details["Key"].startswith("csvProcessJobs/")
    manifest = read_json(bucket / details["Key"])
    records = read_json(bucket / manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    assert [json.loads(r["Output"]) for r in records] == [
        {"movie": "307", "rating": "3.5"},
        {"movie": "481", "rating": "3.5"},
        {"movie": "1091", "rating": "1.5"},
    ]
    assert all(r["Status"] == "SUCCEEDED" for r in records)
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    scheduled = [e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled"]
    assert [(s["resourceType"], s["resource"]) for s in scheduled] == [("s3", "getObject"), ("s3", "putObject")]
    assert "MapRunStarted" in [e["type"] for e in events]


def test_step_functions_lists_objects_and_reads_json_lines(server):
    sfn = server.stepfunctions()
    arn = sfn.create_state_machine(
        name=unique("list"), definition=(BUCKETS / "asl-list-objects.json").read_text(), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"prefix": "processData/"}))
    done = finished(sfn, execution["executionArn"], timeout=20)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"key": "processData/images/n02085620_10074.jpg", "size": 4}]
    arn = sfn.create_state_machine(
        name=unique("jsonl"), definition=(BUCKETS / "asl-jsonl-reader.json").read_text(), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"key": "items.jsonl", "max": 3}))
    done = finished(sfn, execution["executionArn"], timeout=20)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == ["A", "B", "C"]


def test_step_functions_a_missing_object_is_an_item_reader_failure(server):
    sfn = server.stepfunctions()
    arn = sfn.create_state_machine(
        name=unique("missing"), definition=(BUCKETS / "asl-jsonl-reader.json").read_text(), roleArn=ROLE
    )["stateMachineArn"]
    for key in ["none.jsonl", "../../etc/passwd"]:
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"key": key, "max": 3}))
        done = finished(sfn, execution["executionArn"], timeout=20)
        assert done["status"] == "FAILED", done
        assert done["error"] == "States.ItemReaderFailed", done
        assert key in done["cause"], done
