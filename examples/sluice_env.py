"""Where the examples find sluice: the variables `sluice serve` itself reads, with its
development defaults (`sluice serve` with no configuration listens on 127.0.0.1:8080)."""

import os
import time

ENDPOINT = os.environ.get("SLUICE_ENDPOINT", "http://127.0.0.1:8080")
ACCESS_KEY_ID = os.environ.get("SLUICE_ACCESS_KEY_ID", "sluice-dev-key")
ACCESS_KEY_SECRET = os.environ.get("SLUICE_ACCESS_KEY_SECRET", "sluice-dev-secret")
PROJECT_ID = os.environ.get("SLUICE_PROJECT_ID", "0000000000000000000000000000dev0")


def huawei(client_class):
    """A Huawei Cloud SDK client (FunctionGraph, DataArts, GES) signing with AK/SK."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials

    credentials = BasicCredentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET, PROJECT_ID)
    return client_class.new_builder().with_credentials(credentials).with_endpoints([ENDPOINT]).build()


def wait_until(what, check, timeout=30):
    """Polls `check` until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.1)
    return value


def expect(what, actual, wanted):
    print(f"{what}: {actual}")
    if actual != wanted:
        raise SystemExit(f"{what} is {actual!r}, expected {wanted!r}")
