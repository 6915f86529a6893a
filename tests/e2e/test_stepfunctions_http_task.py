"""AWS's HTTP Task (`arn:aws:states:::http:invoke`) through boto3 against a real
`sluice serve`, calling a real HTTP server on 127.0.0.1.

Source: the Developer Guide, "Call HTTPS APIs in Step Functions workflows"
(https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html): the fields
`ApiEndpoint`, `Method`, `Authentication`, `Headers`, `QueryParameters`, `RequestBody`,
`Transform`; the task's result `{Headers, ResponseBody, StatusCode, StatusText}`; a non-2xx
answer failing the task with `States.Http.StatusCode.<code>`.
"""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from test_cloudflow import unique
from test_stepfunctions import create, finished

CONNECTION = "arn:aws:events:us-east-1:123456789012:connection/Api/0f0e0d0c-0b0a-0908-0706-050403020100"


class Api:
    """An HTTP API that records each request and answers by path."""

    def __init__(self):
        self.requests = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self):
                length = int(self.headers.get("Content-Length", 0))
                url = urllib.parse.urlsplit(self.path)
                api.requests.append({
                    "method": self.command, "path": url.path, "query": urllib.parse.parse_qs(url.query),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": self.rfile.read(length).decode(),
                })
                status, body = (404, {"message": "no such order"}) if url.path == "/missing" else (201, {"id": 7})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Request-Count", str(len(api.requests)))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def api():
    server = Api()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def sfn(sluice):
    return sluice.stepfunctions()


def machine(parameters, **task):
    states = {"Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Parameters": parameters,
                       "End": True, **task}}
    if "Catch" in task:
        states["Caught"] = {"Type": "Pass", "End": True}
    return json.dumps({"StartAt": "Call", "States": states})


def test_a_post_sends_headers_query_and_json_body_and_returns_awss_result(sfn, api):
    arn = create(sfn, machine({
        "ApiEndpoint": f"{api.url}/orders",
        "Method": "POST",
        "Authentication": {"ConnectionArn": CONNECTION},
        "Headers": {"X-Team": "billing"},
        "QueryParameters": {"dryRun": "false", "tags": ["a", "b"]},
        "RequestBody": {"item.$": "$.item", "count": 2},
    }))
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"item": "book"}))["executionArn"]
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert (output["StatusCode"], output["StatusText"], output["ResponseBody"]) == (201, "Created", {"id": 7})
    assert output["Headers"]["x-request-count"] == [str(len(api.requests))]
    sent = api.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/orders")
    assert sent["query"] == {"dryRun": ["false"], "tags": ["a", "b"]}
    assert sent["headers"]["x-team"] == "billing"
    assert sent["headers"]["content-type"].startswith("application/json")
    assert json.loads(sent["body"]) == {"item": "book", "count": 2}
    events = sfn.get_execution_history(executionArn=execution)["events"]
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("http", "invoke")


def test_a_non_2xx_answer_fails_with_its_status_code_to_catch(sfn, api):
    arn = create(sfn, machine({"ApiEndpoint": f"{api.url}/missing", "Method": "GET",
                               "Authentication": {"ConnectionArn": CONNECTION}},
                              Catch=[{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "Caught"}]))
    done = finished(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    caught = json.loads(done["output"])
    assert caught["Error"] == "States.Http.StatusCode.404"
    assert json.loads(caught["Cause"])["ResponseBody"] == {"message": "no such order"}
    assert api.requests[-1]["method"] == "GET"

    uncaught = create(sfn, machine({"ApiEndpoint": f"{api.url}/missing", "Method": "GET"}))
    failed = finished(sfn, sfn.start_execution(stateMachineArn=uncaught)["executionArn"])
    assert (failed["status"], failed["error"]) == ("FAILED", "States.Http.StatusCode.404")


def test_a_url_encoded_body_and_jsonata_arguments(sfn, api):
    definition = json.dumps({"QueryLanguage": "JSONata", "StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Arguments": {
            "ApiEndpoint": "{% $states.input.base & '/forms' %}",
            "Method": "PUT",
            "RequestBody": {"name": "{% $states.input.name %}", "ids": [1, 2]},
            "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}},
        },
        "Output": "{% $states.result.StatusCode %}",
        "End": True,
    }}})
    arn = create(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"base": api.url, "name": "Ann Lee"}))
    done = finished(sfn, execution["executionArn"])
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", 201)
    sent = api.requests[-1]
    assert (sent["method"], sent["path"]) == ("PUT", "/forms")
    assert sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(sent["body"]) == {"name": ["Ann Lee"], "ids[]": ["1", "2"]}


def test_a_request_without_its_endpoint_fails_the_task(sfn):
    arn = create(sfn, machine({"Method": "GET"}))
    failed = finished(sfn, sfn.start_execution(stateMachineArn=arn, name=unique("no_endpoint"))["executionArn"])
    assert (failed["status"], failed["error"]) == ("FAILED", "States.Runtime")
    assert "ApiEndpoint" in failed["cause"]


def test_test_state_at_trace_shows_the_request_and_the_answer(sfn, api):
    """API reference, TestState: `inspectionLevel` TRACE "shows the HTTP request and response for
    an HTTP Task" (`InspectionData.request`, `.response`)."""
    state = json.dumps({"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
                        "Parameters": {"ApiEndpoint": f"{api.url}/orders", "Method": "POST",
                                       "Authentication": {"ConnectionArn": CONNECTION},
                                       "RequestBody": {"item.$": "$.item"}}})
    traced = sfn.test_state(definition=state, input=json.dumps({"item": "pen"}), inspectionLevel="TRACE",
                            roleArn="arn:aws:iam::123456789012:role/test")
    assert traced["status"] == "SUCCEEDED", traced
    request, response = traced["inspectionData"]["request"], traced["inspectionData"]["response"]
    assert (request["protocol"], request["method"], request["url"]) == ("http", "POST", f"{api.url}/orders")
    assert json.loads(request["body"]) == {"item": "pen"}
    assert (response["statusCode"], response["statusMessage"], json.loads(response["body"])) == ("201", "Created", {"id": 7})
    assert api.requests[-1]["body"] == request["body"]
    debug = sfn.test_state(definition=state, input=json.dumps({"item": "pen"}), inspectionLevel="DEBUG",
                           roleArn="arn:aws:iam::123456789012:role/test")
    assert "request" not in debug["inspectionData"]
