"""Regenerates huawei_signatures.json: requests signed by the official huaweicloudsdkcore
Signer (pip install huaweicloudsdkcore), the vectors the Rust verifier is tested against.

    python huawei_signatures.py > huawei_signatures.json
"""

import json

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

AK, SK = "AKTEST0000000000", "sk-test-secret-0123456789"
DATE = "20261122T060353Z"

CASES = [
    ("GET", "/v1.0/0123456789abcdef0123456789abcdef/graphs", [("offset", 0), ("limit", 10)], {}, b""),
    ("POST", "/v1.0/0123456789abcdef0123456789abcdef/graphs/g-1/action", [("action_id", "stop")], {}, b""),
    ("POST", "/v1/0123456789abcdef0123456789abcdef/jobs/job_batch/instances/34765/stop", [],
     {"workspace": "ws-1"}, b""),
    ("POST", "/v2/0123456789abcdef0123456789abcdef/fgs/workflows", [],
     {}, json.dumps({"name": "wf", "states": [{"id": "s", "type": "End"}]}).encode()),
    ("GET", "/v2/0123456789abcdef0123456789abcdef/fgs/workflow-statistic/urn%3Afss%3Acn-north-4%3Ap%3Aworkflow%3Adefault%3Awf%3Alatest",
     [("period", 5), ("start_time", "2026-01-01 00:00:00")], {}, b""),
    ("GET", "/v1/p/jobs", [("jobName", "a b"), ("jobName", "a+b"), ("empty", ""), ("z", "ünïcode/~*")],
     {"X-Custom": "  padded  "}, b""),
    ("PUT", "/v2/p/fgs/workflows/wf-1/", [], {}, "{\"name\": \"中文\"}".encode()),
]


def sign(method, path, query, headers, body):
    all_headers = {"Content-Type": "application/json", "X-Project-Id": "0123456789abcdef0123456789abcdef",
                   "X-Sdk-Date": DATE, "Host": "127.0.0.1:8080"}
    all_headers.update(headers)
    request = SdkRequest(method=method, schema="http", host="127.0.0.1:8080", resource_path=path,
                         query_params=list(query), header_params=dict(all_headers), body=body)
    Signer(BasicCredentials(AK, SK)).sign(request)
    raw_query = request.uri.split("?", 1)[1] if "?" in request.uri else ""
    return {
        "method": method,
        "path": path,
        "query": raw_query,
        "headers": {k: v for k, v in request.header_params.items()},
        "body": body.decode("utf-8"),
    }


print(json.dumps({"access": AK, "secret": SK, "date": DATE,
                  "requests": [sign(*case) for case in CASES]}, indent=2, ensure_ascii=False))
