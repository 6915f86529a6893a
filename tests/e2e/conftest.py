"""Fixtures: a real `sluice serve` on a free port, the official CloudFlow SDK pointed at it, and
function servers on 127.0.0.1."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import boto3
import botocore.config
import pytest
from alibabacloud_fnf20190315.client import Client
from alibabacloud_tea_openapi.models import Config
from huaweicloudsdkcore.auth.credentials import BasicCredentials

from functions import FunctionServer

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("SLUICE_BIN", str(ROOT / "target" / "debug" / "sluice"))
KEY_ID = "e2e-key"
KEY_SECRET = "e2e-secret"
PROJECT_ID = "0e2e0000000000000000000000000001"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Set (by ./scripts/test) to a throwaway PostgreSQL server: every server of the suite then
# stores its data in a fresh database of it instead of SQLite.
POSTGRES = os.environ.get("SLUICE_TEST_POSTGRES")

# A restarted node is a new node: it takes over its predecessor's work once that one's lease
# ran out. A short lease keeps the crash tests quick.
LEASE_TIMEOUT = "2s"


# The AWS CLI of tests/e2e/requirements.txt, installed beside the Python running the tests.
AWS_CLI = pathlib.Path(os.sys.executable).parent / "aws"


# Set (by ./scripts/test) to the directory of that server, so that tests of database faults can
# crash and restart it.
POSTGRES_DIR = os.environ.get("SLUICE_TEST_POSTGRES_DIR")


def postgres_server(command):
    """`restart`, `halt` or `resume` the throwaway PostgreSQL server (immediate shutdowns: a
    crash, as far as the nodes can tell)."""
    subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), command, POSTGRES_DIR], check=True)


def fresh_database():
    """A new empty database on the throwaway PostgreSQL server, as a URL."""
    name = f"sluice_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", POSTGRES, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


class Sluice:
    """One `sluice serve` process with its own data directory (or PostgreSQL database)."""

    def __init__(self, data_dir, function_url, config=None, database=None, log=None, env=None):
        """`log`: a level (`info`, `debug`, or a filter such as `warn,sluice_api::http=debug`) to
        keep the server's log at, as JSON lines in `log_path`, across restarts; without it the
        server logs warnings to the test's stderr. `env`: more environment variables of the
        server process."""
        self.data_dir = data_dir
        self.env = env or {}
        self.function_url = function_url
        self.config = config
        self.database = database or (fresh_database() if POSTGRES else None)
        self.port = free_port()
        self.process = None
        self.log = log
        self.log_path = pathlib.Path(f"{data_dir}.log") if log else None
        self.start()

    def log_events(self):
        """The server's log lines (JSON), each as its fields plus `level`."""
        events = []
        for line in self.log_path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line of a process killed mid-write
            events.append(dict(record.get("fields", {}), level=record.get("level")))
        return events

    def start(self):
        env = dict(os.environ)
        env.update(
            SLUICE_ACCESS_KEY_ID=KEY_ID,
            SLUICE_ACCESS_KEY_SECRET=KEY_SECRET,
            SLUICE_PROJECT_ID=PROJECT_ID,
            SLUICE_LOG=self.log or "warn",
        )
        env.update(self.env)
        if self.log:
            env["SLUICE_LOG_FORMAT"] = "json"
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(proxy, None)
        args = [
            BINARY,
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--data-dir",
            str(self.data_dir),
            "--function-url",
            self.function_url,
        ]
        if self.config:
            args += ["--config", str(self.config)]
        if self.database:
            args += ["--database", self.database, "--lease-timeout", LEASE_TIMEOUT]
        # The start-up banner (stdout) is kept beside the data directory: tests read it.
        self.stdout = self.data_dir.parent / f"{self.data_dir.name}-{self.port}.stdout"
        stderr = open(self.log_path, "a") if self.log else None
        with open(self.stdout, "w") as stdout:
            self.process = subprocess.Popen(args, env=env, stdout=stdout, stderr=stderr)
        if stderr:
            stderr.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
            if self.process.poll() is not None:
                raise RuntimeError(f"sluice serve exited with {self.process.returncode}")
        raise RuntimeError("sluice serve did not become healthy")

    def banner(self):
        """What the server printed at start-up."""
        return self.stdout.read_text()

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def client(self, key_id=KEY_ID, secret=KEY_SECRET):
        config = Config(
            access_key_id=key_id,
            access_key_secret=secret,
            endpoint=f"127.0.0.1:{self.port}",
            protocol="http",
            region_id="cn-hangzhou",
            read_timeout=70_000,
        )
        return Client(config)


    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def huawei(self, client_class, key_id=KEY_ID, secret=KEY_SECRET, project_id=PROJECT_ID):
        """An official Huawei SDK client (GES, FunctionGraph, DataArts) pointed at this server
        with AK/SK credentials: every request is signed with SDK-HMAC-SHA256."""
        credentials = BasicCredentials(key_id, secret, project_id)
        return client_class.new_builder().with_credentials(credentials).with_endpoints([self.endpoint]).build()


    def aws(self, *args, key_id=KEY_ID, secret=KEY_SECRET, via_proxy=False, env=None):
        """`aws stepfunctions ARGS` (the AWS CLI from PyPI, beside this Python) pointed at this
        server; its answer as JSON when it succeeds, else the process (stderr names the error).
        `via_proxy`: through this server as an HTTP proxy, so that the CLI's `sync-` host
        prefix (StartSyncExecution) reaches it, as docs/stepfunctions.md tells users. `env`:
        more of the CLI's environment."""
        if not AWS_CLI.exists():
            pytest.skip("the AWS CLI (awscli, tests/e2e/requirements.txt) is not installed beside this Python")
        cli_env = dict(os.environ, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret,
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                       AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_MAX_ATTEMPTS="1", **(env or {}))
        for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
            cli_env.pop(name, None)
        if via_proxy:
            cli_env["HTTP_PROXY"] = self.endpoint
        run = subprocess.run([str(AWS_CLI), "stepfunctions", *args, "--endpoint-url", self.endpoint,
                              "--output", "json"], env=cli_env, capture_output=True, text=True, timeout=90)
        if run.returncode != 0:
            return run
        return json.loads(run.stdout) if run.stdout.strip() else {}

    def stepfunctions(self, key_id=KEY_ID, secret=KEY_SECRET, region="us-east-1", **config):
        """The official AWS SDK's Step Functions client (boto3) pointed at this server: every
        request is signed with Signature Version 4. No retries: a test sees each answer."""
        options = dict(retries={"total_max_attempts": 1}, inject_host_prefix=False)
        options.update(config)
        return boto3.client(
            "stepfunctions",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=botocore.config.Config(**options),
        )


