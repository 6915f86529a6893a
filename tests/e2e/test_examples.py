"""The scripts of `examples/` (one per dialect, each with the vendor's official SDK) run against
a real `sluice serve`, twice each: the second run finds what the first created, as a newcomer
running an example again would."""

import os
import subprocess
import sys

import pytest

from conftest import KEY_ID, KEY_SECRET, PROJECT_ID, ROOT

# Each script and a line its output must have: the state it reached after the stop.
EXAMPLES = {
    "cloudflow.py": "last event: ExecutionStopped",
    "functiongraph_v2.py": "after terminate: cancel",
    "functiongraph_v1.py": "after stop: ABORTED",
    "dataarts.py": "after stop: manual-stop",
    "ges.py": "graph status after the stop job: 900",
}


@pytest.mark.parametrize("script", EXAMPLES)
def test_an_example_runs_to_its_stop(sluice, script):
    env = dict(os.environ, SLUICE_ENDPOINT=sluice.endpoint, SLUICE_ACCESS_KEY_ID=KEY_ID,
               SLUICE_ACCESS_KEY_SECRET=KEY_SECRET, SLUICE_PROJECT_ID=PROJECT_ID)
    for _ in range(2):
        done = subprocess.run([sys.executable, str(ROOT / "examples" / script)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert EXAMPLES[script] in done.stdout.splitlines(), done.stdout
