//! Component upgrades while the server runs: a good version installs under load and
//! stored calls are re-analysed with it; a version failing any check is refused with
//! the reason while the old one keeps serving; rollback; the active version survives a
//! restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use callscope_api_types as api;
use callscope_host::RuntimeLimits;
use callscope_host::components::{ComponentSlot, SigningKey};
use callscope_host::runtime::{ComponentError, MeasurementLevel, RejectedInput};
use callscope_tests::{
    CSRF_HEADER, ServerOptions, TestServer, broken_component_wasm, component_wasm, fixture, import_form, load_runtime,
    previous_interface_component_wasm, quiet_broken_component_wasm, restamped_component,
};
use ed25519_dalek::Signer;

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn install(server: &TestServer, client: &reqwest::Client, bytes: Vec<u8>, signature: Option<Vec<u8>>) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().part("component", reqwest::multipart::Part::bytes(bytes).file_name("c.wasm"));
    if let Some(signature) = signature {
        form = form.part("signature", reqwest::multipart::Part::bytes(signature).file_name("c.wasm.sig"));
    }
    client
        .post(server.url("/callscope/api/admin/components"))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .multipart(form)
        .send()
        .await
        .expect("sending an install request")
}

async fn status(server: &TestServer, client: &reqwest::Client) -> api::ComponentsStatus {
    client.get(server.url("/callscope/api/admin/components")).send().await.unwrap().json().await.unwrap()
}

async fn rollback(server: &TestServer, client: &reqwest::Client) -> api::ComponentsStatus {
    let response = client
        .post(server.url("/callscope/api/admin/components/rollback"))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .send()
        .await
        .expect("sending a rollback request");
    assert_eq!(response.status(), 200, "rollback failed");
    response.json().await.unwrap()
}

