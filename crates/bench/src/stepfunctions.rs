//! The Step Functions scenario: AWS JSON 1.0 requests signed with Signature Version 4, as the
//! AWS SDKs send them: a one-Pass-state machine started and described to its end.

use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use sluice_api::signature::aws::{SignedRequest, authorization};

use crate::client::{Client, json_answer};
use crate::report::Row;
use crate::scenarios::Bench;

const REGION: &str = "us-east-1";
const SIGNED: [&str; 4] = ["content-type", "host", "x-amz-date", "x-amz-target"];
/// How many describes an execution may take to end (a Pass state ends in its first step).
const MAX_DESCRIBES: usize = 200;

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
    /// sfn: `concurrency` clients each start an execution of a one-Pass-state machine and
    /// describe it until it has ended, again and again, for `--duration`.
    pub(crate) async fn stepfunctions(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let name = format!("bench-sfn-{}", self.run_id);
        let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
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
            .context("creating the state machine of sfn")?;
        let machine: std::sync::Arc<str> = created["stateMachineArn"]
            .as_str()
            .context("CreateStateMachine answered no ARN")?
            .into();
        self.at_each_concurrency(
            ("sfn", "start+describe"),
            1,
            move |client, i, concurrency| {
                let machine = machine.clone();
                async move { run_to_end(&client, i, &machine, &format!("c{concurrency}-{i}")).await }
            },
            rows,
        )
        .await;
        Ok(())
    }
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
    for _ in 0..MAX_DESCRIBES {
        let described = client.sfn(i, "DescribeExecution", &execution).await?;
        match described["status"].as_str() {
            Some("RUNNING") => tokio::time::sleep(Duration::from_millis(1)).await,
            Some("SUCCEEDED") => return Ok(()),
            other => bail!("{name} ended {other:?}"),
        }
    }
    bail!("{name} did not end within {MAX_DESCRIBES} describes")
}
