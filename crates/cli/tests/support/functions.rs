//! The function server of the `sluice run` tests: each function at `/{function}` on
//! 127.0.0.1, answering as its [`Behaviour`] says (the function protocol,
//! `docs/function-protocol.md`). Each test binary uses the part it needs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    Echo,
    Return(Value),
    Fail(String),
    Upper(String),
    /// Works for [`SLOW_WORK`], then returns the value.
    Slow(Value),
}

/// How long a `slow` function works before it answers.
pub const SLOW_WORK: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Served {
    behaviours: HashMap<String, Behaviour>,
    calls: Mutex<HashMap<String, usize>>,
    /// When each function last answered.
    answered: Mutex<HashMap<String, Instant>>,
}

impl Served {
    pub fn calls(&self, function: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .get(function)
            .copied()
            .unwrap_or(0)
    }

    pub fn answered(&self, function: &str) -> Option<Instant> {
        self.answered.lock().unwrap().get(function).copied()
    }
}

/// Serves each function at `/{function}` on its own runtime thread, so the test can block
/// on the child process meanwhile.
pub fn serve(behaviours: HashMap<String, Behaviour>) -> (SocketAddr, Arc<Served>) {
    let served = Arc::new(Served {
        behaviours,
        ..Served::default()
    });
    let app = Router::new()
        .route("/{function}", post(call))
        .with_state(served.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await
        })
    });
    (addr, served)
}

async fn call(
    State(served): State<Arc<Served>>,
    UrlPath(function): UrlPath<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    *served
        .calls
        .lock()
        .unwrap()
        .entry(function.clone())
        .or_default() += 1;
    let answer = match served.behaviours.get(&function) {
        Some(Behaviour::Echo) => (StatusCode::OK, Json(body)),
        Some(Behaviour::Return(value)) => (StatusCode::OK, Json(value.clone())),
        Some(Behaviour::Fail(code)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"errorCode": code, "errorMessage": "failed on purpose"})),
        ),
        Some(Behaviour::Upper(field)) => {
            let upper = body[field.as_str()]
                .as_str()
                .unwrap_or_default()
                .to_uppercase();
            (StatusCode::OK, Json(json!({ field.as_str(): upper })))
        }
        Some(Behaviour::Slow(value)) => {
            tokio::time::sleep(SLOW_WORK).await;
            (StatusCode::OK, Json(value.clone()))
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"errorCode": "Test.NoSuchFunction"})),
        ),
    };
    served
        .answered
        .lock()
        .unwrap()
        .insert(function, Instant::now());
    answer
}