#[tokio::test]
async fn good_version_installs_under_load_and_calls_are_reanalysed() {
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let admin = server.client_for("admin").await;
    let before = status(&server, &admin).await;
    let old_sha = before.active.sha256.clone();
    let list: api::CallList = admin.get(server.url("/callscope/api/calls")).send().await.unwrap().json().await.unwrap();
    assert!(list.total >= 5, "sample calls are loaded");

    // Load: viewers read calls and an admin imports, without pause, during the install.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let served = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..3 {
        let (stop, failures, served) = (stop.clone(), failures.clone(), served.clone());
        let client = if worker == 0 { server.client_for("admin").await } else { server.client_for("viewer").await };
        let ids: Vec<String> = list.calls.iter().map(|c| c.id.clone()).collect();
        let base = server.url("/callscope/api");
        let payload = std::fs::read_to_string(fixture("payloads/vapi__end-of-call-report.complete.json")).unwrap();
        workers.push(tokio::spawn(async move {
            let mut round = 0usize;
            let mut imported = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let response = if worker == 0 {
                    client
                        .post(format!("{base}/calls"))
                        .header(CSRF_HEADER.0, CSRF_HEADER.1)
                        // Each import is another call: the vendor call id differs.
                        .multipart(import_form(payload.replacen("\"id\":", &format!("\"id\": \"load-{round}\", \"oldId\":"), 1).into_bytes(), None, &format!("load {round}")))
                        .send()
                        .await
                } else {
                    client.get(format!("{base}/calls/{}", ids[round % ids.len()])).send().await
                };
                match response {
                    Ok(response) if response.status().is_success() => {
                        served.fetch_add(1, Ordering::Relaxed);
                        if worker == 0 {
                            let summary: api::CallSummary = response.json().await.unwrap();
                            imported.push(summary.id);
                        }
                    }
                    Ok(response) => failures.lock().unwrap().push(format!("worker {worker}: {}", response.status())),
                    Err(error) => failures.lock().unwrap().push(format!("worker {worker}: {error}")),
                }
                round += 1;
            }
            imported
        }));
    }

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let new_bytes = restamped_component("v2");
    let new_sha = sha256(&new_bytes);
    let served_before_install = served.load(Ordering::Relaxed);
    let response = install(&server, &admin, new_bytes, None).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    let installed: api::InstalledComponent = response.json().await.unwrap();
    assert_eq!((installed.sha256.as_str(), installed.installed_by.as_str(), installed.interface_version.as_str()), (new_sha.as_str(), "admin", "0.2.0"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut imported = Vec::new();
    for worker in workers {
        imported.extend(worker.await.unwrap());
    }
    assert!(failures.lock().unwrap().is_empty(), "requests failed during the install: {:?}", failures.lock().unwrap());
    assert!(served.load(Ordering::Relaxed) > served_before_install, "requests kept being served during the install");

    let after = status(&server, &admin).await;
    assert_eq!(after.active.sha256, new_sha);
    assert_eq!(after.previous.as_ref().map(|p| p.sha256.as_str()), Some(old_sha.as_str()));

    // Every call imported under load was analysed by one version or the other, whole.
    for id in &imported {
        let detail: api::CallDetail = admin.get(server.url(&format!("/callscope/api/calls/{id}"))).send().await.unwrap().json().await.unwrap();
        assert!([&old_sha, &new_sha].contains(&&detail.analysed_by.sha256), "call {id} analysed by {}", detail.analysed_by.sha256);
    }

    // The background job brings every stored call to the new version.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let progress = loop {
        let progress = status(&server, &admin).await.reanalysis;
        if progress.target_sha256 == new_sha && !progress.running {
            break progress;
        }
        assert!(std::time::Instant::now() < deadline, "re-analysis did not finish: {progress:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(progress.failed, 0, "{progress:?}");
    let list: api::CallList = admin.get(server.url("/callscope/api/calls?limit=500")).send().await.unwrap().json().await.unwrap();
    for call in &list.calls {
        let detail: api::CallDetail = admin.get(server.url(&format!("/callscope/api/calls/{}", call.id))).send().await.unwrap().json().await.unwrap();
        assert_eq!(detail.analysed_by.sha256, new_sha, "call {} after re-analysis", call.title);
    }

    // Rollback makes the old version active again, and once more back.
    let rolled: api::ComponentsStatus = rollback(&server, &admin).await;
    assert_eq!((rolled.active.sha256.as_str(), rolled.previous.map(|p| p.sha256)), (old_sha.as_str(), Some(new_sha.clone())));
    let audit: Vec<api::AuditEntry> = admin.get(server.url("/callscope/api/audit")).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).filter(|a| a.starts_with("component.")).collect();
    assert_eq!(actions, ["component.rollback", "component.install"], "newest first");
}

#[tokio::test]
async fn failing_versions_are_refused_and_the_old_one_keeps_serving() {
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let admin = server.client_for("admin").await;
    let old_sha = status(&server, &admin).await.active.sha256;

    let no_previous = admin
        .post(server.url("/callscope/api/admin/components/rollback"))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .send()
        .await
        .unwrap();
    assert_eq!(no_previous.status(), 409, "nothing to roll back to yet");

    let wat = |text: &str| wat::parse_str(text).expect("valid WAT");
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("random bytes", b"this is not WebAssembly at all".to_vec(), "component", "not WebAssembly"),
        ("a core module", wat("(module (func (export \"run\")))"), "component", "core WebAssembly module"),
        ("an empty component", wat("(component)"), "interface", "exports no callscope:plugin interface"),
        (
            "a component importing sockets",
            wat("(component (import \"wasi:sockets/tcp@0.2.6\" (instance)))"),
            "imports",
            "wasi:sockets/tcp@0.2.6",
        ),
        (
            "another interface version",
            wat("(component (component $c) (instance $i (instantiate $c)) (export \"callscope:plugin/ingest@0.9.0\" (instance $i)))"),
            "interface",
            "callscope:plugin@0.9.0",
        ),
        (
            "a component with a socket probe",
            std::fs::read(broken_component_wasm()).unwrap(),
            "imports",
            "wasi:sockets/tcp@0.2.6",
        ),
        ("a component giving wrong answers", std::fs::read(quiet_broken_component_wasm()).unwrap(), "self-test", "built-in call"),
    ];
    for (name, bytes, check, named) in cases {
        let response = install(&server, &admin, bytes, None).await;
        assert_eq!(response.status(), 422, "{name} must be refused");
        let refusal: api::InstallRefusal = response.json().await.unwrap();
        assert_eq!((refusal.error.as_str(), refusal.check.as_str()), ("install-refused", check), "{name}: {}", refusal.message);
        assert!(refusal.message.contains(named), "{name}: the reason should mention {named:?}: {}", refusal.message);

        let now = status(&server, &admin).await;
        assert_eq!(now.active.sha256, old_sha, "{name} must not replace the active version");
        assert!(now.previous.is_none());
        let list = admin.get(server.url("/callscope/api/calls")).send().await.unwrap();
        assert_eq!(list.status(), 200, "the old version keeps serving after {name}");
    }

    let audit: Vec<api::AuditEntry> = admin.get(server.url("/callscope/api/audit")).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "component.refused").count(), 7);
    let viewer = server.client_for("viewer").await;
    assert_eq!(install(&server, &viewer, restamped_component("v9"), None).await.status(), 403);
}

