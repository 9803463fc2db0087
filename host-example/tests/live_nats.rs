//! The JetStream consumer against a real NATS server: nothing lost or stored twice
//! when the host is killed mid-stream or between a commit and its acknowledgements,
//! and a malformed event does not block the events behind it.
//!
//! Needs `CALLSCOPE_TEST_NATS_URL` (for example `nats://127.0.0.1:4222`) and the
//! component built by `cargo xtask test`; without the URL each test prints that it
//! was skipped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use callscope_host::storage::Storage;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

const CALLS: usize = 4;
const UTTERANCES_PER_CALL: usize = 300;

/// An utterance event cut off before its end, so it is not JSON.
const MALFORMED_EVENT: &[u8] = b"{\"v\":1,\"call_id\":\"call-0\",\"type\":\"utterance\"";

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
    /// Starts the host with batches of 10 events, so a crash finds batches in flight.
    fn start(url: &str, names: &Names, consumer: &str, data_dir: &Path) -> Self {
        Self::start_with_batch(url, names, consumer, data_dir, 10)
    }

    fn start_with_batch(url: &str, names: &Names, consumer: &str, data_dir: &Path, batch_size: usize) -> Self {
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
            .arg(batch_size.to_string())
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

/// Returns the interleaved events with [`MALFORMED_EVENT`] as the 11th, and the
/// number of valid ones.
fn events_with_one_malformed() -> (Vec<(String, Vec<u8>)>, u64) {
    let mut events: Vec<(String, Vec<u8>)> =
        interleaved_events().into_iter().map(|(call, json)| (call, json.into_bytes())).collect();
    let valid = events.len() as u64;
    events.insert(10, ("call-0".into(), MALFORMED_EVENT.to_vec()));
    (events, valid)
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_event_does_not_block() {
    let Some(url) = nats_url() else { return };
    let names = Names::new();
    let (events, valid) = events_with_one_malformed();
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

#[tokio::test(flavor = "multi_thread")]
async fn crash_before_ack_stores_nothing_twice() {
    let Some(url) = nats_url() else { return };
    let names = Names::new();
    let (events, valid) = events_with_one_malformed();
    let published = events.len();
    publish(&url, &names, &events).await;

    // The durable consumer is made here with an acknowledgement wait of 10 s, so the
    // server redelivers soon after the crash. The first host stores every event well
    // within that time, so redeliveries do not crowd out new events before the crash.
    let consumer_name = "acks-lost";
    let stream = async_nats::jetstream::new(async_nats::connect(&url).await.expect("connecting to NATS"))
        .get_stream(&names.stream)
        .await
        .expect("opening the test stream");
    let mut consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(consumer_name.to_owned()),
            filter_subject: names.subject_filter(),
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_secs(10),
            max_ack_pending: callscope_host::live::nats::DEFAULT_MAX_IN_FLIGHT,
            ..Default::default()
        })
        .await
        .expect("creating the durable consumer");

    // The first host reaches NATS through a proxy that drops every acknowledgement,
    // so each batch it commits stays unacknowledged, as if the host had been killed
    // between the commit and the acknowledgements.
    let data_dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(data_dir.path()).unwrap();
    let expected = ExpectedEvents::published(&names, &events);
    let proxy = AckDroppingProxy::start(&url, data_dir.path(), expected).await;
    let host = Host::start_with_batch(&proxy.url, &names, consumer_name, data_dir.path(), 200);
    assert_eq!(wait_for_events(&storage, valid, Duration::from_secs(60)).await, valid);
    let pending = wait_for_ack_pending(&mut consumer, |pending| pending == published, Duration::from_secs(30)).await;
    host.kill();

    assert_eq!(pending, published, "the server saw no acknowledgement");
    assert!(proxy.dropped() >= published as u64, "the host acknowledged every event it stored");
    let early = proxy.acknowledged_before_commit();
    assert!(early.is_empty(), "{} events acknowledged before their commit, the first at stream sequences {:?}", early.len(), &early[..early.len().min(10)]);

    // After the crash every event is redelivered to a host connected directly.
    let host = Host::start(&url, &names, consumer_name, data_dir.path());
    let pending = wait_for_ack_pending(&mut consumer, |pending| pending == 0, Duration::from_secs(60)).await;
    assert_eq!(pending, 0, "the restarted host acknowledged every redelivered event");
    let calls = final_calls(&storage, Duration::from_secs(30)).await;
    drop(host);

    assert_eq!(storage.count_events(None).await.unwrap(), valid, "no event is stored twice");
    let rejected = storage.rejected_events().await.unwrap();
    assert_eq!(rejected.len(), 1, "the redelivered malformed event is stored once");
    assert_eq!(calls.len(), CALLS);
    for (call_id, transcript, _) in &calls {
        let transcript: serde_json::Value = serde_json::from_str(transcript).unwrap();
        assert_eq!(transcript["utterances"].as_array().unwrap().len(), UTTERANCES_PER_CALL, "utterances of {call_id}");
    }

    delete_stream(&url, &names).await;
}

/// Polls the consumer until `done` holds for its count of delivered, unacknowledged
/// events or `timeout` passes; returns the last count.
async fn wait_for_ack_pending(consumer: &mut PullConsumer, done: impl Fn(usize) -> bool, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let info = consumer.info().await.expect("reading the consumer's state");
        let pending = info.num_ack_pending;
        if (done(pending) && info.num_pending == 0) || Instant::now() > deadline {
            return pending;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where each published event must be stored, by stream sequence (1 for the first).
struct ExpectedEvents {
    by_sequence: Vec<Expected>,
}

enum Expected {
    /// A valid event, stored under this id.
    Event(String),
    /// A malformed event, stored as rejected with this source.
    Rejected(String),
}

impl ExpectedEvents {
    /// Assumes `events` were published in order to a new stream.
    fn published(names: &Names, events: &[(String, Vec<u8>)]) -> Self {
        let by_sequence = events
            .iter()
            .enumerate()
            .map(|(index, (call_id, payload))| {
                match serde_json::from_slice::<serde_json::Value>(payload).ok().and_then(|e| e["id"].as_str().map(str::to_owned)) {
                    Some(id) => Expected::Event(id),
                    None => Expected::Rejected(format!("nats:{}.{call_id} #{}", names.subject_prefix, index + 1)),
                }
            })
            .collect();
        Self { by_sequence }
    }

    /// Returns whether the event at `sequence` is committed in `database`.
    fn is_stored(&self, database: &rusqlite::Connection, sequence: u64) -> bool {
        let Some(expected) = self.by_sequence.get((sequence as usize).wrapping_sub(1)) else {
            panic!("an acknowledgement names stream sequence {sequence}, which was never published");
        };
        let (query, key) = match expected {
            Expected::Event(id) => ("SELECT EXISTS (SELECT 1 FROM stream_events WHERE event_id = ?1)", id),
            Expected::Rejected(source) => ("SELECT EXISTS (SELECT 1 FROM rejected_events WHERE source = ?1)", source),
        };
        database.query_row(query, [key], |row| row.get(0)).expect("querying the test database")
    }
}

/// A TCP proxy in front of NATS that passes everything except acknowledgements. It
/// drops each one, after checking on its own connection to the host's database that
/// the acknowledged event is already committed.
struct AckDroppingProxy {
    url: String,
    state: Arc<ProxyState>,
}

struct ProxyState {
    database: Mutex<rusqlite::Connection>,
    expected: ExpectedEvents,
    dropped: AtomicU64,
    before_commit: Mutex<Vec<u64>>,
}

impl AckDroppingProxy {
    async fn start(nats_url: &str, data_dir: &Path, expected: ExpectedEvents) -> Self {
        let server = nats_url.strip_prefix("nats://").expect("CALLSCOPE_TEST_NATS_URL starts with nats://").to_owned();
        let database = rusqlite::Connection::open(data_dir.join("callscope.sqlite3")).expect("opening the test database");
        let state = Arc::new(ProxyState {
            database: Mutex::new(database),
            expected,
            dropped: AtomicU64::new(0),
            before_commit: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the proxy");
        let url = format!("nats://{}", listener.local_addr().unwrap());

        let accepting = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = tokio::net::TcpStream::connect(&server).await.expect("connecting the proxy to NATS");
                let (client_read, mut client_write) = client.into_split();
                let (mut server_read, server_write) = upstream.into_split();
                tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await });
                tokio::spawn(forward_without_acks(client_read, server_write, accepting.clone()));
            }
        });
        Self { url, state }
    }

    fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::SeqCst)
    }

    fn acknowledged_before_commit(&self) -> Vec<u64> {
        self.state.before_commit.lock().unwrap().clone()
    }
}

