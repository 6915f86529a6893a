"""The AWS SDK for JavaScript (`@aws-sdk/client-sfn`, from npm, run by Node) against a real
`sluice serve`: `tests/e2e/js/sfn.test.mjs` (Node's test runner) creates, starts, describes,
stops and reads histories with it. `./scripts/test` installs the package (`npm ci` in
`tests/e2e/js`); without Node or the package the test says so and is skipped.
"""

import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import KEY_ID, KEY_SECRET

JS = pathlib.Path(__file__).parent / "js"


def test_the_javascript_sdk_creates_starts_describes_stops_and_reads_histories(sluice):
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    if not (JS / "node_modules" / "@aws-sdk" / "client-sfn").is_dir():
        pytest.skip("@aws-sdk/client-sfn is not installed: run `npm ci` in tests/e2e/js")
    env = dict(os.environ, SLUICE_ENDPOINT=sluice.endpoint, SLUICE_KEY_ID=KEY_ID, SLUICE_KEY_SECRET=KEY_SECRET)
    run = subprocess.run([node, "--test", "sfn.test.mjs"], cwd=JS, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 5" in run.stdout, run.stdout