#[tokio::test]
async fn signatures_are_required_when_keys_are_configured() {
    let release = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
    let key = SigningKey::parse(&format!("release={}", hex::encode(release.verifying_key().to_bytes()))).unwrap();
    let server = TestServer::start(ServerOptions { component_keys: vec![key], ..Default::default() }).await;
    let admin = server.client_for("admin").await;
    let bytes = restamped_component("signed");

    for (name, signature, reason) in [
        ("unsigned", None, "needs an Ed25519 signature"),
        ("signed by another key", Some(stranger.sign(&bytes).to_bytes().to_vec()), "does not verify"),
        ("truncated", Some(vec![1, 2, 3]), "3 bytes"),
    ] {
        let response = install(&server, &admin, bytes.clone(), signature).await;
        assert_eq!(response.status(), 422, "{name}");
        let refusal: api::InstallRefusal = response.json().await.unwrap();
        assert_eq!(refusal.check, "signature", "{name}");
        assert!(refusal.message.contains(reason), "{name}: {}", refusal.message);
    }

    let response = install(&server, &admin, bytes.clone(), Some(release.sign(&bytes).to_bytes().to_vec())).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    let installed: api::InstalledComponent = response.json().await.unwrap();
    assert_eq!(installed.signed_by.as_deref(), Some("release"));
}

#[test]
fn active_version_survives_a_restart_and_a_new_build_replaces_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let builds = tempfile::tempdir().unwrap();
    let v1 = builds.path().join("v1.wasm");
    std::fs::copy(component_wasm(), &v1).unwrap();
    let v2 = restamped_component("v2");
    let v3 = builds.path().join("v3.wasm");
    std::fs::write(&v3, restamped_component("v3")).unwrap();

    let slot = ComponentSlot::open(data_dir.path(), &v1, RuntimeLimits::default(), Vec::new()).expect("first start");
    let v1_sha = slot.active().sha256().to_owned();
    slot.install(&v2, None, "admin").expect("installing v2");
    drop(slot);

    // Restarted with the same command-line file: the upgrade stays.
    let slot = ComponentSlot::open(data_dir.path(), &v1, RuntimeLimits::default(), Vec::new()).expect("restart");
    let status = slot.status();
    assert_eq!(status.active.sha256, sha256(&v2));
    assert_eq!(status.previous.map(|p| p.sha256), Some(v1_sha.clone()));
    drop(slot);

    // Restarted with a new build: it is checked, installed and active.
    let slot = ComponentSlot::open(data_dir.path(), &v3, RuntimeLimits::default(), Vec::new()).expect("restart with v3");
    let status = slot.status();
    assert_eq!(status.active.sha256, sha256(&std::fs::read(&v3).unwrap()));
    assert_eq!(status.previous.map(|p| p.sha256), Some(sha256(&v2)));
    slot.rollback("admin").expect("rolling back to v2");
    assert_eq!(slot.active().sha256(), sha256(&v2));

    // A broken build given on the command line stops the start with the reason.
    let broken = builds.path().join("broken.wasm");
    std::fs::copy(quiet_broken_component_wasm(), &broken).unwrap();
    let error = ComponentSlot::open(data_dir.path(), &broken, RuntimeLimits::default(), Vec::new()).err().expect("refused");
    assert!(error.to_string().contains("self-test"), "{error}");
}

