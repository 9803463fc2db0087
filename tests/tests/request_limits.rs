//! Request bodies are bounded on every route that takes one: JSON bodies of the API,
//! the import form's text fields and the login form each fail with 413 past their limit.

use callscope_host::HttpLimits;
use callscope_host::routes::api::MAX_FORM_TEXT_BYTES;
use callscope_host::routes::backoffice::MAX_LOGIN_FORM_BYTES;
use callscope_tests::{CSRF_HEADER, ServerOptions, TestServer, broken_component_wasm};

fn broken_server_options() -> ServerOptions {
    // The broken guest grants everything to admin and returns at once. No route here
    // reaches its faults.
    ServerOptions { component: broken_component_wasm(), ..ServerOptions::default() }
}

#[tokio::test]
async fn json_body_over_limit_is_413() {
    let server = TestServer::start(broken_server_options()).await;
    let admin = server.client_for("admin").await;
    let limit = HttpLimits::default().max_json_body_bytes;
    assert_eq!(limit, 64 << 10);

    let comment = "x".repeat(limit);
    let body = serde_json::json!({ "label_id": "x", "target": { "kind": "call" }, "value": true, "comment": comment });
    let response = admin
        .post(server.url("/callscope/api/calls/any/annotations"))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn json_body_under_limit_reaches_handler() {
    let server = TestServer::start(broken_server_options()).await;
    let admin = server.client_for("admin").await;

    let response = admin
        .put(server.url("/callscope/api/review/assignments/no-such-call"))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .json(&serde_json::json!({ "assignee": "x".repeat(1000) }))
        .send()
        .await
        .unwrap();

    assert_ne!(response.status(), 413, "a 1 KB body is within the limit");
}

#[tokio::test]
async fn long_import_title_is_413() {
    let server = TestServer::start(broken_server_options()).await;
    let admin = server.client_for("admin").await;

    let title = "t".repeat(MAX_FORM_TEXT_BYTES + 1);
    let form = callscope_tests::import_form(b"fine".to_vec(), None, &title);
    let response = admin.post(server.url("/callscope/api/calls")).header(CSRF_HEADER.0, CSRF_HEADER.1).multipart(form).send().await.unwrap();

    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("form field title exceeds the limit of 1024 bytes"), "{body}");
    assert_eq!(server.state.storage.count_calls().await.unwrap(), 0);
}

#[tokio::test]
async fn oversized_login_form_is_413() {
    let server = TestServer::start(broken_server_options()).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let password = "p".repeat(MAX_LOGIN_FORM_BYTES);
    let response = client.post(server.url("/login")).form(&[("username", "admin"), ("password", &password)]).send().await.unwrap();

    assert_eq!(response.status(), 413);
}
