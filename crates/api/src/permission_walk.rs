//! The permission walk: every route of every dialect, called over real HTTP with a key that may
//! do everything but that route's permission, is refused in the dialect's own error shape and
//! status, answers the same whether what it names exists or not, and changes nothing.
//!
//! The routes walked are checked against the places routes are declared: CloudFlow's action
//! list (`Request::PERMISSIONS`), the `Action` of every variant of each Huawei service's
//! `Call` (GES for both API versions), every Step Functions `Action` (`stepfunctions.rs`) and
//! every permission of the native API (`native.rs`). A route whose call has no case here fails
//! `every_route_is_refused_without_its_permission`, naming it.
//!
//! Each request goes to two servers that differ only in their stores: one holding a flow, an
//! execution, a schedule, a version, an alias, a DataArts job and instance, a GES job (all the
//! requests name), one empty. Their answers must be the same but for the request id.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use sluice_service::{KeyConfig, Service, ServiceConfig, TenantConfig};

use crate::cloudflow::params::Params;
use crate::cloudflow::request::{Request as CloudFlowRequest, VERSION};
use crate::huawei::{self, Call, Incoming, cloud_graphs, dataarts, functiongraph, ges};
use crate::signature::{alibaba, huawei as sdk_hmac};

mod native;
mod stepfunctions;

const PROJECT: &str = "p";
const ADMIN: &str = "admin";
const SECRET: &str = "walk-secret";
/// What the requests name: one name for a flow, its execution, schedule and alias.
const NAME: &str = "present";
const JOB: &str = "job";
const SPARE: &str = "spare";

const FLOW: &str = "Type: StateMachine
Name: present
SpecVersion: v1
StartAt: Sleep
States:
  - Type: Wait
    Name: Sleep
    Seconds: 86400
    End: true
";

/// One request of a route, as a client sends it.
#[derive(Debug, Clone)]
struct Route {
    method: Method,
    path: String,
    query: String,
    /// Headers besides the signature's; all signed.
    headers: Vec<(&'static str, String)>,
    body: String,
}

/// Where a dialect's error body has its code, the code of a refused permission, and its
/// HTTP status.
struct Refusal {
    code_key: &'static str,
    code: &'static str,
    status: u16,
}

/// A running server over its own SQLite store.
struct Server {
    addr: SocketAddr,
    db: PathBuf,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The permissions a key can be refused, once each.
fn permissions() -> Vec<&'static str> {
    let all: BTreeSet<&'static str> = crate::permissions().into_iter().collect();
    all.into_iter().collect()
}

/// The key that may do everything but `permission`.
fn key_without(permission: &str) -> String {
    let index = permissions().iter().position(|p| *p == permission);
    format!("without-{}", index.expect("a known permission"))
}

fn config() -> ServiceConfig {
    let everything = permissions();
    let mut keys = vec![key(ADMIN, vec!["*".to_string()])];
    for permission in &everything {
        let others = everything.iter().filter(|p| *p != permission);
        keys.push(key(
            &key_without(permission),
            others.map(|p| p.to_string()).collect(),
        ));
    }
    ServiceConfig {
        tenants: vec![TenantConfig {
            id: "t".into(),
            account_id: "1".into(),
            aws_account_id: None,
            project_id: Some(PROJECT.into()),
            keys,
            rate_limits: Default::default(),
            outbound: None,
        }],
        limits: Default::default(),
    }
}

fn key(id: &str, actions: Vec<String>) -> KeyConfig {
    KeyConfig {
        id: id.into(),
        secret: SECRET.into(),
        actions,
        allow_unsigned_payload: false,
    }
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("sluice.db");
        let store = sluice_store::sqlite::SqliteStore::open(&db).expect("the store");
        let invoker = sluice_runtime::Invoker::new(Default::default()).expect("the invoker");
        let runtime = sluice_runtime::durable::Runtime::new(
            Arc::new(store),
            Arc::new(invoker),
            Arc::new(sluice_lang::compile),
        );
        runtime.start_background_work();
        let service = Arc::new(Service::new(runtime.store().clone(), runtime, &config()));
        let limits = crate::http::Limits::default();
        let app = crate::http::router(service, &limits, None);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            crate::http::serve(listener, app, &limits, std::future::pending()).await
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client");
        Server {
            addr,
            db,
            http,
            _dir: dir,
        }
    }