#[tokio::test]
async fn command_line_install_goes_through_the_incoming_folder() {
    use callscope_host::components::incoming::{Outcome, incoming_dir, submit, watch};

    let server = TestServer::start(ServerOptions::default()).await;
    let data_dir = tempfile::tempdir().unwrap();
    let path = data_dir.path().to_owned();
    std::fs::create_dir_all(incoming_dir(&path)).unwrap();
    tokio::spawn(watch(server.state.clone(), path.clone()));

    let good = path.join("good.wasm");
    std::fs::write(&good, restamped_component("cli")).unwrap();
    let wrong = path.join("wrong.wasm");
    std::fs::copy(quiet_broken_component_wasm(), &wrong).unwrap();
    let timeout = std::time::Duration::from_secs(120);

    let (dir, file) = (path.clone(), good.clone());
    let outcome = tokio::task::spawn_blocking(move || submit(&dir, &file, None, timeout)).await.unwrap().unwrap();
    let Outcome::Installed { component } = outcome else { panic!("expected an install, got {outcome:?}") };
    assert_eq!(component.sha256, sha256(&std::fs::read(&good).unwrap()));
    assert_eq!(component.installed_by, "command line");
    assert_eq!(server.state.components.active().sha256(), component.sha256);

    let (dir, file) = (path.clone(), wrong.clone());
    let outcome = tokio::task::spawn_blocking(move || submit(&dir, &file, None, timeout)).await.unwrap().unwrap();
    let Outcome::Refused { check, message } = outcome else { panic!("expected a refusal, got {outcome:?}") };
    assert_eq!(check, "self-test", "{message}");
    assert_eq!(server.state.components.active().sha256(), component.sha256, "a refused file changes nothing");
    let left: Vec<_> = std::fs::read_dir(incoming_dir(&path)).unwrap().collect();
    assert!(left.is_empty(), "the incoming folder is emptied: {left:?}");

    let missing = tempfile::tempdir().unwrap();
    let error = submit(missing.path(), &good, None, timeout).unwrap_err();
    assert!(error.to_string().contains("start the server with --data-dir"), "{error}");
}

