//! Annotation, review, redaction, export and sign-in through the API: versioned edits
//! with conflicts, validation by the component, personal data removed for users
//! without the permission, and the proxy and JWT authenticators.

use std::sync::Arc;

use callscope_api_types as api;
use callscope_host::jwt_auth::JwtAuth;
use callscope_host::proxy_auth::TrustedProxy;
use callscope_tests::{CSRF_HEADER, ServerOptions, TestServer, fixture, import_form};
use serde_json::json;

/// Personal data in `fixtures/review/pii-call.json`, as it appears in the payload.
const PII_VALUES: [&str; 6] =
    ["jane.doe@example.com", "(415) 555-0142", "4111 1111 1111 1111", "078-05-1120", "415-555-0199", "four one five, five five five"];

async fn import_pii_call(server: &TestServer) -> String {
    let admin = server.client_for("admin").await;
    let payload = std::fs::read(fixture("review/pii-call.json")).expect("reading the PII fixture");
    let response = admin
        .post(server.url("/callscope/api/calls"))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .multipart(import_form(payload, None, "PII call"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    let summary: api::CallSummary = response.json().await.unwrap();
    summary.id
}

async fn post_annotation(server: &TestServer, client: &reqwest::Client, call_id: &str, body: serde_json::Value) -> reqwest::Response {
    client
        .post(server.url(&format!("/callscope/api/calls/{call_id}/annotations")))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn put_annotation(server: &TestServer, client: &reqwest::Client, id: &str, body: serde_json::Value) -> reqwest::Response {
    client
        .put(server.url(&format!("/callscope/api/annotations/{id}")))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn concurrent_edits_one_conflicts() {
    let server = TestServer::start(ServerOptions::default()).await;
    let call_id = import_pii_call(&server).await;
    let annotator = server.client_for("annotator").await;

    let created = post_annotation(
        &server,
        &annotator,
        &call_id,
        json!({"label_id": "wrong-answer", "target": {"type": "utterance", "index": 7}, "value": "factual", "comment": "price is wrong"}),
    )
    .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap_or_default());
    let created: api::Annotation = created.json().await.unwrap();
    assert_eq!((created.version, created.author.as_str()), (1, "annotator"));

    // Two tabs edit version 1 at once.
    let edit = |value: &str| {
        json!({"label_id": "wrong-answer", "target": {"type": "utterance", "index": 7}, "value": value, "base_version": 1})
    };
    let (first, second) = tokio::join!(
        put_annotation(&server, &annotator, &created.id, edit("incomplete")),
        put_annotation(&server, &annotator, &created.id, edit("off-topic")),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "one edit wins, the other is refused");
    let (winner, loser) = if first.status() == 200 { (first, second) } else { (second, first) };
    let winner: api::Annotation = winner.json().await.unwrap();
    let conflict: api::VersionConflict = loser.json().await.unwrap();
    assert_eq!(winner.version, 2);
    assert_eq!(conflict.error, "version-conflict");
    assert_eq!(conflict.current.as_ref().map(|c| (c.version, c.input.value.clone())), Some((2, winner.input.value.clone())));

    // Deleting with the stale version is refused too; with the current one it works.
    let stale_delete = annotator
        .delete(server.url(&format!("/callscope/api/annotations/{}?base_version=1", created.id)))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .send()
        .await
        .unwrap();
    assert_eq!(stale_delete.status(), 409);

    // Another annotator may not change it.
    let reviewer = server.client_for("reviewer").await;
    let foreign = put_annotation(&server, &reviewer, &created.id, edit("factual").as_object().cloned().map(|mut o| {
        o.insert("base_version".into(), json!(2));
        serde_json::Value::Object(o)
    }).unwrap())
    .await;
    assert_eq!(foreign.status(), 403, "only the author edits an annotation");

    let deleted = annotator
        .delete(server.url(&format!("/callscope/api/annotations/{}?base_version=2", created.id)))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let history: Vec<api::AnnotationVersion> = reviewer
        .get(server.url(&format!("/callscope/api/annotations/{}/history", created.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<(u32, Option<u32>, &str)> = history.iter().map(|v| (v.version, v.previous_version, v.action.as_str())).collect();
    assert_eq!(actions, [(1, None, "create"), (2, Some(1), "edit"), (3, Some(2), "delete")]);
    assert_eq!(history[0].content.as_ref().and_then(|c| c.comment.as_deref()), Some("price is wrong"));

    let listed: api::CallAnnotations =
        annotator.get(server.url(&format!("/callscope/api/calls/{call_id}/annotations"))).send().await.unwrap().json().await.unwrap();
    assert!(listed.annotations.is_empty(), "a deleted annotation is not listed");
    assert_eq!(listed.missing_required, ["call-outcome", "caller-satisfaction"]);
}

#[tokio::test]
async fn invalid_annotations_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    let call_id = import_pii_call(&server).await;
    let annotator = server.client_for("annotator").await;

    let cases = [
        (json!({"label_id": "no-such-label", "target": {"type": "call"}, "value": true}), "no-such-label"),
        (json!({"label_id": "late-answer", "target": {"type": "utterance", "index": 99}, "value": true}), "99"),
        (json!({"label_id": "late-answer", "target": {"type": "time-range", "start_ms": 5000, "end_ms": 999999}, "value": true}), "999999"),
        (json!({"label_id": "caller-satisfaction", "target": {"type": "call"}, "value": 9}), "9"),
        (json!({"label_id": "wrong-answer", "target": {"type": "utterance", "index": 1}, "value": "rude"}), "rude"),
        (json!({"label_id": "late-answer", "target": {"type": "channel-range", "channel": 0, "start_ms": 0, "end_ms": 100}, "value": true}), "channel"),
    ];
    for (body, named) in cases {
        let response = post_annotation(&server, &annotator, &call_id, body.clone()).await;
        assert_eq!(response.status(), 422, "{body} should be refused");
        let error: api::ApiError = response.json().await.unwrap();
        assert_eq!(error.error, "invalid-annotation");
        assert!(error.message.contains(named), "the message for {body} should name {named}: {}", error.message);
    }

    let viewer = server.client_for("viewer").await;
    let refused = post_annotation(&server, &viewer, &call_id, json!({"label_id": "note", "target": {"type": "call"}, "value": "x"})).await;
    assert_eq!(refused.status(), 403);

    let listed: api::CallAnnotations =
        annotator.get(server.url(&format!("/callscope/api/calls/{call_id}/annotations"))).send().await.unwrap().json().await.unwrap();
    assert!(listed.annotations.is_empty(), "refused annotations leave nothing behind: {:?}", listed.annotations);
}

#[tokio::test]
async fn personal_data_redacted_without_permission() {
    let server = TestServer::start(ServerOptions::default()).await;
    let call_id = import_pii_call(&server).await;

    let reviewer = server.client_for("reviewer").await;
    let redacted = reviewer.get(server.url(&format!("/callscope/api/calls/{call_id}"))).send().await.unwrap().text().await.unwrap();
    for value in PII_VALUES {
        assert!(!redacted.contains(value), "{value} leaked to a user without view-personal-data");
    }
    let detail: api::CallDetail = serde_json::from_str(&redacted).unwrap();
    assert!(detail.redacted);
    let texts: Vec<&str> = detail.call.utterances.iter().map(|u| u.text.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("[phone]")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("[email]")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("[payment-card]")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("[national-id]")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("29 items at 12.50")), "ordinary numbers stay: {texts:?}");
    assert!(!detail.call.vendor_analysis.contains("jane.doe"), "{}", detail.call.vendor_analysis);

    let admin = server.client_for("admin").await;
    let full: api::CallDetail = admin.get(server.url(&format!("/callscope/api/calls/{call_id}"))).send().await.unwrap().json().await.unwrap();
    assert!(!full.redacted);
    assert!(full.call.utterances.iter().any(|u| u.text.contains("jane.doe@example.com")));
}

#[tokio::test]
async fn export_redacts_personal_data() {
    let server = TestServer::start(ServerOptions::default()).await;
    let call_id = import_pii_call(&server).await;
    let reviewer = server.client_for("reviewer").await;
    for (index, comment) in [(1u32, "caller gave 415-555-0199"), (3, "mail jane.doe@example.com")] {
        let response = post_annotation(
            &server,
            &reviewer,
            &call_id,
            json!({"label_id": "note", "target": {"type": "utterance", "index": index}, "value": "check", "comment": comment}),
        )
        .await;
        assert_eq!(response.status(), 201);
    }

    let jsonl = reviewer.get(server.url("/callscope/api/export?format=jsonl")).send().await.unwrap();
    assert_eq!(jsonl.status(), 200);
    let jsonl = jsonl.text().await.unwrap();
    let lines: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(lines.len(), 2, "one line per annotated utterance: {jsonl}");
    let csv = reviewer.get(server.url("/callscope/api/export?format=csv")).send().await.unwrap().text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "a header and two rows: {csv}");
    for export in [&jsonl, &csv] {
        for value in PII_VALUES.iter().chain(&["415-555-0199", "jane.doe@example.com"]) {
            assert!(!export.contains(value), "{value} in an export for a user without view-personal-data:\n{export}");
        }
        assert!(export.contains("[phone]"), "{export}");
        assert!(export.contains("[email]"), "{export}");
    }

    let admin = server.client_for("admin").await;
    let full = admin.get(server.url("/callscope/api/export?format=jsonl")).send().await.unwrap().text().await.unwrap();
    assert!(full.contains("jane.doe@example.com"), "admins may export personal data: {full}");

    let viewer = server.client_for("viewer").await;
    assert_eq!(viewer.get(server.url("/callscope/api/export?format=csv")).send().await.unwrap().status(), 403);

    let audit: Vec<api::AuditEntry> = admin.get(server.url("/callscope/api/audit")).send().await.unwrap().json().await.unwrap();
    let exports: Vec<(&str, &str)> =
        audit.iter().filter(|e| e.action == "export").map(|e| (e.user.as_deref().unwrap_or(""), e.detail.as_str())).collect();
    assert!(exports.contains(&("reviewer", "2 rows as jsonl, personal data removed")), "{exports:?}");
    assert!(exports.contains(&("admin", "2 rows as jsonl, personal data included")), "{exports:?}");
}

#[tokio::test]
async fn history_redacts_personal_data() {
    let server = TestServer::start(ServerOptions::default()).await;
    let call_id = import_pii_call(&server).await;
    let reviewer = server.client_for("reviewer").await;
    let input = json!({"label_id": "note", "target": {"type": "utterance", "index": 1}, "value": "check", "comment": "caller gave 415-555-0199"});
    let response = post_annotation(&server, &reviewer, &call_id, input).await;
    assert_eq!(response.status(), 201);
    let annotation: api::Annotation = response.json().await.unwrap();
    let history_url = server.url(&format!("/callscope/api/annotations/{}/history", annotation.id));

    let shown = reviewer.get(&history_url).send().await.unwrap().text().await.unwrap();
    assert!(!shown.contains("415-555-0199"), "the phone number leaked through the history: {shown}");
    assert!(shown.contains("caller gave [phone]"), "{shown}");

    let admin = server.client_for("admin").await;
    let full = admin.get(&history_url).send().await.unwrap().text().await.unwrap();
    assert!(full.contains("415-555-0199"), "admins see personal data: {full}");
}

#[tokio::test]
async fn agreement_and_queue_reflect_annotations() {
    // Every unflagged call is sampled, so the call is in the queue.
    let review = callscope_host::app::ReviewSettings { sample_per_mille: 1000, seed: 7 };
    let server = TestServer::start(ServerOptions { review, ..Default::default() }).await;
    let call_id = import_pii_call(&server).await;
    let annotator = server.client_for("annotator").await;
    let reviewer = server.client_for("reviewer").await;

    // Four utterances rated by both: they agree on 1, 3 and 5 and differ on 7.
    // late-answer values: annotator T T F F, reviewer T T F T.
    // Observed agreement 3/4; expected: p(T) = 2/4 * 3/4, p(F) = 2/4 * 1/4, total 0.5.
    // Cohen's kappa = (0.75 - 0.5) / (1 - 0.5) = 0.5.
    let values = [(1, true, true), (3, true, true), (5, false, false), (7, false, true)];
    for (index, by_annotator, by_reviewer) in values {
        for (client, value) in [(&annotator, by_annotator), (&reviewer, by_reviewer)] {
            let body = json!({"label_id": "late-answer", "target": {"type": "utterance", "index": index}, "value": value});
            assert_eq!(post_annotation(&server, client, &call_id, body).await.status(), 201);
        }
    }
    let agreement: Vec<api::LabelAgreement> =
        reviewer.get(server.url("/callscope/api/review/agreement")).send().await.unwrap().json().await.unwrap();
    let late = agreement.iter().find(|a| a.label_id == "late-answer").expect("late-answer agreement");
    assert_eq!((late.annotators, late.items), (2, 4));
    assert!((late.cohen_kappa.unwrap() - 0.5).abs() < 1e-9, "{late:?}");
    assert!((late.observed_agreement.unwrap() - 0.75).abs() < 1e-9, "{late:?}");

    let assigned = reviewer
        .put(server.url(&format!("/callscope/api/review/assignments/{call_id}")))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .json(&json!({"assignee": "reviewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(assigned.status(), 204);
    let queue: Vec<api::QueueEntry> = reviewer.get(server.url("/callscope/api/review/queue")).send().await.unwrap().json().await.unwrap();
    let entry = queue.iter().find(|e| e.call_id == call_id).expect("the call is in the queue");
    assert_eq!(entry.assignee.as_deref(), Some("reviewer"));
    assert!(entry.flag_codes.is_empty() || entry.reason == "flagged", "{entry:?}");
    assert!(!entry.done, "required labels are missing");

    // Setting the required labels makes the call done.
    for body in [
        json!({"label_id": "call-outcome", "target": {"type": "call"}, "value": "resolved"}),
        json!({"label_id": "caller-satisfaction", "target": {"type": "call"}, "value": 4}),
    ] {
        assert_eq!(post_annotation(&server, &reviewer, &call_id, body).await.status(), 201);
    }
    let listed: api::CallAnnotations =
        reviewer.get(server.url(&format!("/callscope/api/calls/{call_id}/annotations"))).send().await.unwrap().json().await.unwrap();
    assert!(listed.missing_required.is_empty(), "{:?}", listed.missing_required);
    let queue: Vec<api::QueueEntry> = reviewer.get(server.url("/callscope/api/review/queue")).send().await.unwrap().json().await.unwrap();
    assert!(queue.iter().any(|e| e.call_id == call_id && e.done), "{queue:?}");
}

#[tokio::test]
async fn trusted_proxy_headers_count_only_from_configured_addresses() {
    let trusted = Arc::new(TrustedProxy::new(vec!["127.0.0.1".parse().unwrap()]));
    let server = TestServer::start(ServerOptions { authenticator: Some(trusted), ..Default::default() }).await;
    let client = reqwest::Client::new();
    let me = client
        .get(server.url("/callscope/api/me"))
        .header("x-forwarded-user", "qa-lead")
        .header("x-forwarded-roles", "reviewer, unknown-role")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: api::Me = me.json().await.unwrap();
    assert_eq!(me.user, "qa-lead");
    assert!(me.permissions.contains(&api::Permission::Review));
    assert!(!me.permissions.contains(&api::Permission::ViewPersonalData));

    // The same headers from an address that is not the proxy are ignored.
    let elsewhere = Arc::new(TrustedProxy::new(vec!["127.0.0.2".parse().unwrap()]));
    let server = TestServer::start(ServerOptions { authenticator: Some(elsewhere), ..Default::default() }).await;
    let response = client
        .get(server.url("/callscope/api/me"))
        .header("x-forwarded-user", "admin")
        .header("x-forwarded-roles", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn jwt_signed_by_the_configured_key_signs_in() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    let auth = JwtAuth::from_pem_file(&fixture("auth/test-ed25519-public.pem"), Some("backoffice"), None, "roles").expect("loading the key");
    let server = TestServer::start(ServerOptions { authenticator: Some(Arc::new(auth)), ..Default::default() }).await;
    let sign = |key: &str, claims: serde_json::Value| {
        let pem = std::fs::read(fixture(key)).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &EncodingKey::from_ed_pem(&pem).unwrap()).unwrap()
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let good = sign("auth/test-ed25519-private.pem", json!({"sub": "ana", "roles": ["annotator"], "iss": "backoffice", "exp": now + 600}));
    let expired = sign("auth/test-ed25519-private.pem", json!({"sub": "ana", "roles": ["admin"], "iss": "backoffice", "exp": now - 600}));
    let foreign = sign("auth/other-ed25519-private.pem", json!({"sub": "eve", "roles": ["admin"], "iss": "backoffice", "exp": now + 600}));
    let wrong_issuer = sign("auth/test-ed25519-private.pem", json!({"sub": "ana", "roles": ["admin"], "iss": "elsewhere", "exp": now + 600}));

    let client = reqwest::Client::new();
    let me = client.get(server.url("/callscope/api/me")).bearer_auth(&good).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let me: api::Me = me.json().await.unwrap();
    assert_eq!((me.user.as_str(), me.roles.as_slice()), ("ana", ["annotator".to_owned()].as_slice()));
    assert!(me.permissions.contains(&api::Permission::Annotate));
    for (name, token) in [("expired", expired), ("signed by another key", foreign), ("from another issuer", wrong_issuer)] {
        let response = client.get(server.url("/callscope/api/me")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 401, "a token {name} must not sign in");
    }
}
