"""DataArts Factory jobs with the official SDK (`pip install huaweicloudsdkdgc`): create a job,
run it once, watch its instance run, stop it, read its history. The job's RESTAPI node calls a
slow endpoint this script serves on 127.0.0.1, so there is something running to stop."""

import json
import pathlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdgc import v1 as dgc

import sluice_env as env

JOB = json.loads((pathlib.Path(__file__).parent / "dataarts_job.json").read_text())


class Slow(BaseHTTPRequestHandler):
    """Answers after five minutes (sluice closes the connection first, on stop)."""

    def do_POST(self):
        time.sleep(300)

    def log_message(self, *args):
        pass


def job_info(job, url):
    """The job file as the SDK's model classes, with the RESTAPI node pointed at `url`."""
    def node(spec):
        properties = [dgc.ModelProperty(name=p["name"], value=url if p["name"] == "url" else p["value"])
                      for p in spec.get("properties", [])]
        return dgc.Node(name=spec["name"], type=spec["type"], location=dgc.Location(**spec["location"]),
                        pre_node_name=spec.get("preNodeName", []), properties=properties)
    return dgc.JobInfo(name=job["name"], process_type=job["processType"], schedule=dgc.Schedule(**job["schedule"]),
                       nodes=[node(n) for n in job["nodes"]])


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    info = job_info(JOB, f"http://127.0.0.1:{server.server_address[1]}/slow")

    jobs = env.huawei(dgc.DgcClient)
    name = JOB["name"]
    try:
        jobs.create_job(dgc.CreateJobRequest(body=info))
    except ClientRequestException:  # it exists already (an earlier run): update it
        jobs.update_job(dgc.UpdateJobRequest(job_name=name, body=info))

    instance = jobs.run_once(dgc.RunOnceRequest(job_name=name, body=dgc.StartJobReq(job_params=[]))).instance_id
    print(f"instance id: {instance}")

    def show():
        return jobs.show_job_instance(dgc.ShowJobInstanceRequest(job_name=name, instance_id=str(instance)))

    def nodes():
        return {n.node_name: n.status for n in show().nodes}

    env.wait_until("the call node", lambda: nodes().get("call") == "running")
    env.expect("nodes while it runs", nodes(), {"hello": "success", "call": "running"})

    jobs.stop_job_instance(dgc.StopJobInstanceRequest(job_name=name, instance_id=str(instance)))
    env.expect("after stop", show().status, "manual-stop")

    listed = jobs.list_job_instances(dgc.ListJobInstancesRequest(job_name=name, limit=10)).instances
    for run in listed:
        print(f"  instance {run.instance_id}: {run.status}")
    env.expect("this run in the list", any(run.instance_id == instance for run in listed), True)


if __name__ == "__main__":
    main()