/// Imports the complete Vapi fixture as a new call, with `vendor_id` as its call id,
/// and returns its detail.
async fn import_vapi_call(server: &TestServer, admin: &reqwest::Client, vendor_id: &str) -> api::CallDetail {
    let payload = std::fs::read_to_string(fixture("payloads/vapi__end-of-call-report.complete.json")).unwrap();
    let payload = payload.replacen("\"id\":", &format!("\"id\": \"{vendor_id}\", \"oldId\":"), 1);
    let response = admin
        .post(server.url("/callscope/api/calls"))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .multipart(import_form(payload.into_bytes(), None, vendor_id))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    let summary: api::CallSummary = response.json().await.unwrap();
    admin.get(server.url(&format!("/callscope/api/calls/{}", summary.id))).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn previous_interface_version_installs_serves_and_rolls_back() {
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let admin = server.client_for("admin").await;

    let current = status(&server, &admin).await.active;
    assert_eq!(current.interface_version, "0.2.0");
    let described = current.describes_itself_as.expect("a 0.2 component describes itself");
    assert_eq!((described.name.as_str(), described.version.as_str()), ("callscope-component", env!("CARGO_PKG_VERSION")));
    assert!(described.formats.iter().any(|f| f == "vapi-end-of-call-report"), "{:?}", described.formats);
    assert!(described.audio_encodings.iter().any(|e| e == "mulaw"), "{:?}", described.audio_encodings);
    let on_current = import_vapi_call(&server, &admin, "on-0.2").await;

    // The same source built against interface 0.1.0 passes every check and serves.
    let previous_bytes = std::fs::read(previous_interface_component_wasm()).unwrap();
    let response = install(&server, &admin, previous_bytes.clone(), None).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    let installed: api::InstalledComponent = response.json().await.unwrap();
    assert_eq!((installed.interface_version.as_str(), installed.describes_itself_as.as_ref()), ("0.1.0", None));
    assert_eq!(installed.sha256, sha256(&previous_bytes));

    let on_previous = import_vapi_call(&server, &admin, "on-0.1").await;
    assert_eq!(on_previous.analysed_by.interface_version, "0.1.0");
    assert_eq!(on_previous.analysed_by.sha256, installed.sha256);
    assert_eq!(on_previous.analysis, on_current.analysis, "both versions of the same code analyse a call alike");

    // Review endpoints run on the 0.1 component too.
    let agreement = admin.get(server.url("/callscope/api/review/agreement")).send().await.unwrap();
    assert_eq!(agreement.status(), 200, "{}", agreement.text().await.unwrap_or_default());

    let rolled: api::ComponentsStatus = rollback(&server, &admin).await;
    assert_eq!(rolled.active.sha256, current.sha256);
    assert_eq!(rolled.active.interface_version, "0.2.0");
    let after_rollback = import_vapi_call(&server, &admin, "after-rollback").await;
    assert_eq!(after_rollback.analysed_by.interface_version, "0.2.0");
}

#[test]
fn non_number_agreement_per_interface_version() {
    let ratings = [
        ("call-1".to_owned(), "ann".to_owned(), "3".to_owned()),
        ("call-1".to_owned(), "bob".to_owned(), "loud".to_owned()),
    ];

    let current = load_runtime(&component_wasm(), RuntimeLimits::default());
    match current.compute_agreement("score", &ratings, MeasurementLevel::Interval) {
        Err(ComponentError::Rejected(RejectedInput::InvalidAnnotation(message))) => {
            assert!(message.contains("loud"), "the error names the value: {message}");
            assert!(message.contains("score"), "the error names the label: {message}");
        }
        other => panic!("interface 0.2 should refuse the rating \"loud\": {other:?}"),
    }

    let previous = load_runtime(&previous_interface_component_wasm(), RuntimeLimits::default());
    assert_eq!(previous.interface_version(), "0.1.0");
    assert!(previous.describe().unwrap().is_none());
    match previous.compute_agreement("score", &ratings, MeasurementLevel::Interval) {
        Err(ComponentError::Trap(message)) => assert!(message.contains("compute-agreement: wasm trap"), "{message}"),
        other => panic!("interface 0.1 cannot refuse, so it traps: {other:?}"),
    }

    // Numbers give the same result on both.
    let numbers = [
        ("call-1".to_owned(), "ann".to_owned(), "3".to_owned()),
        ("call-1".to_owned(), "bob".to_owned(), "4".to_owned()),
        ("call-2".to_owned(), "ann".to_owned(), "1".to_owned()),
        ("call-2".to_owned(), "bob".to_owned(), "1".to_owned()),
    ];
    let on_current = current.compute_agreement("score", &numbers, MeasurementLevel::Interval).unwrap();
    let on_previous = previous.compute_agreement("score", &numbers, MeasurementLevel::Interval).unwrap();
    assert_eq!(on_current, on_previous);
    assert_eq!(on_current.items, 2);
}
