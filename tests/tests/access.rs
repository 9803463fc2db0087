//! Every API endpoint with every demo role: the set of endpoints a role may use must
//! equal what the role map grants, and every route the host registers must be in the
//! walk, so an endpoint without a permission check cannot ship.

use std::collections::{BTreeMap, BTreeSet};

use callscope_api_types as api;
use callscope_tests::{CSRF_HEADER, ServerOptions, TestServer, workspace_root};
use reqwest::Method;

/// One endpoint and the permission it needs.
struct Endpoint {
    method: Method,
    /// Route as registered, with `{id}`, `{call_id}` placeholders.
    route: &'static str,
    /// `None`: any signed-in user.
    permission: Option<api::Permission>,
}

fn endpoints() -> Vec<Endpoint> {
    use api::Permission as P;
    let e = |method: Method, route: &'static str, permission: P| Endpoint { method, route, permission: Some(permission) };
    vec![
        Endpoint { method: Method::GET, route: "/me", permission: None },
        e(Method::GET, "/calls", P::ViewCalls),
        e(Method::POST, "/calls", P::ImportCalls),
        e(Method::GET, "/calls/{id}", P::ViewCalls),
        e(Method::GET, "/calls/{id}/peaks", P::ViewCalls),
        e(Method::GET, "/calls/{id}/audio", P::Listen),
        e(Method::GET, "/calls/{id}/waveform", P::ViewCalls),
        e(Method::GET, "/live", P::ViewCalls),
        e(Method::GET, "/schema", P::ViewCalls),
        e(Method::GET, "/calls/{id}/annotations", P::ViewCalls),
        e(Method::POST, "/calls/{id}/annotations", P::Annotate),
        e(Method::PUT, "/annotations/{id}", P::Annotate),
        e(Method::DELETE, "/annotations/{id}", P::Annotate),
        e(Method::GET, "/annotations/{id}/history", P::Review),
        e(Method::GET, "/review/queue", P::Review),
        e(Method::PUT, "/review/assignments/{call_id}", P::Review),
        e(Method::GET, "/review/agreement", P::Review),
        e(Method::GET, "/export", P::Export),
        e(Method::GET, "/audit", P::ManageComponent),
        e(Method::GET, "/admin/components", P::ManageComponent),
        e(Method::POST, "/admin/components", P::ManageComponent),
        e(Method::POST, "/admin/components/rollback", P::ManageComponent),
    ]
}