    /// Sends a CloudFlow action signed by `key`: every parameter in the query, as the SDK does.
    async fn cloudflow(&self, key: &str, action: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        let timestamp = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let params: BTreeMap<String, String> = [
            ("Action", action),
            ("Format", "json"),
            ("Version", VERSION),
            ("Timestamp", &timestamp.to_string()),
            ("SignatureNonce", &nonce),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("AccessKeyId", key),
        ]
        .into_iter()
        .chain(fields.iter().copied())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature = alibaba::sign("POST", &params, SECRET);
        let query = alibaba::canonical_query(&params);
        let url = format!(
            "http://{}/?{query}&Signature={}",
            self.addr,
            crate::signature::rfc3986(&signature)
        );
        let response = self.http.post(url).send().await.expect("an answer");
        answer(response).await
    }

    /// Sends a Huawei request signed (SDK-HMAC-SHA256) by `key`.
    async fn huawei(&self, key: &str, route: &Route) -> (u16, Value) {
        let mut headers = HeaderMap::new();
        let date = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let mut named = vec![
            ("content-type", "application/json".to_string()),
            ("host", self.addr.to_string()),
            ("x-sdk-date", date),
        ];
        named.extend(route.headers.iter().cloned());
        for (name, value) in &named {
            headers.insert(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        let mut signed: Vec<&str> = named.iter().map(|(name, _)| *name).collect();
        signed.sort_unstable();
        let request = sdk_hmac::SignedRequest {
            method: route.method.as_str(),
            path: &route.path,
            query: &route.query,
            headers: &headers,
            body: route.body.as_bytes(),
        };
        let authorization =
            sdk_hmac::authorization(&request, key, SECRET, &signed).expect("signed");
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).expect("a header value"),
        );
        headers.remove("host");
        let query = if route.query.is_empty() {
            String::new()
        } else {
            format!("?{}", route.query)
        };
        let url = format!("http://{}{}{query}", self.addr, route.path);
        let response = self
            .http
            .request(route.method.clone(), url)
            .headers(headers)
            .body(route.body.clone())
            .send()
            .await
            .expect("an answer");
        answer(response).await
    }

    /// The admin's answer, which must be a success.
    async fn admin(&self, route: Route) -> Value {
        let (status, body) = self.huawei(ADMIN, &route).await;
        assert!(status < 300, "{route:?}: {status} {body}");
        body
    }

    async fn admin_cloudflow(&self, action: &str, fields: &[(&str, &str)]) -> Value {
        let (status, body) = self.cloudflow(ADMIN, action, fields).await;
        assert_eq!(status, 200, "{action}: {body}");
        body
    }

    /// Everything the store holds, table by table, row by row, but the signature nonces (a
    /// refused request has used its nonce up, as it should).
    fn contents(&self) -> BTreeMap<String, Vec<String>> {
        dump(&self.db)
    }

    /// The contents once the background work the fixtures started has settled.
    async fn settled_contents(&self) -> BTreeMap<String, Vec<String>> {
        let mut last = self.contents();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.contents();
            if now == last {
                return now;
            }
            last = now;
        }
        panic!("the store did not settle");
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

fn dump(db: &Path) -> BTreeMap<String, Vec<String>> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = rusqlite::Connection::open_with_flags(db, flags).expect("the database");
    let mut tables = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'nonces'")
        .expect("the tables");
    let names: Vec<String> = tables
        .query_map([], |row| row.get(0))
        .expect("the tables")
        .collect::<Result<_, _>>()
        .expect("the tables");
    names
        .into_iter()
        .map(|table| {
            let mut rows = conn
                .prepare(&format!("SELECT * FROM \"{table}\""))
                .expect("a table");
            let width = rows.column_count();
            let mut all: Vec<String> = rows
                .query_map([], |row| {
                    let cells = (0..width).map(|i| row.get::<_, rusqlite::types::Value>(i));
                    Ok(format!("{:?}", cells.collect::<Vec<_>>()))
                })
                .expect("the rows")
                .collect::<Result<_, _>>()
                .expect("the rows");
            all.sort();
            (table, all)
        })
        .collect()
}

/// What the requests name, as the populated server knows them.
struct Fixtures {
    workflow_id: String,
    workflow_urn: String,
    /// The flow a GES restart made a job of.
    spare_id: String,
    graph_urn: String,
    execution_urn: String,
    instance: String,
    ges_job: String,
}

