//! The host and the component end to end over HTTP: importing real calls, reading them
//! back, and rejecting bad input without storing anything.

use callscope_api_types as api;
use callscope_host::HttpLimits;
use callscope_tests::{CSRF_HEADER, ServerOptions, TestServer, fixture, import_form};

fn read(relative: &str) -> Vec<u8> {
    let path = fixture(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()))
}

fn sales_payload() -> Vec<u8> {
    read("calls/sales-call/report.json")
}

fn sales_recording() -> Vec<u8> {
    read("audio/azure-speech-sdk__fast-transcription__test_call_audio.wav")
}

async fn import(
    server: &TestServer,
    client: &reqwest::Client,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    client
        .post(server.url("/callscope/api/calls"))
        .header(CSRF_HEADER.0, CSRF_HEADER.1)
        .multipart(form)
        .send()
        .await
        .expect("sending the import request")
}

async fn error_body(response: reqwest::Response) -> api::ApiError {
    response.json().await.expect("error responses carry an ApiError body")
}

#[tokio::test]
async fn sales_call_round_trip() {
    let server = TestServer::start(ServerOptions::default()).await;
    let admin = server.client_for("admin").await;

    let response = import(&server, &admin, import_form(sales_payload(), Some(sales_recording()), "Sales call")).await;
    assert_eq!(response.status(), 201, "import failed: {}", response.text().await.unwrap_or_default());
    let summary: api::CallSummary = response.json().await.unwrap();
    assert_eq!(summary.title, "Sales call");
    assert_eq!(summary.format, "vapi-end-of-call-report");
    assert!(summary.has_recording);
    // The recording is 120 s of 16 kHz PCM16.
    assert!((summary.duration_ms.unwrap() - 120_000).abs() <= 10, "duration {:?}", summary.duration_ms);

    let viewer = server.client_for("viewer").await;
    let list: api::CallList =
        viewer.get(server.url("/callscope/api/calls")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.total, 1);
    assert_eq!(list.calls[0].id, summary.id);

    let detail: api::CallDetail = viewer
        .get(server.url(&format!("/callscope/api/calls/{}", summary.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail.call.utterances.len(), summary.utterance_count as usize);
    assert!(!detail.analysis.turns.is_empty(), "the analysis has turns");
    let recording = detail.recording.expect("the call view has the recording");
    assert_eq!(recording.format.sample_rate, 16_000);
    assert_eq!(recording.layout, api::ChannelLayout::Mixed);
    assert_eq!(detail.analysed_by.sha256, server.state.runtime().sha256());

    let peaks: api::PeaksWindow = viewer
        .get(server.url(&format!("/callscope/api/calls/{}/peaks?start_ms=10000&end_ms=20000&pixels=500", summary.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(peaks.channels, 1);
    assert!(peaks.data.len() / 2 >= 500, "asked for 500 pixels, got {}", peaks.data.len() / 2);
    assert!(peaks.start_ms <= 10_000, "window starts at {} ms", peaks.start_ms);
    assert!(peaks.end_ms >= 19_900, "window ends at {} ms", peaks.end_ms);
    assert!(peaks.data.iter().any(|v| v.unsigned_abs() > 1000), "ten seconds of a call are not silent");
}

#[tokio::test]
async fn mulaw_recording_served_as_pcm16_with_ranges() {
    let server = TestServer::start(ServerOptions::default()).await;
    let admin = server.client_for("admin").await;
    let source = read("calls/assembled-mulaw/recording.wav");

    let form = import_form(read("calls/assembled-mulaw/report.json"), Some(source.clone()), "Assembled");
    let response = import(&server, &admin, form).await;
    assert_eq!(response.status(), 201, "import failed: {}", response.text().await.unwrap_or_default());
    let summary: api::CallSummary = response.json().await.unwrap();

    let audio_url = server.url(&format!("/callscope/api/calls/{}/audio", summary.id));
    let whole = admin.get(&audio_url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "audio/wav");
    let wav = whole.bytes().await.unwrap();

    // Served file: PCM16 (format 1), 2 channels, 8 kHz.
    assert_eq!(&wav[0..4], b"RIFF");
    assert_eq!(u16::from_le_bytes([wav[20], wav[21]]), 1, "format tag");
    assert_eq!(u16::from_le_bytes([wav[22], wav[23]]), 2, "channels");
    assert_eq!(u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]), 8000, "sample rate");
    let data_bytes = u32::from_le_bytes([wav[40], wav[41], wav[42], wav[43]]) as usize;
    assert_eq!(data_bytes, wav.len() - 44);

    // Duration equals the source's: one mu-law byte per sample, two PCM16 bytes.
    let source_data = find_data_chunk(&source);
    assert_eq!(data_bytes, source_data * 2);

    let partial = admin.get(&audio_url).header("range", "bytes=44-1043").send().await.unwrap();
    assert_eq!(partial.status(), 206);
    assert_eq!(partial.headers()["content-range"], format!("bytes 44-1043/{}", wav.len()));
    assert_eq!(partial.bytes().await.unwrap().as_ref(), &wav[44..1044]);
}

/// Returns the size of the `data` chunk of a WAV file.
fn find_data_chunk(wav: &[u8]) -> usize {
    let mut offset = 12;
    while offset + 8 <= wav.len() {
        let size = u32::from_le_bytes([wav[offset + 4], wav[offset + 5], wav[offset + 6], wav[offset + 7]]) as usize;
        if &wav[offset..offset + 4] == b"data" {
            return size;
        }
        offset += 8 + size + (size & 1);
    }
    panic!("no data chunk");
}

/// Imports `form` and expects a 4xx whose message contains `needle`, with nothing
/// stored and the server still answering.
async fn expect_rejected(server: &TestServer, form: reqwest::multipart::Form, status: u16, needle: &str) {
    let admin = server.client_for("admin").await;
    let before = server.state.storage.count_calls().await.unwrap();

    let response = import(server, &admin, form).await;
    assert_eq!(response.status(), status);
    let error = error_body(response).await;
    assert!(
        error.message.to_lowercase().contains(&needle.to_lowercase()),
        "message {:?} should mention {needle:?}",
        error.message
    );

    assert_eq!(server.state.storage.count_calls().await.unwrap(), before, "nothing is stored");
    let staged = std::fs::read_dir(server.data_dir.path().join("staging")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(staged, 0, "no staged files are left behind");
    let me = admin.get(server.url("/callscope/api/me")).send().await.unwrap();
    assert_eq!(me.status(), 200, "the server keeps serving");
}

#[tokio::test]
async fn payload_not_json_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    expect_rejected(&server, import_form(b"hello, this is not JSON".to_vec(), None, "x"), 400, "json").await;
}

#[tokio::test]
async fn unknown_json_format_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    let form = import_form(br#"{"some": "object", "nobody": ["knows"]}"#.to_vec(), None, "x");
    expect_rejected(&server, form, 422, "vapi").await;
}

#[tokio::test]
async fn truncated_wav_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    let truncated = sales_recording()[..30].to_vec();
    expect_rejected(&server, import_form(sales_payload(), Some(truncated), "x"), 422, "").await;
}

#[tokio::test]
async fn wav_with_lying_length_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    // Keep the header, which promises 120 s, but only one second of samples.
    let recording = sales_recording();
    let lying = recording[..44 + 32_000].to_vec();
    expect_rejected(&server, import_form(sales_payload(), Some(lying), "x"), 422, "bytes").await;
}

#[tokio::test]
async fn empty_payload_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    expect_rejected(&server, import_form(Vec::new(), None, "x"), 400, "payload field is empty").await;
}