/// Reads the routes the host registers from its route modules: `.route("/path",
/// get(..).post(..))` with the methods chained on it.
fn registered_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for file in ["host-example/src/routes/api.rs", "host-example/src/routes/review.rs", "host-example/src/routes/admin.rs"] {
        let source = std::fs::read_to_string(workspace_root().join(file)).expect("reading a route module");
        for (position, _) in source.match_indices(".route(\"") {
            let rest = &source[position + 8..];
            let path = &rest[..rest.find('"').expect("closing quote")];
            // The handler expression runs to the `)` that closes `.route(`.
            let mut depth = 1;
            let mut end = 0;
            for (index, ch) in rest.char_indices() {
                match ch {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = index;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let handlers = &rest[..end];
            for method in ["get", "post", "put", "delete", "patch"] {
                if handlers.contains(&format!("{method}(")) {
                    routes.insert((method.to_ascii_uppercase(), path.to_owned()));
                }
            }
        }
    }
    routes
}

#[test]
fn walk_covers_every_registered_route() {
    let walked: BTreeSet<(String, String)> = endpoints().iter().map(|e| (e.method.to_string(), e.route.to_owned())).collect();
    let registered = registered_routes();
    assert!(registered.len() >= 15, "route parsing found only {registered:?}");
    let unwalked: Vec<_> = registered.difference(&walked).collect();
    assert!(unwalked.is_empty(), "routes without an entry in the permission walk: {unwalked:?}");
}

fn role_map() -> BTreeMap<String, BTreeSet<api::Permission>> {
    let json = std::fs::read_to_string(workspace_root().join("host-example/config/roles.json")).expect("reading roles.json");
    serde_json::from_str(&json).expect("roles.json is a map of role to permissions")
}

#[tokio::test]
async fn every_role_reaches_exactly_what_the_role_map_grants() {
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let anonymous = reqwest::Client::new();
    for endpoint in endpoints() {
        let url = server.url(&format!("/callscope/api{}", endpoint.route));
        let status = anonymous.request(endpoint.method.clone(), url).header(CSRF_HEADER.0, CSRF_HEADER.1).send().await.unwrap().status();
        assert_eq!(status, 401, "{} {} without signing in", endpoint.method, endpoint.route);
    }
    let admin = server.client_for("admin").await;
    let list: api::CallList = admin.get(server.url("/callscope/api/calls")).send().await.unwrap().json().await.unwrap();
    let call = list.calls.iter().find(|c| c.has_recording).expect("a sample call with a recording");
    let call_id = call.id.clone();

    // An annotation by admin, for roles that may not annotate to aim at.
    let admin_annotation = create_annotation(&server, &admin, &call_id).await;
    assert_eq!(admin_annotation.status(), 201, "{}", admin_annotation.text().await.unwrap_or_default());
    let admin_annotation: api::Annotation = admin_annotation.json().await.unwrap();

    let roles = role_map();
    assert_eq!(roles.keys().cloned().collect::<Vec<_>>(), ["admin", "annotator", "reviewer", "viewer"]);
    let mut failures = Vec::new();
    for (role, granted) in &roles {
        let client = server.client_for(role).await;
        // The role's own annotation when it may annotate, so edits are the author's.
        let mut annotation = admin_annotation.clone();
        for endpoint in endpoints() {
            let path = endpoint.route.replace("{id}", if endpoint.route.starts_with("/annotations") { &annotation.id } else { &call_id });
            let path = path.replace("{call_id}", &call_id);
            let response = send(&server, &client, &endpoint, &path, &annotation).await;
            let status = response.status();
            let allowed = endpoint.permission.is_none_or(|permission| granted.contains(&permission));
            let writes_annotation = matches!(
                (endpoint.method.as_str(), endpoint.route, status.as_u16()),
                ("POST", "/calls/{id}/annotations", 201) | ("PUT", "/annotations/{id}", 200)
            );
            if writes_annotation {
                annotation = response.json().await.unwrap();
            }
            let refused = status == 403;
            if refused == allowed {
                failures.push(format!(
                    "{role}: {} {} returned {status}, expected {}",
                    endpoint.method,
                    endpoint.route,
                    if allowed { "anything but 403" } else { "403" }
                ));
            }
            if allowed && status.is_server_error() {
                failures.push(format!("{role}: {} {} failed with {status}", endpoint.method, endpoint.route));
            }
        }
    }
    assert!(failures.is_empty(), "permission walk failures:\n{}", failures.join("\n"));

    // Refusals are audited, with who and what.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let audit: Vec<api::AuditEntry> = admin.get(server.url("/callscope/api/audit?limit=1000")).send().await.unwrap().json().await.unwrap();
    let viewer_refusals: BTreeSet<&str> =
        audit.iter().filter(|e| e.action == "refused" && e.user.as_deref() == Some("viewer")).map(|e| e.subject.as_str()).collect();
    assert!(viewer_refusals.contains("GET /export"), "viewer refusals in the audit log: {viewer_refusals:?}");
    assert!(viewer_refusals.contains("POST /calls/{id}/annotations"), "viewer refusals: {viewer_refusals:?}");
}

async fn create_annotation(server: &TestServer, client: &reqwest::Client, call_id: &str) -> reqwest::Response {
    client
        .post(server.url(&format!("/callscope/api/calls/{call_id}/annotations")))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .json(&serde_json::json!({"label_id": "note", "target": {"type": "call"}, "value": "walk"}))
        .send()
        .await
        .expect("sending a create request")
}

/// Sends a request that is valid for the endpoint, so only a missing permission can
/// refuse it.
async fn send(server: &TestServer, client: &reqwest::Client, endpoint: &Endpoint, path: &str, annotation: &api::Annotation) -> reqwest::Response {
    let mut url = server.url(&format!("/callscope/api{path}"));
    match endpoint.route {
        "/calls/{id}/waveform" => url.push_str("?format=json"),
        "/export" => url.push_str("?format=csv"),
        "/annotations/{id}" if endpoint.method == Method::DELETE => url.push_str(&format!("?base_version={}", annotation.version)),
        _ => {}
    }
    let mut request = client.request(endpoint.method.clone(), url).header(CSRF_HEADER.0, CSRF_HEADER.1);
    request = match (endpoint.method.as_str(), endpoint.route) {
        ("POST", "/calls") => request.multipart(callscope_tests::import_form(b"{}".to_vec(), None, "walk")),
        ("POST", "/calls/{id}/annotations") => {
            request.json(&serde_json::json!({"label_id": "note", "target": {"type": "call"}, "value": "walk"}))
        }
        ("PUT", "/annotations/{id}") => request.json(&serde_json::json!({
            "label_id": "note", "target": {"type": "call"}, "value": "walk, edited", "base_version": annotation.version
        })),
        ("PUT", "/review/assignments/{call_id}") => request.json(&serde_json::json!({"assignee": "reviewer"})),
        ("POST", "/admin/components") => request.multipart(
            reqwest::multipart::Form::new().part("component", reqwest::multipart::Part::bytes(b"not a component".to_vec())),
        ),
        _ => request,
    };
    if endpoint.route == "/live" {
        // The event stream stays open; its status line is all the walk needs.
        return tokio::time::timeout(std::time::Duration::from_secs(10), request.send())
            .await
            .expect("the live stream answers")
            .expect("sending the live request");
    }
    request.send().await.expect("sending a walk request")
}
