use std::time::Duration;

use axum::routing::get;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

async fn panicking() -> Answer {
    panic!("a defect reached by a request")
}

#[tokio::test]
async fn a_panic_is_cloudflows_internal_server_error() {
    let answer = exchange("R1", panicking(), || cloudflow::internal_error("R1")).await;
    assert_eq!(answer.status, 500);
    let body = answer.body.expect("a body");
    assert_eq!(body["Code"], "InternalServerError");
    assert_eq!(body["RequestId"], "R1");
}

#[tokio::test]
async fn a_panic_is_the_huawei_services_own_internal_error() {
    let cases = [
        (
            "/v1/p/jobs/j/start",
            "dataarts",
            json!("DLF.0001"),
            "error_code",
        ),
        (
            "/v2/p/fgs/workflows",
            "functiongraph-v2",
            json!("FSS.0500"),
            "error_code",
        ),
        (
            "/v1.0/p/cloud_graphs",
            "functiongraph-v1",
            json!("FSS.0500"),
            "error_code",
        ),
        (
            "/v2/p/graphs/g/stop",
            "ges",
            json!("GES.7006"),
            "error_code",
        ),
        (
            "/v1.0/p/graphs/g/action",
            "ges",
            json!("GES.7006"),
            "errorCode",
        ),
        ("/nowhere", "huawei", json!("APIG.0101"), "error_code"),
    ];
    for (path, dialect, code, key) in cases {
        let answer = exchange("r1", panicking(), || huawei::internal_error(path, "r1")).await;
        assert_eq!((answer.status, answer.dialect), (500, dialect), "{path}");
        assert_eq!(answer.body.expect("a body")[key], code, "{path}");
    }
}

/// A server on a free port with `app`, held to `limits`.
async fn spawn(app: Router, limits: Limits) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { serve(listener, app, &limits, std::future::pending()).await });
    addr
}

fn limits(header_ms: u64, body_ms: u64, max_connections: usize) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(header_ms),
        body_timeout: Duration::from_millis(body_ms),
        max_connections,
    }
}

/// Everything the server sends until it closes the connection (or `within` runs out: `None`).
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut received)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&received).into_owned())
}

/// One complete answer to a request on a kept-alive connection.
async fn one_answer(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut received = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut received))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8_lossy(&received[..n]).into_owned()
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_connection_stays_open() {
    let app = Router::new().route(
        "/boom",
        get(|| async {
            let answer = exchange("R2", panicking(), || cloudflow::internal_error("R2")).await;
            respond(answer, None)
        }),
    );
    let addr = spawn(app, Limits::default()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n";
    for _ in 0..2 {
        let answer = one_answer(&mut stream, request).await;
        assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
        assert!(answer.contains("InternalServerError"), "{answer}");
    }
}

#[tokio::test]
async fn silent_and_half_sent_headers_are_cut_off_at_the_header_timeout() {
    let app = Router::new().route("/", get(|| async { "ok" }));
    let addr = spawn(app, limits(300, 5_000, 16)).await;
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let mut partial = TcpStream::connect(addr).await.expect("connect");
    partial
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    for stream in [&mut silent, &mut partial] {
        assert!(until_closed(stream, Duration::from_secs(3)).await.is_some());
    }
    // And a kept-alive connection idle after its answer.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    let answer = one_answer(&mut idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        until_closed(&mut idle, Duration::from_secs(3))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn a_withheld_body_is_refused_at_the_body_timeout() {
    let app = Router::new()
        .route("/", axum::routing::post(|body: Bytes| async move { body }))
        .layer(middleware::from_fn_with_state(
            Duration::from_millis(300),
            body_in_time,
        ));
    let addr = spawn(app, limits(5_000, 300, 16)).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf";
    stream.write_all(head.as_bytes()).await.expect("write");
    let answer = until_closed(&mut stream, Duration::from_secs(3))
        .await
        .expect("closed in time");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_one() {
    let app = Router::new().route("/", get(|| async { "ok" }));
    let addr = spawn(app, limits(500, 500, 1)).await;
    let _holder = TcpStream::connect(addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut waiting = TcpStream::connect(addr).await.expect("connect (queued)");
    let started = Instant::now();
    let answer = one_answer(&mut waiting, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Served only once the holder was cut off at its header timeout.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_metrics_key_guards_the_metrics() {
    let metrics = Metrics {
        render: Arc::new(|| "sluice_up 1\n".to_string()),
        key: Some("scrape-key".into()),
    };
    let mut headers = HeaderMap::new();
    assert_eq!(
        scrape(&metrics, &headers).status(),
        StatusCode::UNAUTHORIZED
    );
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer wrong"),
    );
    assert_eq!(
        scrape(&metrics, &headers).status(),
        StatusCode::UNAUTHORIZED
    );
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer scrape-key"),
    );
    assert_eq!(scrape(&metrics, &headers).status(), StatusCode::OK);
    let open = Metrics {
        key: None,
        ..metrics
    };
    assert_eq!(scrape(&open, &HeaderMap::new()).status(), StatusCode::OK);
}
