//! Running published versions and aliases against a real SQLite store and runtime: a start
//! with a `Qualifier` runs that version's definition, an alias routes by its weights, and a
//! version an alias routes to cannot be deleted.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use sluice_engine::Status;
use sluice_service::{Caller, Dialect, FlowChanges, FlowSpec, Service, ServiceError, StartRequest};
use sluice_store::ExecutionMode;

/// A flow whose output says which definition ran (`tests/data/says.yaml`, which the
/// end-to-end tests of versions use too).
fn says(n: u32) -> String {
    include_str!("data/says.yaml")
        .replace("FLOW", "f")
        .replace("NUMBER", &n.to_string())
}

/// Flow `f` with versions 1 and 2 (saying 1 and 2); its current definition says 3.
async fn flow_with_two_versions(service: &Service, caller: &Caller) {
    let spec = FlowSpec {
        name: "f".into(),
        definition: says(1),
        dialect: Dialect::CloudFlow,
        description: String::new(),
        role_arn: None,
        mode: ExecutionMode::Standard,
        attributes: Value::Null,
        tag: None,
    };
    service.create_flow(caller, spec).await.expect("create");
    for n in [2, 3] {
        let published = service
            .publish_version(caller, "f", "")
            .await
            .expect("publish");
        assert_eq!(published.version, i64::from(n) - 1);
        let changes = FlowChanges {
            definition: Some(says(n)),
            ..FlowChanges::default()
        };
        service
            .update_flow(caller, "f", changes)
            .await
            .expect("update");
    }
}

/// Runs `f` under `qualifier` and returns which definition ran (its output) and the
/// definition DescribeExecution reports.
async fn run(
    service: &Service,
    caller: &Caller,
    name: &str,
    qualifier: Option<&str>,
) -> Result<(Value, String), ServiceError> {
    let start = StartRequest {
        flow: "f".into(),
        name: Some(name.into()),
        input: None,
        qualifier: qualifier.map(str::to_string),
        context_ids: None,
        test_case: None,
    };
    service.start_execution(caller, start).await?;
    let (flow, done) = service
        .describe_execution(caller, "f", name, Duration::from_secs(10))
        .await?;
    assert_eq!(done.status, Status::Succeeded);
    let definition = service.execution_definition(&flow, &done).await?;
    Ok((done.output.expect("an output"), definition))
}

fn ran(n: u32) -> Value {
    json!({ "definition": n })
}

