//! The JetStream consumer against a real NATS server: nothing lost or stored twice
//! when the host is killed mid-stream, and a malformed event does not block the
//! events behind it.
//!
//! Needs `CALLSCOPE_TEST_NATS_URL` (for example `nats://127.0.0.1:4222`) and the
//! component built by `cargo xtask test`; without the URL each test prints that it
//! was skipped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callscope_host::storage::Storage;

const CALLS: usize = 4;
const UTTERANCES_PER_CALL: usize = 300;

fn nats_url() -> Option<String> {
    match std::env::var("CALLSCOPE_TEST_NATS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("SKIPPED: CALLSCOPE_TEST_NATS_URL is not set; set it to a NATS server with JetStream to run this test");
            None
        }
    }
}

fn component_wasm() -> PathBuf {
    let path = std::env::var_os("CALLSCOPE_COMPONENT_WASM")
        .map(PathBuf::from)
        .expect("CALLSCOPE_COMPONENT_WASM is not set; run the tests with `cargo xtask test`");
    assert!(path.exists(), "{} does not exist; rerun `cargo xtask test`", path.display());
    path
}

/// Names unique to one test run, so runs never share a stream or consumer.
struct Names {
    stream: String,
    subject_prefix: String,
}

impl Names {
    fn new() -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        Self { stream: format!("CALLSCOPE_TEST_{tag}"), subject_prefix: format!("callscope-test-{tag}") }
    }

    fn subject_filter(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }
}

/// Builds the events of `CALLS` interleaved calls: started, alternating user and bot
/// utterances, ended. Returns them in publish order.
fn interleaved_events() -> Vec<(String, String)> {
    let mut per_call: Vec<Vec<String>> = Vec::new();
    for call in 0..CALLS {
        let call_id = format!("call-{call}");
        let mut events = vec![format!(
            r#"{{"v":1,"id":"{call_id}-start","call_id":"{call_id}","type":"call_started","started_at_epoch_ms":1780000000000}}"#
        )];
        for index in 0..UTTERANCES_PER_CALL {
            let speaker = if index % 2 == 0 { "user" } else { "bot" };
            let start = index as i64 * 3000 + 700;
            let end = start + 2000;
            events.push(format!(
                r#"{{"v":1,"id":"{call_id}-u{index}","call_id":"{call_id}","type":"utterance","speaker":"{speaker}","text":"utterance {index} of {call_id}","start_ms":{start},"end_ms":{end}}}"#
            ));
        }
        let end_ms = UTTERANCES_PER_CALL as i64 * 3000 + 1000;
        events.push(format!(r#"{{"v":1,"id":"{call_id}-end","call_id":"{call_id}","type":"call_ended","end_ms":{end_ms}}}"#));
        per_call.push(events);
    }

    let mut interleaved = Vec::new();
    let longest = per_call.iter().map(Vec::len).max().unwrap_or(0);
    for position in 0..longest {
        for (call, events) in per_call.iter().enumerate() {
            if let Some(event) = events.get(position) {
                interleaved.push((format!("call-{call}"), event.clone()));
            }
        }
    }
    interleaved
}

async fn publish(url: &str, names: &Names, events: &[(String, Vec<u8>)]) {
    let client = async_nats::connect(url).await.expect("connecting to NATS");
    let context = async_nats::jetstream::new(client);
    context
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: names.stream.clone(),
            subjects: vec![names.subject_filter()],
            ..Default::default()
        })
        .await
        .expect("creating the test stream");
    for (call_id, payload) in events {
        let subject = format!("{}.{call_id}", names.subject_prefix);
        context.publish(subject, payload.clone().into()).await.expect("publishing").await.expect("publish acknowledged");
    }
}

async fn delete_stream(url: &str, names: &Names) {
    if let Ok(client) = async_nats::connect(url).await {
        let _ = async_nats::jetstream::new(client).delete_stream(&names.stream).await;
    }
}

/// The host binary running as a child process.
struct Host {
    child: Child,
}

