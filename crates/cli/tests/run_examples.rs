//! `sluice run` end to end: the built binary over the spec §7 examples A–L
//! (expectations in `tests/data/examples.json`) and over every documented example of the
//! vendors' pages (`tests/data/documented/cases.json`), against functions served on 127.0.0.1.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use support::functions::{Behaviour, SLOW_WORK, Served, serve};

// ---- running the binary -------------------------------------------------------------------

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn example(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lang/tests/data/cloudflow")
        .join(file)
}

fn test_data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    fn of(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            took: Duration::ZERO,
        }
    }

    fn output(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// The `--history` lines of stderr.
    fn events(&self) -> Vec<Value> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn entered(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["Type"] == "StepEntered")
            .map(|e| e["StepName"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

// ---- the examples -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    file: String,
    input: Value,
    #[serde(default)]
    functions: HashMap<String, Behaviour>,
    interrupt_after_calls: Option<usize>,
    expect: Expect,
    /// Documented cases: the key of their source in `pages`.
    page: Option<String>,
    /// An issue item the case waits for: it is skipped, saying so.
    needs: Option<String>,
    /// The same, for `sluice run` only (`sluice serve` runs the case).
    run_needs: Option<String>,
    #[serde(skip)]
    path: PathBuf,
}

#[derive(Debug, Deserialize)]
struct Expect {
    exit: i32,
    output: Option<Value>,
    error: Option<String>,
    #[serde(default)]
    entered: Vec<String>,
    #[serde(default)]
    not_entered: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    calls: HashMap<String, usize>,
    /// The run must last at least this long (Wait states run in real time).
    min_seconds: Option<u64>,
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
    #[serde(default)]
    pages: HashMap<String, Value>,
}

/// Spec §7's examples; their files are in `crates/lang/tests/data/cloudflow/`.
fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(test_data("examples.json")).unwrap();
    let mut cases = serde_json::from_str::<Cases>(&text).unwrap().cases;
    for case in &mut cases {
        case.path = example(&case.file);
    }
    cases
}

/// The documented examples, each naming its source page; files are relative to the
/// repository root.
fn documented_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(test_data("documented/cases.json")).unwrap();
    let Cases { mut cases, pages } = serde_json::from_str(&text).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for case in &mut cases {
        let page = case.page.as_deref().unwrap_or_default();
        assert!(pages.contains_key(page), "{}: no page {page:?}", case.name);
        case.path = root.join(&case.file);
    }
    cases
}

