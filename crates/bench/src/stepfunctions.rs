//! The Step Functions scenario: AWS JSON 1.0 requests signed with Signature Version 4, as the
//! AWS SDKs send them: a one-Pass-state machine and a chain of ten Lambda tasks started and
//! described to their end, and executions stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use sluice_api::signature::aws::{SignedRequest, authorization};

use crate::client::{Client, json_answer};
use crate::load::drive;
use crate::report::Row;
use crate::scenarios::{Bench, PHASE_LIMIT, STOP_START_CONCURRENCY};

const REGION: &str = "us-east-1";
const SIGNED: [&str; 4] = ["content-type", "host", "x-amz-date", "x-amz-target"];
/// How long an execution may take to end.
const RUN_LIMIT: Duration = Duration::from_secs(60);

impl Client {
    /// One Step Functions action, signed; the JSON answer.
    pub(crate) async fn sfn(
        &self,
        node: usize,
        action: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let base = self.base(node);
        let host = base.trim_start_matches("http://");
        let body = body.to_string();
        let date = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let mut headers = HeaderMap::new();
        let named = [
            ("content-type", "application/x-amz-json-1.0".to_string()),
            ("host", host.to_string()),
            ("x-amz-date", date),
            ("x-amz-target", format!("AWSStepFunctions.{action}")),
        ];
        for (name, value) in named {
            headers.insert(name, HeaderValue::from_str(&value)?);
        }
        let request = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let (key_id, secret) = self.credentials();
        let signature = authorization(&request, key_id, secret, REGION, "states", &SIGNED)
            .map_err(|e| anyhow::anyhow!("{action}: signing: {e}"))?;
        headers.insert("authorization", HeaderValue::from_str(&signature)?);
        headers.remove("host");
        let request = self
            .http()
            .post(format!("{base}/"))
            .headers(headers)
            .body(body);
        json_answer(action, request).await
    }
}

impl Bench<'_> {
    /// sfn: over the Step Functions API, `concurrency` clients each start an execution and
    /// describe it until it has ended, again and again, for `--duration`: a one-Pass-state
    /// machine (row `pass1`), then a chain of ten Lambda tasks calling the no-op function
    /// (row `lambda10`); then `--stop-count` executions of a waiting machine are started and
    /// stopped with `StopExecution` at each concurrency (rows `start`, `stop`).
    pub(crate) async fn stepfunctions(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        let machine = self.create_machine("pass1", &pass).await?;
        self.sfn_loop("pass1", machine, 1, rows).await;
        let machine = self.create_machine("lambda10", &lambda_chain(10)).await?;
        self.sfn_loop("lambda10", machine, 11, rows).await;
        self.sfn_stop(rows).await
    }

    async fn create_machine(&self, kind: &str, definition: &Value) -> anyhow::Result<Arc<str>> {
        let name = format!("bench-sfn-{kind}-{}", self.run_id);
        let created = self
            .client
            .sfn(
                0,
                "CreateStateMachine",
                &json!({
                    "name": name,
                    "definition": definition.to_string(),
                    "roleArn": "arn:aws:iam::123456789012:role/bench",
                }),
            )
            .await
            .with_context(|| format!("creating the state machine of sfn {kind}"))?;
        Ok(created["stateMachineArn"]
            .as_str()
            .context("CreateStateMachine answered no ARN")?
            .into())
    }

    async fn sfn_loop(
        &self,
        phase: &'static str,
        machine: Arc<str>,
        steps: u64,
        rows: &mut Vec<Row>,
    ) {
        self.at_each_concurrency(
            ("sfn", phase),
            steps,
            move |client, i, concurrency| {
                let machine = machine.clone();
                async move { run_to_end(&client, i, &machine, &format!("c{concurrency}-{i}")).await }
            },
            rows,
        )
        .await;
    }

    /// Starts `--stop-count` executions of a machine waiting 300 s, then stops them with
    /// `StopExecution`, at each concurrency.
    async fn sfn_stop(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let wait =
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": true}}});
        let machine = self.create_machine("stop", &wait).await?;
        let count = self.args.stop_count;
        for &concurrency in &self.args.concurrency {
            let prefix: Arc<str> = format!("s{concurrency}").into();
            let (client, m, p) = (self.client.clone(), machine.clone(), prefix.clone());
            let meter = self.meter().await;
            let phase = drive(STOP_START_CONCURRENCY, count, PHASE_LIMIT, move |i| {
                let (client, machine, prefix) = (client.clone(), m.clone(), p.clone());
                async move {
                    let start =
                        json!({"stateMachineArn": &*machine, "name": format!("{prefix}-{i}")});
                    client.sfn(i, "StartExecution", &start).await.map(drop)
                }
            })
            .await;
            let usage = meter.finish(&self.client).await;
            rows.push(Row::new(
                "sfn",
                "start",
                STOP_START_CONCURRENCY,
                phase,
                1,
                usage,
            ));
            let (m, p) = (machine.clone(), prefix.clone());
            let execution =
                move |i: usize| m.replace(":stateMachine:", ":execution:") + &format!(":{p}-{i}");
            let client = self.client.clone();
            let meter = self.meter().await;
            let phase = drive(concurrency as usize, count, PHASE_LIMIT, move |i| {
                let (client, arn) = (client.clone(), execution(i));
                async move {
                    // Another node than the one that started it, when there are several.
                    client
                        .sfn(i + 1, "StopExecution", &json!({"executionArn": arn}))
                        .await
                        .map(drop)
                }
            })
            .await;
            let usage = meter.finish(&self.client).await;
            rows.push(Row::new(
                "sfn",
                "stop",
                concurrency as usize,
                phase,
                1,
                usage,
            ));
        }
        Ok(())
    }
}

/// `n` Task states in a chain, each invoking the no-op Lambda function by its ARN.
fn lambda_chain(n: usize) -> Value {
    let states: serde_json::Map<String, Value> = (0..n)
        .map(|k| {
            let mut state = json!({
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:noop",
            });
            if k + 1 < n {
                state["Next"] = json!(format!("T{}", k + 1));
            } else {
                state["End"] = json!(true);
            }
            (format!("T{k}"), state)
        })
        .collect();
    json!({"StartAt": "T0", "States": states})
}

async fn run_to_end(client: &Client, i: usize, machine: &str, name: &str) -> anyhow::Result<()> {
    let started = client
        .sfn(
            i,
            "StartExecution",
            &json!({"stateMachineArn": machine, "name": name, "input": "{}"}),
        )
        .await?;
    let execution = json!({"executionArn": started["executionArn"]});
    // Step Functions has no long poll: describe every millisecond, for at most a minute.
    let deadline = Instant::now() + RUN_LIMIT;
    while Instant::now() < deadline {
        let described = client.sfn(i, "DescribeExecution", &execution).await?;
        match described["status"].as_str() {
            Some("RUNNING") => tokio::time::sleep(Duration::from_millis(1)).await,
            Some("SUCCEEDED") => return Ok(()),
            other => bail!("{name} ended {other:?}"),
        }
    }
    bail!("{name} did not end within {RUN_LIMIT:?}")
}
