//! The ingest endpoints vendors call: credentials are checked before parsing, bad
//! bodies get a 4xx with nothing stored, and repeated deliveries update one call.

use std::time::{SystemTime, UNIX_EPOCH};

use callscope_api_types as api;
use callscope_host::webhook_auth::retell_digest;
use callscope_tests::{ServerOptions, TEST_OTLP_TOKEN, TEST_RETELL_KEY, TEST_VAPI_SECRET, TestServer, fixture};

fn read(relative: &str) -> Vec<u8> {
    let path = fixture(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()))
}

async fn post_vapi(server: &TestServer, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/callscope/ingest/webhooks/vapi"))
        .header("x-vapi-secret", TEST_VAPI_SECRET)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("posting the Vapi webhook")
}

fn retell_signature(body: &[u8]) -> String {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis().to_string();
    format!("v={now_ms},d={}", retell_digest(TEST_RETELL_KEY, body, &now_ms))
}

async fn post_retell(server: &TestServer, body: Vec<u8>, signature: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/callscope/ingest/webhooks/retell"))
        .header("x-retell-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("posting the Retell webhook")
}

async fn post_otlp(server: &TestServer, body: Vec<u8>, content_type: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/callscope/ingest/v1/traces"))
        .bearer_auth(TEST_OTLP_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("posting OTLP traces")
}

async fn error_of(response: reqwest::Response) -> api::ApiError {
    response.json().await.expect("error responses carry an ApiError body")
}

#[tokio::test]
async fn vapi_redelivery_updates_one_call() {
    let server = TestServer::start(ServerOptions::default()).await;
    let report = read("calls/sales-call/report.json");

    let first = post_vapi(&server, report.clone()).await;
    assert_eq!(first.status(), 200);
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["created"], true);

    let second = post_vapi(&server, report).await;
    assert_eq!(second.status(), 200);
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second["created"], false);
    assert_eq!(second["call_id"], first["call_id"]);

    assert_eq!(server.state.storage.count_calls().await.unwrap(), 1);
    let call_id = first["call_id"].as_str().unwrap().to_owned();
    assert_eq!(server.state.storage.count_raw_payloads(call_id).await.unwrap(), 2, "every delivery is kept");
}

#[tokio::test]
async fn vapi_wrong_secret_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    let response = reqwest::Client::new()
        .post(server.url("/callscope/ingest/webhooks/vapi"))
        .header("x-vapi-secret", "guess")
        .body(read("calls/sales-call/report.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(server.state.storage.count_calls().await.unwrap(), 0);
}

#[tokio::test]
async fn retell_bad_signature_rejected_before_parsing() {
    let server = TestServer::start(ServerOptions::default()).await;
    // The body is not even JSON: a 401 proves the component never saw it.
    let body = b"not json at all".to_vec();
    let response = post_retell(&server, body, "v=1,d=00").await;
    assert_eq!(response.status(), 401);
    assert!(error_of(response).await.message.contains("away from this server's clock"));
}

#[tokio::test]
async fn retell_signed_garbage_is_bad_request() {
    let server = TestServer::start(ServerOptions::default()).await;
    let body = b"{\"event\": \"call_ended\", \"call\": ".to_vec();
    let signature = retell_signature(&body);
    let response = post_retell(&server, body, &signature).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await.error, "invalid-json");
    assert_eq!(server.state.storage.count_calls().await.unwrap(), 0);
}

/// Posts `body` to the Vapi webhook and expects a 4xx naming `needle`, with nothing
/// stored.
async fn expect_vapi_rejected(body: Vec<u8>, status: u16, needle: &str) {
    let server = TestServer::start(ServerOptions::default()).await;
    let response = post_vapi(&server, body).await;
    assert_eq!(response.status(), status);
    let text = response.text().await.unwrap();
    assert!(text.to_lowercase().contains(needle), "response {text:?} should mention {needle:?}");
    assert_eq!(server.state.storage.count_calls().await.unwrap(), 0);
}

#[tokio::test]
async fn truncated_json_rejected() {
    let report = read("calls/sales-call/report.json");
    expect_vapi_rejected(report[..report.len() / 2].to_vec(), 400, "json").await;
}

#[tokio::test]
async fn hundred_megabyte_payload_rejected() {
    let mut body = b"{\"message\": \"".to_vec();
    body.resize(100 << 20, b'a');
    expect_vapi_rejected(body, 413, "length limit").await;
}

#[tokio::test]
async fn deeply_nested_json_rejected() {
    let depth = 10_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
    expect_vapi_rejected(body, 413, "nest").await;
}

#[tokio::test]
async fn non_utf8_payload_rejected() {
    let mut body = read("calls/sales-call/report.json");
    body[10] = 0xff;
    expect_vapi_rejected(body, 400, "utf-8").await;
}