/// Copies the client's NATS protocol to the server, leaving out publications to
/// `$JS.ACK.` subjects. Each operation is one line; `PUB` and `HPUB` end with the
/// byte count of the payload that follows, itself ended by CRLF.
async fn forward_without_acks(
    client: tokio::net::tcp::OwnedReadHalf,
    mut server: tokio::net::tcp::OwnedWriteHalf,
    state: Arc<ProxyState>,
) -> std::io::Result<()> {
    let mut client = tokio::io::BufReader::new(client);
    let mut line = Vec::new();
    loop {
        line.clear();
        if client.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let is_publish = fields.first().is_some_and(|op| op.eq_ignore_ascii_case("PUB") || op.eq_ignore_ascii_case("HPUB"));
        if !is_publish {
            server.write_all(&line).await?;
            continue;
        }

        let length: usize = fields.last().and_then(|count| count.parse().ok()).expect("PUB ends with its payload size");
        let mut payload = vec![0; length + 2];
        client.read_exact(&mut payload).await?;
        match fields[1].strip_prefix("$JS.ACK.") {
            Some(_) => state.drop_ack(fields[1]),
            None => {
                server.write_all(&line).await?;
                server.write_all(&payload).await?;
            }
        }
    }
}

impl ProxyState {
    /// Records a dropped acknowledgement and whether its event was committed. The
    /// subject is `$JS.ACK.<stream>.<consumer>.<deliveries>.<stream sequence>...`,
    /// with the domain and account hash after `ACK` in the 12-token form.
    fn drop_ack(&self, subject: &str) {
        let tokens: Vec<&str> = subject.split('.').collect();
        let position = if tokens.len() >= 12 { 7 } else { 5 };
        let sequence: u64 = tokens
            .get(position)
            .and_then(|token| token.parse().ok())
            .unwrap_or_else(|| panic!("acknowledgement subject {subject} names no stream sequence"));
        self.dropped.fetch_add(1, Ordering::SeqCst);
        if !self.expected.is_stored(&self.database.lock().unwrap(), sequence) {
            self.before_commit.lock().unwrap().push(sequence);
        }
    }
}

/// Returns the text around the first byte where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> String {
    let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let start = at.saturating_sub(120);
    let end_a = (at + 120).min(a.len());
    let end_b = (at + 120).min(b.len());
    format!("at byte {at}:\n  with crash: {}\n  without:    {}", &a[start..end_a], &b[start..end_b])
}