fn run_case(case: &Case) -> (Run, Arc<Served>) {
    let (addr, served) = serve(case.functions.clone());
    let mut command = sluice();
    command
        .arg("run")
        .arg(&case.path)
        .args(["--history", "--input", &case.input.to_string()])
        .args(["--function-url", &format!("http://{addr}/{{function}}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = command.spawn().unwrap();
    if let Some(calls) = case.interrupt_after_calls {
        let total = || {
            case.functions
                .keys()
                .map(|f| served.calls(f))
                .sum::<usize>()
        };
        wait_for(|| total() >= calls, &case.name);
        interrupt(child.id());
    }
    let mut run = Run::of(child.wait_with_output().unwrap());
    run.took = started.elapsed();
    (run, served)
}

fn wait_for(condition: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: timed out waiting");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ctrl-C, as a terminal sends it.
fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every way `run` differs from `expect`, as readable lines.
fn mismatches(case: &Case, run: &Run, served: &Served) -> Vec<String> {
    let expect = &case.expect;
    let mut problems = Vec::new();
    if run.code != expect.exit {
        problems.push(format!("exit code {} instead of {}", run.code, expect.exit));
    }
    if let Some(output) = &expect.output
        && serde_json::from_str::<Value>(run.stdout.trim())
            .ok()
            .as_ref()
            != Some(output)
    {
        problems.push(format!("output {} instead of {output}", run.stdout.trim()));
    }
    if let Some(code) = &expect.error
        && !run
            .stderr
            .lines()
            .any(|l| l.starts_with(&format!("Error: {code}")))
    {
        problems.push(format!("no `Error: {code}` line"));
    }
    for text in &expect.stderr {
        if !run.stderr.contains(text.as_str()) {
            problems.push(format!("stderr lacks {text:?}"));
        }
    }
    if !expect.entered.is_empty() && !is_subsequence(&expect.entered, &run.entered()) {
        problems.push(format!(
            "entered {:?}, expected in order {:?}",
            run.entered(),
            expect.entered
        ));
    }
    for step in &expect.not_entered {
        if run.entered().contains(step) {
            problems.push(format!("entered {step:?}, which must not run"));
        }
    }
    if let Some(seconds) = expect.min_seconds
        && run.took < Duration::from_secs(seconds)
    {
        problems.push(format!("took {:?}, less than {seconds} s", run.took));
    }
    for (function, count) in &expect.calls {
        if served.calls(function) != *count {
            problems.push(format!(
                "{function} called {} times, expected {count}",
                served.calls(function)
            ));
        }
    }
    problems
}

fn is_subsequence(wanted: &[String], seen: &[String]) -> bool {
    let mut seen = seen.iter();
    wanted.iter().all(|w| seen.any(|s| s == w))
}

#[test]
fn every_spec_example_runs_as_documented() {
    let cases = cases();
    let letters: std::collections::BTreeSet<char> =
        cases.iter().filter_map(|c| c.file.chars().next()).collect();
    assert_eq!(letters.into_iter().collect::<String>(), "ABCDEFGHIJKL");
    assert_all_run_as_expected(&cases);
}

/// Prints each skipped case and why (nextest shows this test's output even when it passes:
/// `.config/nextest.toml`).
#[test]
fn every_documented_example_runs_as_documented() {
    let (skipped, runnable): (Vec<Case>, Vec<Case>) = documented_cases()
        .into_iter()
        .partition(|c| c.needs.is_some() || c.run_needs.is_some());
    for case in &skipped {
        let needs = case.needs.as_ref().or(case.run_needs.as_ref());
        println!(
            "skipped: {}: needs {}",
            case.name,
            needs.map(String::as_str).unwrap_or_default()
        );
    }
    println!(
        "{} documented cases: {} run, {} skipped",
        runnable.len() + skipped.len(),
        runnable.len(),
        skipped.len()
    );
    assert_all_run_as_expected(&runnable);
}

/// Runs every case at once (each with its own function server) and reports every mismatch.
fn assert_all_run_as_expected(cases: &[Case]) {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|case| scope.spawn(move || (case, run_case(case))))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                let (case, (run, served)) = handle.join().unwrap();
                mismatches(case, &run, &served)
                    .into_iter()
                    .map(move |problem| {
                        format!("{}: {problem}\n  stderr: {}", case.name, run.stderr.trim())
                    })
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- the command itself -------------------------------------------------------------------

#[test]
fn a_bad_definition_is_reported_with_line_and_column_and_exit_2() {
    let run = Run::of(
        sluice()
            .arg("run")
            .arg(test_data("bad-definition.yaml"))
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("Error: "), "{}", run.stderr);
    let located: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("bad-definition.yaml: line "))
        .collect();
    assert!(!located.is_empty(), "{}", run.stderr);
    assert!(
        located.iter().all(|l| l.contains(", column ")),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

/// The state of an `invocationType: Async` task is done before the function is: the run prints
/// its output while the function still works, then waits for its answer before it exits.
#[test]
fn an_async_invocation_is_done_before_the_function_is() {
    let functions = HashMap::from([("slow".to_string(), Behaviour::Slow(json!({"late": true})))]);
    let (addr, served) = serve(functions);
    let mut child = sluice()
        .arg("run")
        .arg(test_data("async-invocation.yaml"))
        .args(["--function-url", &format!("http://{addr}/{{function}}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut output = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut output)
        .unwrap();
    let printed = Instant::now();
    assert_eq!(served.answered("slow"), None, "the function still works");
    let exit = child.wait().unwrap();
    let exited = Instant::now();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    assert!(exit.success(), "{stderr}");
    let output: Value = serde_json::from_str(&output).unwrap();
    assert_eq!(
        output["submitted"]["RequestId"].as_str().map(str::len),
        Some(36)
    );
    assert_eq!(output["next"], json!("ran at once"));
    let answered = served.answered("slow").expect("the function answered");
    assert!(printed < answered && answered <= exited);
    assert!(
        stderr.contains("Waiting for 1 asynchronous invocation(s) to finish"),
        "{stderr}"
    );
}

#[test]
fn input_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    std::fs::write(&input, r#"{"status": "ready"}"#).unwrap();
    let run = Run::of(
        sluice()
            .arg("run")
            .arg(example("B-choice.yaml"))
            .arg("--input")
            .arg(format!("@{}", input.display()))
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.output(), json!({"status": "ready"}));
}

#[test]
fn invalid_input_json_is_a_usage_error() {
    let run = Run::of(
        sluice()
            .arg("run")
            .arg(example("A-pass-constant-input.yaml"))
            .args(["--input", "{not json"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--input is not valid JSON"),
        "{}",
        run.stderr
    );
}

#[test]
fn history_has_dense_event_ids_from_1_and_ends_with_the_terminal_event() {
    let run = Run::of(
        sluice()
            .arg("run")
            .arg(example("C-parallel.yaml"))
            .arg("--history")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events = run.events();
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e["EventId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>());
    let last = events.last().unwrap();
    assert_eq!(last["Type"], "ExecutionSucceeded");
    for event in &events {
        let time = event["Time"].as_str().unwrap();
        assert!(
            time.ends_with('Z') && time.len() == "2026-01-01T00:00:00.000Z".len(),
            "{time}"
        );
        let detail = event["EventDetail"].as_str().unwrap();
        assert!(serde_json::from_str::<Value>(detail).is_ok(), "{detail}");
        assert!(event["ScheduleEventId"].is_u64() && event["StepName"].is_string());
    }
}

#[test]
fn a_function_url_per_name_wins_over_the_template() {
    let (addr, served) = serve(HashMap::from([
        ("myFunction1".to_string(), Behaviour::Echo),
        (
            "second".to_string(),
            Behaviour::Return(json!({"via": "--function"})),
        ),
    ]));
    let run = Run::of(
        sluice()
            .arg("run")
            .arg(example("E-task-function-compute.yaml"))
            .env("SLUICE_FUNCTION_URL", format!("http://{addr}/{{function}}"))
            .arg("--function")
            .arg(format!("myService2/myFunction2=http://{addr}/second"))
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The second call is an asynchronous invocation: its output is the invocation's id.
    assert!(run.output()["RequestId"].is_string(), "{}", run.stdout);
    assert_eq!(
        (
            served.calls("myFunction1"),
            served.calls("second"),
            served.calls("myFunction2")
        ),
        (1, 1, 0)
    );
}

#[test]
fn a_function_without_url_fails_with_a_hint() {
    let run = Run::of(
        sluice()
            .arg("run")
            .arg(example("E-task-function-compute.yaml"))
            .env_remove("SLUICE_FUNCTION_URL")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Error: FC.FunctionNotFound: "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--function-url"), "{}", run.stderr);
    assert!(run.stderr.contains("Status: Failed"), "{}", run.stderr);
}

// ---- every language sluice serves ---------------------------------------------------------

fn dialect_file(file: &str) -> PathBuf {
    test_data("dialects").join(file)
}

fn lang_data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lang/tests/data")
        .join(file)
}

fn run_with_functions(file: &Path, addr: SocketAddr, args: &[&str]) -> Run {
    Run::of(
        sluice()
            .arg("run")
            .arg(file)
            .args(["--function-url", &format!("http://{addr}/{{function}}")])
            .args(args)
            .output()
            .unwrap(),
    )
}

/// A FunctionGraph v2 workflow, told by its text: two functions in sequence, then both in
/// parallel, `$CONST` and `state_data_filter` applied.
#[test]
fn a_functiongraph_v2_workflow_runs() {
    let (addr, served) = serve(HashMap::from([
        ("double".to_string(), Behaviour::Echo),
        ("square".to_string(), Behaviour::Echo),
    ]));
    let file = lang_data("functiongraph/v2/sequential-and-parallel.json");
    let run = run_with_functions(&file, addr, &["--input", r#"{"n": 3}"#]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.output(), json!([{"n": 3, "k": 10}, {"n": 3}]));
    assert_eq!((served.calls("double"), served.calls("square")), (2, 2));
}

/// A v1.0 `cloud_graphs` definition waits in its EVENT state for the event `--event` gives
/// (the server's `event_test`), runs the event's action on it, and routes by it.
#[test]
fn a_functiongraph_v1_graph_runs_on_the_event_it_is_given() {
    let (addr, served) = serve(HashMap::from([("enrich".to_string(), Behaviour::Echo)]));
    let file = dialect_file("functiongraph-v1-order.json");
    let fast = run_with_functions(
        &file,
        addr,
        &["--history", "--event", r#"{"kind": "fast", "id": 1}"#],
    );
    assert_eq!(fast.code, 0, "{}", fast.stderr);
    assert_eq!(fast.output(), json!({"kind": "fast", "id": 1}));
    assert!(!fast.entered().contains(&"pause".to_string()));
    assert_eq!(served.calls("enrich"), 1);

    let slow = run_with_functions(&file, addr, &["--event", r#"{"kind": "slow"}"#]);
    // The DELAY state waits its second in real time.
    assert_eq!(slow.code, 0, "{}", slow.stderr);
    assert_eq!(slow.output(), json!({"kind": "slow"}));
    assert!(slow.entered().is_empty(), "no --history asked");

    let without = run_with_functions(&file, addr, &[]);
    assert_eq!(without.code, 2, "{}", without.stderr);
    assert!(
        without.stderr.contains("\"wait_order\" waits for an event")
            && without.stderr.contains("--event"),
        "{}",
        without.stderr
    );
    assert_eq!(served.calls("enrich"), 2, "a refused run calls nothing");
}

/// A DataArts Factory job (`JobInfo`): its nodes run in the order of their `preNodeName`
/// edges; the output holds each node's output by name.
#[test]
fn a_dataarts_job_runs_its_nodes_in_order() {
    let (addr, served) = serve(HashMap::from([
        ("extract".to_string(), Behaviour::Echo),
        ("load".to_string(), Behaviour::Return(json!({"rows": 2}))),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.json");
    let text = std::fs::read_to_string(dialect_file("dataarts-job.json")).unwrap();
    std::fs::write(&job, text.replace("{functions}", &format!("http://{addr}"))).unwrap();
    let run = run_with_functions(&job, addr, &["--history"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output(),
        json!({"extract": {"day": "today"}, "transform": {}, "load": {"rows": 2}})
    );
    let nodes: Vec<String> = run
        .entered()
        .into_iter()
        .filter(|s| !s.starts_with('#'))
        .collect();
    assert_eq!(nodes, ["extract", "transform", "load"]);
    assert!(served.answered("extract") < served.answered("load"));
}

/// `--dialect` says the language outright: the text is then compiled as that language, and
/// its problems are worded by it.
#[test]
fn the_dialect_flag_wins_over_the_text() {
    let as_job = Run::of(
        sluice()
            .arg("run")
            .args(["--dialect", "dataarts"])
            .arg(example("A-pass-constant-input.yaml"))
            .output()
            .unwrap(),
    );
    assert_eq!(as_job.code, 2, "{}", as_job.stderr);
    assert!(
        as_job.stderr.contains("is not a valid dataarts definition")
            && as_job.stderr.contains("a job requires the field \"nodes\""),
        "{}",
        as_job.stderr
    );
    let as_cloudflow = Run::of(
        sluice()
            .arg("run")
            .args(["--dialect", "cloudflow"])
            .arg(example("A-pass-constant-input.yaml"))
            .output()
            .unwrap(),
    );
    assert_eq!(as_cloudflow.code, 0, "{}", as_cloudflow.stderr);

    let unknown = Run::of(
        sluice()
            .arg("run")
            .args(["--dialect", "airflow"])
            .arg(example("A-pass-constant-input.yaml"))
            .output()
            .unwrap(),
    );
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("cloudflow, functiongraph-v2, functiongraph-v1, dataarts, asl"),
        "{}",
        unknown.stderr
    );
}

// ---- distributed Map ----------------------------------------------------------------------

/// Each item runs as a child execution; a Ctrl-C of the parent stops the children in flight
/// (their calls are aborted) and no further child starts.
#[test]
fn a_distributed_map_runs_children_and_stops_them_on_ctrl_c() {
    let (addr, served) = serve(HashMap::from([("work".to_string(), Behaviour::Echo)]));
    let file = test_data("distributed-map.yaml");
    let run = run_with_functions(&file, addr, &["--input", r#"{"items": [1, 2, 3]}"#]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output(),
        json!({"Items": [{"item": 1}, {"item": 2}, {"item": 3}]})
    );
    assert_eq!(served.calls("work"), 3);

    let (addr, served) = serve(HashMap::from([(
        "work".to_string(),
        Behaviour::Slow(json!({"late": true})),
    )]));
    let child = sluice()
        .arg("run")
        .arg(&file)
        .args(["--input", r#"{"items": [1, 2, 3, 4, 5]}"#])
        .args(["--function-url", &format!("http://{addr}/{{function}}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(|| served.calls("work") >= 2, "two children call");
    interrupt(child.id());
    let run = Run::of(child.wait_with_output().unwrap());
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("Status: Stopped"), "{}", run.stderr);
    std::thread::sleep(SLOW_WORK);
    assert_eq!(served.calls("work"), 2, "no child started after the stop");
    assert_eq!(
        served.answered("work"),
        None,
        "the calls in flight were aborted"
    );
}

// ---- items and results in a bucket --------------------------------------------------------

/// A copy of `tests/data/buckets/example-bucket` (a `ResultWriter` writes into it).
fn example_bucket() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        let mut folders = vec![(from.to_path_buf(), to.to_path_buf())];
        while let Some((from, to)) = folders.pop() {
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(&from).unwrap() {
                let entry = entry.unwrap();
                let target = to.join(entry.file_name());
                if entry.file_type().unwrap().is_dir() {
                    folders.push((entry.path(), target));
                } else {
                    std::fs::copy(entry.path(), target).unwrap();
                }
            }
        }
    };
    copy(&test_data("buckets/example-bucket"), dir.path());
    dir
}

fn run_with_bucket(file: &str, bucket: &Path, input: &str) -> Run {
    Run::of(
        sluice()
            .arg("run")
            .arg(test_data(&format!("buckets/{file}")))
            .args(["--input", input])
            .arg("--bucket")
            .arg(format!("example-bucket={}", bucket.display()))
            .output()
            .unwrap(),
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// AWS's CSV `ItemReader` and `ResultWriter` examples: each row a child, the results under
/// the prefix and map run, named by a manifest; the Map's output says where.
#[test]
fn asl_items_read_from_a_csv_object_and_results_written_to_the_bucket() {
    let bucket = example_bucket();
    let run = run_with_bucket("asl-csv-reader.json", bucket.path(), "{}");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let output = run.output();
    let key = output["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert!(key.starts_with("csvProcessJobs/") && key.ends_with("/manifest.json"));
    assert_eq!(output["ResultWriterDetails"]["Bucket"], "example-bucket");
    let manifest = read_json(&bucket.path().join(key));
    let succeeded = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap();
    let results = read_json(&bucket.path().join(succeeded));
    let outputs: Vec<Value> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r["Output"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(
        outputs,
        [
            json!({"movie": "307", "rating": "3.5"}),
            json!({"movie": "481", "rating": "3.5"}),
            json!({"movie": "1091", "rating": "1.5"}),
        ]
    );
}

#[test]
fn asl_listings_and_json_lines_with_max_items() {
    let bucket = example_bucket();
    let run = run_with_bucket(
        "asl-list-objects.json",
        bucket.path(),
        r#"{"prefix": "processData/"}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output(),
        json!([{"key": "processData/images/n02085620_10074.jpg", "size": 4}])
    );
    let run = run_with_bucket(
        "asl-jsonl-reader.json",
        bucket.path(),
        r#"{"key": "items.jsonl", "max": 2}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.output(), json!(["A", "B"]));
    let run = run_with_bucket(
        "asl-json-reader.json",
        bucket.path(),
        r#"{"key": "items.json"}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output(),
        json!([{"name": "a", "index": 0}, {"name": "b", "index": 1}])
    );
    let run = run_with_bucket("asl-batched-reader.json", bucket.path(), "{}");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output(),
        json!([
            {"batch": "December 2022", "items": 2},
            {"batch": "December 2022", "items": 1}
        ])
    );
}

/// CloudFlow's `OSS_CSV` reader with `MaxItems`, an `ItemConstructor` and a `ResultWriter`;
/// an `OSS_JSON_LIST` object named by an expression.
#[test]
fn cloudflow_items_read_from_oss_objects() {
    let bucket = example_bucket();
    let run = run_with_bucket("cloudflow-csv-reader.yaml", bucket.path(), "{}");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let key = run.output()["ResultWriterDetails"]["Key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("results/"), "{key}");
    let folder = bucket.path().join(key.trim_end_matches("manifest.json"));
    let records = read_json(&folder.join("SUCCEEDED_0.json"));
    assert_eq!(
        records,
        json!([
            {"Index": 0, "Status": "SUCCEEDED", "Output": "{\"movie\":\"307\"}"},
            {"Index": 1, "Status": "SUCCEEDED", "Output": "{\"movie\":\"481\"}"},
        ])
    );
    let run = run_with_bucket(
        "cloudflow-json-list.yaml",
        bucket.path(),
        r#"{"object": "items.json"}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output(),
        json!({"Items": [{"name": "a"}, {"name": "b"}]})
    );
}

/// An `ObjectName` of `../../etc/passwd` fails the Map without reading outside the bucket;
/// a bucket not configured is refused too.
#[test]
fn a_key_leaving_the_bucket_is_refused() {
    let bucket = example_bucket();
    let run = run_with_bucket("traversal.yaml", bucket.path(), "{}");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("FnF.ItemReaderFailed: the object key \"../../etc/passwd\" is refused"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("root:"), "{}", run.stdout);
    let run = Run::of(
        sluice()
            .arg("run")
            .arg(test_data("buckets/cloudflow-json-list.yaml"))
            .args(["--input", r#"{"object": "items.json"}"#])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no bucket \"example-bucket\" is configured"),
        "{}",
        run.stderr
    );
}
