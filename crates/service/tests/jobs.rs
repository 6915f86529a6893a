//! Background jobs against a real SQLite store and runtime: a closing job stops every running
//! execution and keeps new ones out; a job left unfinished by a crash is resumed.

mod support;

use std::time::Duration;

use sluice_engine::Status;
use sluice_service::{
    Caller, DEFAULT_LEASE, Dialect, FlowSpec, FlowState, Service, ServiceError, StartRequest,
};
use sluice_store::sqlite::SqliteStore;
use sluice_store::{
    ExecutionFilter, ExecutionMode, ExecutionStore, FlowStore, JobFilter, JobId, JobKind,
    JobRecord, JobStatus, JobStore,
};

const WAITING: &str = "Type: StateMachine
Name: NAME
SpecVersion: v1
StartAt: Sleep
States:
  - Type: Wait
    Name: Sleep
    Seconds: 3600
    End: true
";

async fn waiting_flow(service: &Service, caller: &Caller, name: &str, executions: usize) {
    let spec = FlowSpec {
        name: name.into(),
        definition: WAITING.replace("NAME", name),
        dialect: Dialect::CloudFlow,
        description: String::new(),
        role_arn: None,
        mode: ExecutionMode::Standard,
        attributes: serde_json::Value::Null,
        tag: None,
    };
    service.create_flow(caller, spec).await.expect("create");
    for i in 0..executions {
        let start = StartRequest {
            flow: name.into(),
            name: Some(format!("e{i}")),
            input: None,
            qualifier: None,
            context_ids: None,
            test_case: None,
        };
        service.start_execution(caller, start).await.expect("start");
    }
}

async fn statuses(service: &Service, caller: &Caller, flow: &str) -> Vec<Status> {
    let (_, executions) = service
        .list_executions(caller, flow, &ExecutionFilter::default(), None, 1000)
        .await
        .expect("list");
    executions.iter().map(|e| e.status).collect()
}

async fn finished(service: &Service, caller: &Caller, id: &str) -> sluice_service::views::JobView {
    for _ in 0..500 {
        let job = service.job(caller, id).await.expect("job");
        if job.status.is_finished() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_flow_stops_every_execution_and_refuses_new_ones_until_reopened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (service, caller) = support::service(dir.path()).await;
    waiting_flow(&service, &caller, "f", 120).await;
    let job = service.close_flow(&caller, "f").await.expect("close");
    let job = finished(&service, &caller, job.id.as_str()).await;
    assert_eq!(
        (job.status, job.total, job.done),
        (JobStatus::Succeeded, 120, 120)
    );
    assert!(
        statuses(&service, &caller, "f")
            .await
            .iter()
            .all(|s| *s == Status::Stopped)
    );
    assert_eq!(
        service.flow_state(&caller, "f").await.expect("state").1,
        FlowState::Closed
    );
    let start = StartRequest {
        flow: "f".into(),
        name: Some("late".into()),
        input: None,
        qualifier: None,
        context_ids: None,
        test_case: None,
    };
    assert!(matches!(
        service.start_execution(&caller, start.clone()).await,
        Err(ServiceError::FlowClosed(_))
    ));
    assert!(matches!(
        service.close_flow(&caller, "f").await,
        Err(ServiceError::FlowNotOpen(_))
    ));
    let reopen = service.open_flow(&caller, "f").await.expect("open");
    finished(&service, &caller, reopen.id.as_str()).await;
    service
        .start_execution(&caller, start)
        .await
        .expect("starts again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_interrupted_by_a_crash_is_finished_by_the_next_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (service, caller) = support::service(dir.path()).await;
        waiting_flow(&service, &caller, "doomed", 30).await;
    }
    // What a process that died between recording its delete job and running it left behind.
    let store = SqliteStore::open(&dir.path().join("sluice.db")).expect("open");
    let tenant = sluice_store::TenantId::new("t");
    let flow = store
        .get_flow(&tenant, &sluice_store::FlowName::new("doomed"))
        .await
        .expect("read")
        .expect("the flow");
    let job = JobRecord {
        id: JobId::new("0123456789abcdef0123456789abcdef"),
        tenant: tenant.clone(),
        kind: JobKind::DeleteFlow,
        flow_id: flow.id,
        flow_name: flow.name.clone(),
        filter: JobFilter::default(),
        status: JobStatus::Pending,
        total: 0,
        done: 0,
        already_completed: 0,
        failed: 0,
        failure: None,
        created_at: 1,
        finished_at: None,
    };
    store.create_job(job).await.expect("job");
    store
        .delete_flow(&tenant, &flow.name)
        .await
        .expect("delete");
    assert_eq!(
        store
            .active_executions(flow.id)
            .await
            .expect("active")
            .len(),
        30
    );
    drop(store);

    let (service, caller) = support::service(dir.path()).await;
    let taken = service
        .start_leases(DEFAULT_LEASE)
        .await
        .expect("take over");
    assert_eq!(taken.jobs, 1, "the job left unfinished is resumed");
    let job = finished(&service, &caller, "0123456789abcdef0123456789abcdef").await;
    assert_eq!((job.status, job.done), (JobStatus::Succeeded, 30));
    let store = service.runtime().store();
    assert!(
        store
            .active_executions(flow.id)
            .await
            .expect("active")
            .is_empty()
    );
}