@pytest.fixture(scope="session")
def functions():
    server = FunctionServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def sluice(tmp_path_factory, functions):
    server = Sluice(tmp_path_factory.mktemp("sluice-data"), functions.url_template)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fnf(sluice):
    return sluice.client()


# A second server with tenants from a `--config` file: two tenants with full keys, a read-only
# key of tenant A, and a tenant whose ListFlows is rate limited.
TENANT_A_KEY = ("tenant-a-admin", "tenant-a-secret")
TENANT_A_READONLY_KEY = ("tenant-a-reader", "tenant-a-reader-secret")
TENANT_B_KEY = ("tenant-b-admin", "tenant-b-secret")
THROTTLED_KEY = ("throttled-admin", "throttled-secret")
TENANT_A_PROJECT = "a0000000000000000000000000000001"
TENANT_B_PROJECT = "b0000000000000000000000000000002"

TENANTS_TOML = f"""
[[tenants]]
id = "tenant-a"
account_id = "1111111111111111"
project_id = "{TENANT_A_PROJECT}"

[[tenants.keys]]
id = "{TENANT_A_KEY[0]}"
secret = "{TENANT_A_KEY[1]}"
actions = ["fnf:*", "ges:*", "functiongraph:*", "dlf:*", "states:*"]

[[tenants.keys]]
id = "{TENANT_A_READONLY_KEY[0]}"
secret = "{TENANT_A_READONLY_KEY[1]}"
actions = ["fnf:DescribeExecution", "fnf:ListFlows", "states:DescribeExecution"]

[[tenants]]
id = "tenant-b"
account_id = "2222222222222222"
project_id = "{TENANT_B_PROJECT}"

[[tenants.keys]]
id = "{TENANT_B_KEY[0]}"
secret = "{TENANT_B_KEY[1]}"
actions = ["fnf:*", "ges:*", "functiongraph:*", "dlf:*", "states:*"]

[[tenants]]
id = "throttled"
account_id = "3333333333333333"
rate_limits = {{ "fnf:ListFlows" = {{ burst = 2, per_second = 1 }} }}

[[tenants.keys]]
id = "{THROTTLED_KEY[0]}"
secret = "{THROTTLED_KEY[1]}"
actions = ["fnf:*"]
"""


def configured_sluice(tmp_path_factory, functions, name, toml):
    """A server whose tenants come from a `--config` file holding `toml`."""
    directory = tmp_path_factory.mktemp(name)
    config = directory / "sluice.toml"
    config.write_text(toml)
    return Sluice(directory / "data", functions.url_template, config=config)


@pytest.fixture(scope="session")
def tenant_sluice(tmp_path_factory, functions):
    server = configured_sluice(tmp_path_factory, functions, "sluice-tenants", TENANTS_TOML)
    yield server
    server.stop()