impl Host {
    fn start(url: &str, names: &Names, consumer: &str, data_dir: &Path) -> Self {
        let widget_dir = data_dir.join("no-widget");
        std::fs::create_dir_all(&widget_dir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_callscope-host"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--component")
            .arg(component_wasm())
            .arg("--widget-dir")
            .arg(&widget_dir)
            .arg("--nats-url")
            .arg(url)
            .arg("--nats-stream")
            .arg(&names.stream)
            .arg("--nats-subject")
            .arg(names.subject_filter())
            .arg("--nats-consumer")
            .arg(consumer)
            .arg("--nats-batch-size")
            .arg("10")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the host binary");

        // Wait for the line the server prints once it is listening.
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "the host did not start within 60 s");
            match lines.next() {
                Some(Ok(line)) if line.contains("running at") => break,
                Some(_) => continue,
                None => panic!("the host exited before it started serving"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Self { child }
    }

    /// Kills the process with SIGKILL, as a crash would.
    fn kill(mut self) {
        self.child.kill().expect("killing the host");
        self.child.wait().expect("reaping the host");
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_for_events(storage: &Storage, expected: u64, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let stored = storage.count_events(None).await.unwrap();
        if stored >= expected || Instant::now() > deadline {
            return stored;
        }
        // Short polls, so the crash test kills the host while batches are in flight.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until every call is stored as ended with all its utterances, then returns
/// each call's transcript and analysis as JSON, by stream call id. Redelivered events
/// may arrive after `call_ended`, so "ended" alone does not mean complete.
async fn final_calls(storage: &Storage, timeout: Duration) -> Vec<(String, String, String)> {
    let deadline = Instant::now() + timeout;
    loop {
        let list = storage.list_calls(0, 100).await.unwrap();
        let done = list.calls.len() == CALLS
            && list.calls.iter().all(|c| !c.live && c.utterance_count as usize == UTTERANCES_PER_CALL);
        if done {
            let mut calls = Vec::new();
            for summary in list.calls {
                let stored = storage.get_call(summary.id).await.unwrap().unwrap();
                calls.push((
                    stored.call.vendor_call_id.clone().unwrap_or_default(),
                    serde_json::to_string(&stored.call).unwrap(),
                    serde_json::to_string(&stored.analysis).unwrap(),
                ));
            }
            calls.sort();
            return calls;
        }
        assert!(Instant::now() < deadline, "calls not final in time: {:?}", list.calls);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_mid_stream_loses_nothing() {
    let Some(url) = nats_url() else { return };
    let names = Names::new();
    let events: Vec<(String, Vec<u8>)> =
        interleaved_events().into_iter().map(|(call, json)| (call, json.into_bytes())).collect();
    let total = events.len() as u64;
    publish(&url, &names, &events).await;

    // Run with a crash: kill the host once a third of the events are stored.
    let crashed_dir = tempfile::tempdir().unwrap();
    let host = Host::start(&url, &names, "crashing", crashed_dir.path());
    let storage = Storage::open(crashed_dir.path()).unwrap();
    let before_kill = wait_for_events(&storage, total / 3, Duration::from_secs(60)).await;
    host.kill();
    assert!(before_kill < total, "the crash came after every event was stored; the test proves nothing");

    let host = Host::start(&url, &names, "crashing", crashed_dir.path());
    let stored = wait_for_events(&storage, total, Duration::from_secs(60)).await;
    assert_eq!(stored, total, "every published event is stored exactly once");
    let crashed = final_calls(&storage, Duration::from_secs(30)).await;
    drop(host);

    // The same stream without a crash, through a new durable consumer.
    let clean_dir = tempfile::tempdir().unwrap();
    let host = Host::start(&url, &names, "clean", clean_dir.path());
    let clean_storage = Storage::open(clean_dir.path()).unwrap();
    assert_eq!(wait_for_events(&clean_storage, total, Duration::from_secs(60)).await, total);
    let clean = final_calls(&clean_storage, Duration::from_secs(30)).await;
    drop(host);

    assert_eq!(crashed.len(), CALLS);
    for (with_crash, without) in crashed.iter().zip(&clean) {
        assert_eq!(with_crash.0, without.0, "same calls");
        assert!(with_crash.1 == without.1, "transcript of {} differs after the crash: {}", with_crash.0, first_difference(&with_crash.1, &without.1));
        assert!(with_crash.2 == without.2, "analysis of {} differs after the crash: {}", with_crash.0, first_difference(&with_crash.2, &without.2));
    }
    let utterances: serde_json::Value = serde_json::from_str(&crashed[0].1).unwrap();
    assert_eq!(utterances["utterances"].as_array().unwrap().len(), UTTERANCES_PER_CALL);

    delete_stream(&url, &names).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_event_does_not_block() {
    let Some(url) = nats_url() else { return };
    let names = Names::new();
    let mut events: Vec<(String, Vec<u8>)> =
        interleaved_events().into_iter().map(|(call, json)| (call, json.into_bytes())).collect();
    let valid = events.len() as u64;
    events.insert(10, ("call-0".into(), b"{\"v\":1,\"call_id\":\"call-0\",\"type\":\"utterance\"".to_vec()));
    publish(&url, &names, &events).await;

    let data_dir = tempfile::tempdir().unwrap();
    let host = Host::start(&url, &names, "malformed", data_dir.path());
    let storage = Storage::open(data_dir.path()).unwrap();
    assert_eq!(wait_for_events(&storage, valid, Duration::from_secs(60)).await, valid, "events behind it are stored");

    let rejected = storage.rejected_events().await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].0.contains("JSON"), "the stored error names the problem: {}", rejected[0].0);
    assert!(rejected[0].1.starts_with(b"{\"v\":1"), "the raw event is kept");
    drop(host);

    delete_stream(&url, &names).await;
}

/// Returns the text around the first byte where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> String {
    let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let start = at.saturating_sub(120);
    let end_a = (at + 120).min(a.len());
    let end_b = (at + 120).min(b.len());
    format!("at byte {at}:\n  with crash: {}\n  without:    {}", &a[start..end_a], &b[start..end_b])
}