fn routing(weights: &[(u32, u32)]) -> Value {
    weights
        .iter()
        .map(|(version, weight)| json!({"Version": version.to_string(), "Weight": weight}))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_with_a_version_runs_that_versions_definition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (service, caller) = support::service(dir.path()).await;
    flow_with_two_versions(&service, &caller).await;

    assert_eq!(
        run(&service, &caller, "v1", Some("1")).await.unwrap(),
        (ran(1), says(1))
    );
    assert_eq!(
        run(&service, &caller, "v2", Some("2")).await.unwrap(),
        (ran(2), says(2))
    );
    assert_eq!(
        run(&service, &caller, "latest", None).await.unwrap(),
        (ran(3), says(3))
    );

    let described = service
        .describe_flow_version(&caller, "f", "1")
        .await
        .expect("describe v1");
    assert_eq!(described.definition, says(1));
    assert_eq!(
        service
            .describe_flow(&caller, "f")
            .await
            .unwrap()
            .definition,
        says(3)
    );

    for missing in ["9", "nosuch"] {
        let refused = run(&service, &caller, "x", Some(missing))
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, ServiceError::NotFound { name, .. } if name == missing),
            "{refused}"
        );
    }
    let (_, executions) = service
        .list_executions(&caller, "f", &Default::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(executions.len(), 3, "a refused start leaves nothing behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_routes_each_start_to_a_version_by_weight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (service, caller) = support::service(dir.path()).await;
    flow_with_two_versions(&service, &caller).await;

    service
        .create_alias(&caller, "f", "prod", "", routing(&[(1, 0), (2, 100)]))
        .await
        .expect("alias");
    for i in 0..5 {
        let (output, _) = run(&service, &caller, &format!("p{i}"), Some("prod"))
            .await
            .unwrap();
        assert_eq!(output, ran(2));
    }

    service
        .update_alias(
            &caller,
            "f",
            "prod",
            None,
            Some(routing(&[(1, 50), (2, 50)])),
        )
        .await
        .expect("update");
    let mut seen = Vec::new();
    for i in 0..40 {
        let (output, _) = run(&service, &caller, &format!("h{i}"), Some("prod"))
            .await
            .unwrap();
        seen.push(output);
    }
    // Each start rolls on its own: 40 rolls of a fair coin all alike is a 2^-39 chance.
    assert!(seen.contains(&ran(1)) && seen.contains(&ran(2)), "{seen:?}");
    assert!(seen.iter().all(|o| *o == ran(1) || *o == ran(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_an_alias_routes_to_cannot_be_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (service, caller) = support::service(dir.path()).await;
    flow_with_two_versions(&service, &caller).await;
    service
        .create_alias(&caller, "f", "canary", "", routing(&[(1, 90), (2, 10)]))
        .await
        .expect("alias");
    service
        .create_alias(&caller, "f", "stable", "", routing(&[(1, 100)]))
        .await
        .expect("alias");

    let refused = service.delete_version(&caller, "f", "1").await.unwrap_err();
    let ServiceError::VersionInUse { aliases, .. } = &refused else {
        panic!("{refused}");
    };
    assert_eq!(aliases, &["canary", "stable"]);
    let message = refused.to_string();
    assert!(
        message.contains("alias canary, stable routes to it"),
        "{message}"
    );
    assert!(service.describe_version(&caller, "f", "1").await.is_ok());

    service
        .update_alias(&caller, "f", "canary", None, Some(routing(&[(2, 100)])))
        .await
        .unwrap();
    service.delete_alias(&caller, "f", "stable").await.unwrap();
    service
        .delete_version(&caller, "f", "1")
        .await
        .expect("no alias routes to it any more");
    assert!(matches!(
        service.describe_version(&caller, "f", "1").await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        service
            .create_alias(&caller, "f", "old", "", routing(&[(1, 100)]))
            .await,
        Err(ServiceError::NotFound { .. })
    ));
}

/// Fifty changes at once (the check-then-act of issue 10 item 8): 25 aliases are each moved
/// onto a version while that version is deleted. Of each pair exactly one wins; the loser
/// gets the error it would get one after the other; no alias is left routing to a deleted
/// version. Then updates of different fields of one alias, at once, all hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_alias_and_version_changes_leave_every_route_on_a_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (service, caller) = support::service(dir.path()).await;
    flow_with_two_versions(&service, &caller).await;
    for _ in 3..=27 {
        service.publish_version(&caller, "f", "").await.unwrap();
    }
    for i in 0..25 {
        service
            .create_alias(&caller, "f", &format!("a{i}"), "", routing(&[(1, 100)]))
            .await
            .expect("alias");
    }
    let races = (0..25u32).map(|i| {
        let (service, caller) = (service.clone(), caller.clone());
        let version = i + 3;
        tokio::spawn(async move {
            let (alias, number) = (format!("a{i}"), version.to_string());
            let routed =
                service.update_alias(&caller, "f", &alias, None, Some(routing(&[(version, 100)])));
            let deleted = service.delete_version(&caller, "f", &number);
            let (routed, deleted) = tokio::join!(routed, deleted);
            (version, routed.map(drop), deleted)
        })
    });
    for race in races.collect::<Vec<_>>() {
        let (version, routed, deleted) = race.await.expect("joined");
        match (&routed, &deleted) {
            (Ok(()), Err(e @ ServiceError::VersionInUse { .. })) => {
                assert!(e.to_string().contains("routes to it"), "{e}")
            }
            (Err(ServiceError::NotFound { kind, .. }), Ok(())) => {
                assert_eq!(*kind, "flow version")
            }
            other => panic!("version {version}: exactly one may win, got {other:?}"),
        }
    }
    let aliases = service.list_aliases(&caller, "f", None, 100).await.unwrap();
    for alias in &aliases {
        for route in &alias.routing {
            let version = route.version.to_string();
            assert!(
                service
                    .describe_version(&caller, "f", &version)
                    .await
                    .is_ok(),
                "alias {} routes to deleted version {version}",
                alias.name
            );
        }
    }

    let updates = (0..50u32).map(|i| {
        let (service, caller) = (service.clone(), caller.clone());
        tokio::spawn(async move {
            let (description, routing) = if i % 2 == 0 {
                (Some(format!("d{i}")), None)
            } else {
                (None, Some(routing(&[(1, 50), (2, 50)])))
            };
            service
                .update_alias(&caller, "f", "a0", description, routing)
                .await
        })
    });
    for update in updates.collect::<Vec<_>>() {
        update.await.expect("joined").expect("an update");
    }
    let alias = service.describe_alias(&caller, "f", "a0").await.unwrap();
    assert!(alias.description.starts_with('d'), "{alias:?}");
    assert_eq!(alias.routing.len(), 2, "no update undid another: {alias:?}");
}