#[tokio::test]
async fn otlp_wrong_content_type_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    let response = post_otlp(&server, b"{}".to_vec(), "text/plain").await;
    assert_eq!(response.status(), 415);
    assert!(error_of(response).await.message.contains("application/x-protobuf"));
}

#[tokio::test]
async fn otlp_without_token_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    let response = reqwest::Client::new()
        .post(server.url("/callscope/ingest/v1/traces"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn retell_signed_webhook_creates_call() {
    let server = TestServer::start(ServerOptions::default()).await;
    let body = read("payloads/retell__call_analyzed.webhook.json");
    let golden: api::NormalizedCall =
        serde_json::from_slice(&read("payloads/golden/retell__call_analyzed.webhook.json")).unwrap();

    let response = post_retell(&server, body.clone(), &retell_signature(&body)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    let accepted: serde_json::Value = response.json().await.unwrap();
    let call_id = accepted["call_id"].as_str().unwrap().to_owned();

    let stored = server.state.storage.get_call(call_id).await.unwrap().unwrap();
    assert_eq!(stored.call.format, golden.format);
    assert_eq!(stored.call.vendor_call_id, golden.vendor_call_id);
    assert_eq!(stored.call.utterances.len(), golden.utterances.len());
}

#[tokio::test]
async fn retell_events_of_one_call_share_a_row() {
    let server = TestServer::start(ServerOptions::default()).await;
    for fixture_name in ["payloads/retell__call_started.webhook.json", "payloads/retell__call_analyzed.webhook.json"] {
        let body = read(fixture_name);
        let response = post_retell(&server, body.clone(), &retell_signature(&body)).await;
        assert_eq!(response.status(), 200, "{fixture_name}");
    }
    assert_eq!(server.state.storage.count_calls().await.unwrap(), 1, "call_started and call_analyzed update one call");
}

/// Splits the OTLP JSON fixture into two requests, each with half of the spans.
fn otlp_halves() -> (Vec<u8>, Vec<u8>) {
    let whole: serde_json::Value = serde_json::from_slice(&read("payloads/pipecat__conversation.otlp.json")).unwrap();
    let spans = whole["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().unwrap().clone();
    let middle = spans.len() / 2;
    let with_spans = |part: &[serde_json::Value]| {
        let mut copy = whole.clone();
        copy["resourceSpans"][0]["scopeSpans"][0]["spans"] = serde_json::Value::Array(part.to_vec());
        serde_json::to_vec(&copy).unwrap()
    };
    (with_spans(&spans[..middle]), with_spans(&spans[middle..]))
}

async fn only_call(server: &TestServer) -> api::NormalizedCall {
    let list = server.state.storage.list_calls(0, 10).await.unwrap();
    assert_eq!(list.calls.len(), 1, "one conversation makes one call: {:?}", list.calls);
    server.state.storage.get_call(list.calls[0].id.clone()).await.unwrap().unwrap().call
}

#[tokio::test]
async fn otlp_json_and_protobuf_give_same_call() {
    let json_server = TestServer::start(ServerOptions::default()).await;
    let response = post_otlp(&json_server, read("payloads/pipecat__conversation.otlp.json"), "application/json").await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    let from_json = only_call(&json_server).await;

    let protobuf_server = TestServer::start(ServerOptions::default()).await;
    let response = post_otlp(&protobuf_server, read("payloads/pipecat__conversation.otlp.pb"), "application/x-protobuf").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let from_protobuf = only_call(&protobuf_server).await;

    let golden: api::NormalizedCall =
        serde_json::from_slice(&read("payloads/golden/pipecat__conversation.json")).unwrap();
    assert_eq!(from_json.utterances.len(), golden.utterances.len());
    assert_eq!(from_json.spans.len(), golden.spans.len());
    // The raw span kept in `unknown_fields` shows each encoding as it came (an empty
    // status is `{}` in JSON and absent in protobuf), so the normalised parts are compared.
    assert_eq!(from_json.utterances, from_protobuf.utterances);
    assert_eq!(from_json.turn_metrics, from_protobuf.turn_metrics);
    assert_eq!(from_json.latency_percentiles, from_protobuf.latency_percentiles);
    assert_eq!(from_json.spans.len(), from_protobuf.spans.len());
}

#[tokio::test]
async fn otlp_spans_out_of_order_across_requests() {
    let whole_server = TestServer::start(ServerOptions::default()).await;
    post_otlp(&whole_server, read("payloads/pipecat__conversation.otlp.json"), "application/json").await;
    let whole = only_call(&whole_server).await;

    let split_server = TestServer::start(ServerOptions::default()).await;
    let (first, second) = otlp_halves();
    for half in [second, first] {
        let response = post_otlp(&split_server, half, "application/json").await;
        assert_eq!(response.status(), 200);
    }
    let split = only_call(&split_server).await;
    assert_eq!(split.utterances, whole.utterances);
    assert_eq!(split.spans, whole.spans);
}