/// Fills `server` with everything the routes name, through the APIs.
async fn populate(server: &Server) -> Fixtures {
    let flow = [("Name", NAME), ("Definition", FLOW), ("Type", "FDL")];
    server.admin_cloudflow("CreateFlow", &flow).await;
    let spare_flow = FLOW.replace(NAME, SPARE);
    let spare = [
        ("Name", SPARE),
        ("Definition", &spare_flow),
        ("Type", "FDL"),
    ];
    server.admin_cloudflow("CreateFlow", &spare).await;
    let execution = [("FlowName", NAME), ("ExecutionName", NAME), ("Input", "{}")];
    server.admin_cloudflow("StartExecution", &execution).await;
    let schedule = [
        ("FlowName", NAME),
        ("ScheduleName", NAME),
        ("CronExpression", "0 0 12 * * *"),
        ("Enable", "false"),
    ];
    server.admin_cloudflow("CreateSchedule", &schedule).await;
    let version = [("FlowName", NAME)];
    server.admin_cloudflow("PublishFlowVersion", &version).await;
    let alias = [
        ("FlowName", NAME),
        ("Name", NAME),
        ("RoutingConfigurations", r#"[{"Version":"1","Weight":100}]"#),
    ];
    server.admin_cloudflow("CreateFlowAlias", &alias).await;

    let job = json!({"name": JOB, "nodes": [{"name": "only", "type": "Dummy"}]});
    server
        .admin(huawei_route(
            Method::POST,
            "/v1/p/jobs",
            "",
            &job.to_string(),
        ))
        .await;
    let run = huawei_route(Method::POST, "/v1/p/jobs/job/run-immediate", "", "{}");
    let instance = match server.admin(run).await["instanceId"].take() {
        Value::String(id) => id,
        other => other.to_string(),
    };

    let workflows = huawei_route(Method::GET, "/v2/p/fgs/workflows", "", "");
    let workflows = server.admin(workflows).await;
    let workflow = |name: &str| {
        workflows["workflows"]
            .as_array()
            .and_then(|all| all.iter().find(|w| w["name"] == name))
            .unwrap_or_else(|| panic!("{name} among {workflows}"))
            .clone()
    };
    let (workflow, spare) = (workflow(NAME), workflow(SPARE));
    let spare_id = spare["id"].as_str().expect("an id").to_string();

    let graph_urn = format!("urn:fgs:local:{PROJECT}:graph:{NAME}");
    let path = format!("/v1.0/p/cloud_graphs/{graph_urn}/executions");
    let executions = server.admin(huawei_route(Method::GET, &path, "", "")).await;
    let execution_urn = executions["executions"][0]["execution_urn"]
        .as_str()
        .unwrap_or_else(|| panic!("an execution URN in {executions}"))
        .to_string();

    let restart = format!("/v2/p/graphs/{spare_id}/restart");
    let restart = huawei_route(Method::POST, &restart, "", "");
    let ges_job = server.admin(restart).await["job_id"]
        .as_str()
        .expect("a job id")
        .to_string();
    let status = format!("/v2/p/graphs/{spare_id}/jobs/{ges_job}/status");
    for _ in 0..100 {
        let job = server
            .admin(huawei_route(Method::GET, &status, "", ""))
            .await;
        if job["status"] == "success" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Fixtures {
        workflow_id: workflow["id"].as_str().expect("an id").to_string(),
        workflow_urn: workflow["workflow_urn"]
            .as_str()
            .expect("a URN")
            .to_string(),
        spare_id,
        graph_urn,
        execution_urn,
        instance,
        ges_job,
    }
}

fn huawei_route(method: Method, path: &str, query: &str, body: &str) -> Route {
    Route {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers: Vec::new(),
        body: body.to_string(),
    }
}

/// The parameters every CloudFlow request carries: each action reads the ones it takes (all
/// naming what the populated server has), and ignores the others.
fn cloudflow_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Name", NAME),
        ("FlowName", NAME),
        ("ExecutionName", NAME),
        ("ScheduleName", NAME),
        ("FlowVersion", "1"),
        ("Definition", FLOW),
        ("Type", "FDL"),
        ("Input", "{}"),
        ("CronExpression", "0 0 12 * * *"),
        ("RoutingConfigurations", r#"[{"Version":"1","Weight":100}]"#),
        ("TaskToken", "token"),
        ("Output", "{}"),
        ("Error", "E"),
        ("Cause", "c"),
        ("MapRunName", "run"),
        ("Enable", "true"),
    ]
}

/// A request of every Huawei route, naming what the populated server has.
fn huawei_routes(f: &Fixtures) -> Vec<Route> {
    let get = |path: String, query: &str| huawei_route(Method::GET, &path, query, "");
    let post = |path: String, body: Value| huawei_route(Method::POST, &path, "", &body.to_string());
    let id = &f.workflow_id;
    let workflow = json!({"name": NAME, "definition": {}});
    let fg = "/v2/p/fgs";
    let mut callback = post(
        format!("{fg}/workflows/{id}/callback"),
        json!({"result": "success", "output": {}}),
    );
    callback.headers = vec![
        ("x-workflow-run-id", NAME.to_string()),
        ("x-workflow-state-id", "Sleep".to_string()),
    ];
    let mut routes = vec![
        post(format!("{fg}/workflows"), workflow.clone()),
        get(format!("{fg}/workflows"), ""),
        huawei_route(
            Method::DELETE,
            &format!("{fg}/workflows"),
            "",
            &json!({"workflow_urns": [f.workflow_urn]}).to_string(),
        ),
        get(format!("{fg}/workflows/{id}"), ""),
        huawei_route(
            Method::PUT,
            &format!("{fg}/workflows/{id}"),
            "",
            &workflow.to_string(),
        ),
        post(
            format!("{fg}/workflows/{id}/executions"),
            json!({"input": {}}),
        ),
        get(format!("{fg}/workflows/{id}/executions"), ""),
        get(format!("{fg}/workflows/{id}/executions-history"), ""),
        post(format!("{fg}/workflows/{id}/sync-executions"), json!({})),
        get(format!("{fg}/workflows/{id}/executions/{NAME}"), ""),
        post(
            format!("{fg}/workflows/{id}/executions/{NAME}/terminate"),
            json!({}),
        ),
        post(
            format!("{fg}/workflows/{id}/executions/{NAME}/retry"),
            json!({}),
        ),
        get(format!("{fg}/workflow-statistic"), ""),
        get(format!("{fg}/workflow-statistic/{}", f.workflow_urn), ""),
        callback,
    ];
    let (graph, execution) = (&f.graph_urn, &f.execution_urn);
    let cg = "/v1.0/p/cloud_graphs";
    let legacy = json!({"graph_name": NAME, "definition": "{}"});
    let update = json!({"info_type": "definition", "info": "{}"});
    routes.extend([
        post(cg.to_string(), legacy),
        get(cg.to_string(), ""),
        get(format!("{cg}/graph_detail/{execution}"), ""),
        get(format!("{cg}/executions/{execution}"), ""),
        get(format!("{cg}/executions/{execution}/history"), ""),
        get(format!("{cg}/{graph}"), ""),
        huawei_route(
            Method::PUT,
            &format!("{cg}/{graph}"),
            "",
            &update.to_string(),
        ),
        huawei_route(Method::DELETE, &format!("{cg}/{graph}"), "", ""),
        post(
            format!("{cg}/{graph}/executions/action"),
            json!({"action_type": "start", "executions": {"execution_name": "another"}}),
        ),
        post(
            format!("{cg}/{graph}/executions/action"),
            json!({"action_type": "stop", "executions": {"execution_urn": execution}}),
        ),
        get(format!("{cg}/{graph}/executions"), ""),
        post(
            format!("{cg}/{graph}/executions/{execution}/event_test"),
            json!({"input": {}}),
        ),
    ]);
    let (jobs, instance) = ("/v1/p/jobs", &f.instance);
    let job = json!({"name": JOB, "nodes": [{"name": "only", "type": "Dummy"}]});
    routes.extend([
        post(jobs.to_string(), job.clone()),
        get(jobs.to_string(), ""),
        get(format!("{jobs}/instances/detail"), ""),
        get(format!("{jobs}/{JOB}"), ""),
        huawei_route(Method::PUT, &format!("{jobs}/{JOB}"), "", &job.to_string()),
        huawei_route(Method::DELETE, &format!("{jobs}/{JOB}"), "", ""),
        post(format!("{jobs}/{JOB}/start"), json!({})),
        post(format!("{jobs}/{JOB}/stop"), json!({})),
        post(format!("{jobs}/{JOB}/run-immediate"), json!({})),
        get(format!("{jobs}/{JOB}/instances/{instance}"), ""),
        post(format!("{jobs}/{JOB}/instances/{instance}/stop"), json!({})),
        post(
            format!("{jobs}/{JOB}/instances/{instance}/restart"),
            json!({}),
        ),
    ]);
    for version in ["v1.0", "v2"] {
        let graphs = format!("/{version}/p/graphs");
        let (ges_job, spare) = (&f.ges_job, &f.spare_id);
        routes.extend([
            get(graphs.clone(), ""),
            get(format!("{graphs}/jobs"), ""),
            get(format!("{graphs}/{id}"), ""),
            get(format!("{graphs}/{spare}/jobs/{ges_job}/status"), ""),
        ]);
        for operation in ["start", "stop", "restart"] {
            routes.push(if version == "v2" {
                post(format!("{graphs}/{id}/{operation}"), json!({}))
            } else {
                let query = format!("action_id={operation}");
                huawei_route(Method::POST, &format!("{graphs}/{id}/action"), &query, "")
            });
        }
    }
    routes
}

/// The route a Huawei request takes (its service and call, e.g. `dataarts StopInstance`) and
/// the permission it needs, as the dialect decodes it.
fn decoded(route: &Route) -> (String, &'static str) {
    let mut headers = HeaderMap::new();
    for (name, value) in &route.headers {
        headers.insert(*name, HeaderValue::from_str(value).expect("a header value"));
    }
    let incoming = Incoming {
        method: &route.method,
        path: &route.path,
        query: Some(&route.query),
        headers: &headers,
        body: route.body.as_bytes(),
    };
    let signed = route.headers.iter().map(|(n, _)| n.to_string()).collect();
    let call = huawei::route(&incoming)
        .and_then(|target| target.signed(signed).decode())
        .unwrap_or_else(|e| panic!("{route:?} does not decode: {e:?}"));
    let name = match &call {
        Call::Ges(version, call) => format!("ges {version:?} {:?}", ges::Action::from(call)),
        Call::FunctionGraph(call) => {
            format!("functiongraph {:?}", functiongraph::Action::from(call))
        }
        Call::CloudGraphs(call) => format!("cloud_graphs {:?}", cloud_graphs::Action::from(call)),
        Call::DataArts(request) => {
            format!("dataarts {:?}", dataarts::Action::from(&request.call))
        }
    };
    (name, call.permission())
}

/// Every route the dialects declare, by the names [`decoded`] gives them.
fn declared_routes() -> BTreeSet<String> {
    fn named<A: std::fmt::Debug>(service: &str, actions: &[A]) -> Vec<String> {
        actions.iter().map(|a| format!("{service} {a:?}")).collect()
    }
    use strum::VariantArray;
    let mut all: Vec<String> = CloudFlowRequest::PERMISSIONS
        .iter()
        .map(|p| format!("cloudflow {p}"))
        .collect();
    all.extend(named("functiongraph", functiongraph::Action::VARIANTS));
    all.extend(named("cloud_graphs", cloud_graphs::Action::VARIANTS));
    all.extend(named("dataarts", dataarts::Action::VARIANTS));
    for version in [ges::Version::V1, ges::Version::V2] {
        all.extend(named(&format!("ges {version:?}"), ges::Action::VARIANTS));
    }
    all.extend(
        crate::stepfunctions::Action::VARIANTS
            .iter()
            .map(|a| format!("stepfunctions {}", <&str>::from(*a))),
    );
    all.extend(
        crate::native::Action::ALL
            .iter()
            .map(|a| format!("native {}", a.as_str())),
    );
    all.into_iter().collect()
}

/// How each service refuses a key without the permission: its own code, HTTP 403, but AWS's
/// JSON protocol, which answers every client error with 400.
fn refusal(route: &str) -> Refusal {
    let (code_key, code, status) = match route.split(' ').next() {
        Some("cloudflow") => ("Code", "AccessDenied", 403),
        Some("functiongraph" | "cloud_graphs") => ("error_code", "FSS.0403", 403),
        Some("dataarts") => ("error_code", "DLF.6888", 403),
        Some("stepfunctions") => ("__type", "AccessDeniedException", 400),
        Some("native") => ("code", "AccessDenied", 403),
        _ if route.starts_with("ges V1 ") => ("errorCode", "GES.7041", 403),
        _ => ("error_code", "GES.7041", 403),
    };
    Refusal {
        code_key,
        code,
        status,
    }
}

/// An answer with its request id (which differs between any two requests) taken out.
fn without_request_id(mut body: Value) -> Value {
    if let Value::Object(fields) = &mut body {
        fields.remove("RequestId");
        fields.remove("request_id");
    }
    body
}

/// Checks one refused answer pair: the refusal, and that the empty server's is the same.
fn check(route: &str, permission: &str, populated: (u16, Value), empty: (u16, Value)) {
    let Refusal {
        code_key,
        code,
        status: refused,
    } = refusal(route);
    let (status, body) = &populated;
    assert_eq!(*status, refused, "{route} ({permission}): {body}");
    assert_eq!(body[code_key], code, "{route} ({permission}): {body}");
    assert_eq!(
        (populated.0, without_request_id(populated.1.clone())),
        (empty.0, without_request_id(empty.1)),
        "{route} ({permission}) tells whether what it names exists"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_refused_without_its_permission() {
    let (populated, empty) = (Server::start().await, Server::start().await);
    let fixtures = populate(&populated).await;
    let before = populated.settled_contents().await;
    let held = |table: &str| before.get(table).map_or(0, Vec::len);
    assert!(held("executions") >= 2 && held("jobs") == 1, "{before:?}");
    let mut walked = BTreeSet::new();

    let fields = cloudflow_fields();
    for permission in CloudFlowRequest::PERMISSIONS {
        let action = permission.trim_start_matches("fnf:");
        let mut params: BTreeMap<String, String> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params
            .extend([("Action", action), ("Version", VERSION)].map(|(k, v)| (k.into(), v.into())));
        let query = alibaba::canonical_query(&params);
        let decoded = CloudFlowRequest::decode(&Params::decode("POST", Some(&query), None, b""))
            .unwrap_or_else(|e| panic!("{action} does not decode: {e:?}"));
        assert_eq!(decoded.permission(), *permission);
        let key = key_without(permission);
        let answers = (
            populated.cloudflow(&key, action, &fields).await,
            empty.cloudflow(&key, action, &fields).await,
        );
        let route = format!("cloudflow {permission}");
        check(&route, permission, answers.0, answers.1);
        walked.insert(route);
    }

    for route in huawei_routes(&fixtures) {
        let (name, permission) = decoded(&route);
        let key = key_without(permission);
        let answers = (
            populated.huawei(&key, &route).await,
            empty.huawei(&key, &route).await,
        );
        check(&name, permission, answers.0, answers.1);
        walked.insert(name);
    }

    {
        use strum::VariantArray;
        for action in crate::stepfunctions::Action::VARIANTS {
            let permission: &'static str = (*action).into();
            let decoded = crate::stepfunctions::Call::decode(
                &stepfunctions::target(*action),
                stepfunctions::body(*action).to_string().as_bytes(),
            )
            .unwrap_or_else(|e| panic!("{permission} does not decode: {e:?}"));
            assert_eq!(decoded.permission(), permission);
            let key = key_without(permission);
            let answers = (
                populated.stepfunctions(&key, *action).await,
                empty.stepfunctions(&key, *action).await,
            );
            let route = format!("stepfunctions {permission}");
            check(&route, permission, answers.0, answers.1);
            walked.insert(route);
        }
    }

    for route in native::routes(&fixtures) {
        let permission = route.action.as_str();
        let key = key_without(permission);
        let answers = (
            populated.native(&key, &route).await,
            empty.native(&key, &route).await,
        );
        let name = format!("native {permission}");
        check(&name, permission, answers.0, answers.1);
        walked.insert(name);
    }

    assert_eq!(
        populated.contents(),
        before,
        "a refused request changed the store"
    );
    // What the requests name is there: every read answers the admin (`MapRunName` is
    // refused outside the Map run actions, which this server does not serve).
    let reads: Vec<_> = fields
        .iter()
        .filter(|(k, _)| *k != "MapRunName")
        .copied()
        .collect();
    for permission in CloudFlowRequest::PERMISSIONS {
        let action = permission.trim_start_matches("fnf:");
        if ["Describe", "Get", "List"]
            .iter()
            .any(|p| action.starts_with(p))
            && !action.contains("MapRun")
        {
            populated.admin_cloudflow(action, &reads).await;
        }
    }
    for route in huawei_routes(&fixtures) {
        if route.method == Method::GET {
            populated.admin(route).await;
        }
    }
    for action in stepfunctions::READS {
        let (status, body) = populated.stepfunctions(ADMIN, action).await;
        assert_eq!(status, 200, "{action:?}: {body}");
    }
    // The event stream never ends: it is read by the native API's own tests.
    for route in native::routes(&fixtures) {
        if route.method == Method::GET && route.action != crate::native::Action::WatchEvents {
            let (status, body) = populated.native(ADMIN, &route).await;
            assert_eq!(status, 200, "{}: {body}", route.path);
        }
    }
    let unwalked: Vec<_> = declared_routes().difference(&walked).cloned().collect();
    assert!(
        unwalked.is_empty(),
        "routes the permission walk has no request for: {unwalked:?}"
    );
}
