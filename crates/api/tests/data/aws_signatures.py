"""Regenerates aws_signatures.json: Step Functions requests signed by botocore's SigV4Auth (pip
install botocore), the vectors the Rust verifier is tested against.

    python aws_signatures.py > aws_signatures.json
"""

import datetime
import json
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS, SECRET = "AKIDTEST0000000000", "sk-test/secret+0123456789"
DATE = datetime.datetime(2026, 11, 22, 6, 3, 53, tzinfo=datetime.timezone.utc)

CASES = [
    ("us-east-1", "ListStateMachines", "/", "", {}),
    ("eu-west-1", "StartExecution", "/", "",
     {"stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:m", "input": "{\"é\": 1}"}),
    ("ap-south-2", "DescribeExecution", "/", "a=1&b=x%20y",
     {"executionArn": "arn:aws:states:ap-south-2:123456789012:execution:m:e"}),
]


def sign(region, action, path, query, body):
    data = json.dumps(body).encode()
    url = f"http://127.0.0.1:8080{path}" + (f"?{query}" if query else "")
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AWSStepFunctions.{action}",
        "User-Agent": "vectors",
    }
    request = AWSRequest(method="POST", url=url, data=data, headers=headers)
    with mock.patch("botocore.auth.get_current_datetime", return_value=DATE):
        SigV4Auth(Credentials(ACCESS, SECRET), "states", region).add_auth(request)
    prepared = request.prepare()
    return {
        "method": "POST",
        "path": path,
        "query": query,
        "headers": {k: v for k, v in prepared.headers.items()} | {"Host": "127.0.0.1:8080"},
        "body": data.decode(),
        "region": region,
    }


print(json.dumps({
    "access": ACCESS,
    "secret": SECRET,
    "date": DATE.strftime("%Y%m%dT%H%M%SZ"),
    "requests": [sign(*case) for case in CASES],
}, indent=2, ensure_ascii=False))