#[tokio::test]
async fn empty_recording_rejected() {
    let server = TestServer::start(ServerOptions::default()).await;
    expect_rejected(&server, import_form(sales_payload(), Some(Vec::new()), "x"), 400, "recording field is empty").await;
}

#[tokio::test]
async fn oversized_recording_rejected() {
    let limits = HttpLimits { max_recording_bytes: 1 << 20, ..HttpLimits::default() };
    let server = TestServer::start(ServerOptions { http_limits: limits, ..ServerOptions::default() }).await;
    let form = import_form(sales_payload(), Some(sales_recording()), "x");
    expect_rejected(&server, form, 413, "limit of 1048576 bytes").await;
}

#[tokio::test]
async fn viewer_cannot_import() {
    let server = TestServer::start(ServerOptions::default()).await;
    let viewer = server.client_for("viewer").await;
    let response = import(&server, &viewer, import_form(sales_payload(), None, "x")).await;
    assert_eq!(response.status(), 403);
    assert!(error_body(response).await.message.contains("viewer"));
}

#[tokio::test]
async fn import_without_csrf_header_refused() {
    let server = TestServer::start(ServerOptions::default()).await;
    let admin = server.client_for("admin").await;
    let response = admin
        .post(server.url("/callscope/api/calls"))
        .multipart(import_form(sales_payload(), None, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(error_body(response).await.message.contains("x-callscope-request"));
}

#[tokio::test]
async fn api_requires_sign_in() {
    let server = TestServer::start(ServerOptions::default()).await;
    let response = reqwest::get(server.url("/callscope/api/calls")).await.unwrap();
    assert_eq!(response.status(), 401);
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login");
}

#[tokio::test]
async fn unknown_call_is_not_found() {
    let server = TestServer::start(ServerOptions::default()).await;
    let viewer = server.client_for("viewer").await;
    let response = viewer.get(server.url("/callscope/api/calls/no-such-call")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(error_body(response).await.message.contains("no-such-call"));
}

#[tokio::test]
async fn faulty_component_fails_one_request() {
    let limits = callscope_host::RuntimeLimits {
        deadline: std::time::Duration::from_millis(500),
        ..callscope_host::RuntimeLimits::default()
    };
    let options =
        ServerOptions { component: callscope_tests::broken_component_wasm(), runtime_limits: limits, ..ServerOptions::default() };
    let server = TestServer::start(options).await;
    let admin = server.client_for("admin").await;

    let looping = import(&server, &admin, import_form(b"loop".to_vec(), None, "x")).await;
    assert_eq!(looping.status(), 504);
    assert!(error_body(looping).await.message.contains("deadline of 500 ms"));

    let trapping = import(&server, &admin, import_form(b"trap".to_vec(), None, "x")).await;
    assert_eq!(trapping.status(), 500);
    assert_eq!(error_body(trapping).await.error, "component-failed");

    let fine = import(&server, &admin, import_form(b"fine".to_vec(), None, "x")).await;
    assert_eq!(fine.status(), 201, "the host keeps serving after faults");
    assert_eq!(server.state.storage.count_calls().await.unwrap(), 1);
}

#[tokio::test]
async fn peaks_export_in_audiowaveform_formats() {
    let server = TestServer::start(ServerOptions::default()).await;
    let admin = server.client_for("admin").await;
    let response = import(&server, &admin, import_form(sales_payload(), Some(sales_recording()), "Sales call")).await;
    let summary: api::CallSummary = response.json().await.unwrap();
    let levels = server.state.storage.get_peaks(summary.id.clone()).await.unwrap();
    let finest = &levels[0];

    let url = |query: &str| server.url(&format!("/callscope/api/calls/{}/waveform?{query}", summary.id));
    let dat = admin.get(url("format=dat&bits=8")).send().await.unwrap();
    assert_eq!(dat.status(), 200);
    let dat = dat.bytes().await.unwrap();
    let word = |at: usize| i32::from_le_bytes([dat[at], dat[at + 1], dat[at + 2], dat[at + 3]]);
    assert_eq!(word(0), 2, "version");
    assert_eq!(word(4) & 1, 1, "flags: 8-bit");
    assert_eq!(word(8), 16_000, "sample rate");
    assert_eq!(word(12) as u32, finest.samples_per_pixel);
    assert_eq!(word(16) as usize, finest.pixels(), "length in pixels");
    assert_eq!(word(20), 1, "channels");
    assert_eq!(dat.len(), 24 + finest.pixels() * 2, "one min and one max byte per pixel");

    let json: serde_json::Value = admin.get(url("format=json&bits=16&level=1")).send().await.unwrap().json().await.unwrap();
    assert_eq!(json["version"], 2);
    assert_eq!(json["bits"], 16);
    assert_eq!(json["samples_per_pixel"], levels[1].samples_per_pixel);
    assert_eq!(json["data"].as_array().unwrap().len(), levels[1].pixels() * 2);

    let bad = admin.get(url("format=png")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn importing_the_same_call_twice_is_refused_with_the_first_id() {
    let server = TestServer::start(ServerOptions::default()).await;
    let admin = server.client_for("admin").await;
    let first = import(&server, &admin, import_form(sales_payload(), None, "first")).await;
    assert_eq!(first.status(), 201);
    let first: api::CallSummary = first.json().await.unwrap();

    let second = import(&server, &admin, import_form(sales_payload(), None, "second")).await;
    assert_eq!(second.status(), 409);
    let error = error_body(second).await;
    assert_eq!(error.error, "already-imported");
    assert!(error.message.contains(&first.id), "the message names the stored call: {}", error.message);
    assert_eq!(server.state.storage.count_calls().await.unwrap(), 1);
}
