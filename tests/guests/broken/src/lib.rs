//! A callscope component that misbehaves on request. `normalize` reads the payload as
//! a command:
//!
//! - `trap` and `panic` panic, `loop` never returns, `sleep` sleeps for an hour;
//! - `grow` allocates, and `huge-output` builds a result text, until the memory limit
//!   stops it;
//! - `recurse` recurses until the call stack overflows;
//! - `alias-output` returns one 16 MiB text under 1024 names, 16 GiB once the host
//!   copies each;
//! - `probe` reports what the sandbox lets it reach.
//!
//! Anything else returns an empty call.
//! The host tests load it to show that each fault fails its own request and the host
//! keeps serving. With the default `socket-probe` feature the probe links
//! `wasi:sockets`, so the component imports more than `wit/allowed-imports.txt`
//! permits, and the install checks reject it. Its policy reads
//! every role map as empty and grants everything to the role `admin` alone, so a test
//! signed in as admin can reach the faults; the other role names get nothing.
//! Redaction blanks every text, so no personal data passes, and annotation exports
//! reject their input or return nothing.

#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "plugin",
});

use exports::callscope::plugin::analysis::{CallAnalysis, ChannelActivity, ChannelLayout, Settings, Utterance};
use exports::callscope::plugin::audio::{AudioError, AudioSummary, GuestPcm16Peaks, GuestRecording, PeaksLevel};
use exports::callscope::plugin::ingest::IngestError;
use exports::callscope::plugin::types::NormalizedCall;

struct Broken;

impl exports::callscope::plugin::ingest::Guest for Broken {
    fn detect_format(_payload: Vec<u8>) -> Result<String, IngestError> {
        Ok("broken".into())
    }

    fn format_names() -> Vec<String> {
        vec!["broken".into()]
    }

    fn split_otlp(
        _body: Vec<u8>,
        _encoding: exports::callscope::plugin::ingest::OtlpEncoding,
    ) -> Result<Vec<exports::callscope::plugin::ingest::OtlpSpan>, IngestError> {
        Ok(Vec::new())
    }

    fn normalize_spans(_spans: Vec<String>) -> Result<NormalizedCall, IngestError> {
        Err(IngestError::InvalidPayload("the broken component reads no spans".into()))
    }

    fn parse_events(events: Vec<Vec<u8>>) -> Vec<Result<exports::callscope::plugin::ingest::StreamEvent, String>> {
        events.iter().map(|_| Err("the broken component reads no events".to_owned())).collect()
    }

    fn normalize(payload: Vec<u8>) -> Result<NormalizedCall, IngestError> {
        match payload.as_slice() {
            b"trap" => panic!("deliberate trap"),
            b"panic" => panic!("deliberate panic in normalize"),
            b"recurse" => Ok(NormalizedCall { duration_ms: Some(recurse(u64::MAX) as i64), ..empty_call() }),
            b"huge-output" => {
                // Aims at a 4 GiB result: more than a 32-bit guest can even address.
                let megabyte = "x".repeat(1 << 20);
                let mut text = String::new();
                for _ in 0..4096 {
                    text.push_str(&megabyte);
                }
                Ok(NormalizedCall { vendor_call_id: Some(text), ..empty_call() })
            }
            b"alias-output" => Ok(NormalizedCall { recording_urls: aliased_texts(16 << 20, 1024), ..empty_call() }),
            b"loop" => {
                let mut counter: u64 = 0;
                loop {
                    counter = std::hint::black_box(counter.wrapping_add(1));
                }
            }
            b"probe" => Ok(NormalizedCall { vendor_call_id: Some(probe_sandbox()), ..empty_call() }),
            b"sleep" => {
                // A wait in the host, where the epoch deadline does not reach.
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(empty_call())
            }
            b"grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            _ => Ok(empty_call()),
        }
    }
}

/// Recurses `depth` times; every frame stays on the wasm call stack, which the host
/// caps, so a large `depth` overflows it.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == 0 {
        return 0;
    }
    std::hint::black_box(recurse(std::hint::black_box(depth - 1))) + 1
}

/// Returns `count` strings that all point at one buffer of `bytes` bytes. Safe Rust
/// cannot alias owned strings, but a hostile guest can, and the canonical ABI then
/// requires the host to copy the same bytes `count` times.
fn aliased_texts(bytes: usize, count: usize) -> Vec<String> {
    let text = std::mem::ManuallyDrop::new("x".repeat(bytes));
    (0..count)
        .map(|_| {
            // SAFETY: this breaks String's unique ownership on purpose. The buffer is
            // freed by no one, because the host rejects the result before the
            // post-return function would free it.
            unsafe { String::from_raw_parts(text.as_ptr() as *mut u8, text.len(), text.capacity()) }
        })
        .collect()
}

fn empty_call() -> NormalizedCall {
    NormalizedCall {
        format: "broken".into(),
        vendor_call_id: None,
        started_at_epoch_ms: None,
        duration_ms: None,
        utterances: Vec::new(),
        findings: Vec::new(),
        unknown_fields: "{}".into(),
        recording_urls: Vec::new(),
        spans: Vec::new(),
        turn_metrics: Vec::new(),
        metrics: Vec::new(),
        latency_percentiles: Vec::new(),
        turns_without_latency: 0,
        ended_reason: None,
        vendor_analysis: "{}".into(),
    }
}

/// Tries what a hostile component would try and reports what it could reach, as
/// `key=value` pairs separated by `;`.
fn probe_sandbox() -> String {
    let env = std::env::vars().count();
    let args = std::env::args().count();
    let root = std::fs::read_dir("/").map(|entries| entries.count().to_string()).unwrap_or_else(|_| "denied".into());
    let passwd = std::fs::read("/etc/passwd").map(|b| b.len().to_string()).unwrap_or_else(|_| "denied".into());
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|_| "none".into());
    #[cfg(feature = "socket-probe")]
    let tcp = std::net::TcpStream::connect("127.0.0.1:9").map(|_| "connected").unwrap_or("denied");
    #[cfg(not(feature = "socket-probe"))]
    let tcp = "not tried";
    format!("env={env};args={args};root={root};passwd={passwd};cwd={cwd};tcp={tcp}")
}

struct NoRecording;

impl GuestRecording for NoRecording {
    fn new() -> Self {
        NoRecording
    }

    fn expect_sample_rate(&self, _sample_rate: u32) {}

    fn push(&self, _chunk: Vec<u8>) -> Result<Vec<u8>, AudioError> {
        Err(AudioError::Unsupported("the broken test component decodes no audio".into()))
    }

    fn finish(&self) -> Result<AudioSummary, AudioError> {
        Err(AudioError::Finished)
    }
}

struct NoPeaks;

impl GuestPcm16Peaks for NoPeaks {
    fn new(_channels: u16, _sample_rate: u32) -> Self {
        NoPeaks
    }

    fn push(&self, _chunk: Vec<u8>) -> Result<(), AudioError> {
        Err(AudioError::Unsupported("the broken test component builds no peaks".into()))
    }

    fn finish(&self) -> Result<Vec<PeaksLevel>, AudioError> {
        Err(AudioError::Finished)
    }
}

impl exports::callscope::plugin::audio::Guest for Broken {
    type Recording = NoRecording;
    type Pcm16Peaks = NoPeaks;

    fn encode_peaks(
        _level: PeaksLevel,
        _sample_rate: u32,
        _format: exports::callscope::plugin::audio::PeaksFormat,
        _bits: u8,
    ) -> Result<Vec<u8>, AudioError> {
        Err(AudioError::Unsupported("the broken test component encodes no peaks".into()))
    }

    fn combine_parties(_user: AudioSummary, _bot: AudioSummary) -> Result<AudioSummary, AudioError> {
        Err(AudioError::Unsupported("the broken test component combines no recordings".into()))
    }
}

impl exports::callscope::plugin::analysis::Guest for Broken {
    fn default_settings() -> Settings {
        Settings {
            min_pause_ms: 500,
            min_overlap_ms: 200,
            turn_join_gap_ms: 1500,
            backchannel_max_ms: 1000,
            dead_air_min_ms: 3000,
            slow_response_ms: 2000,
            max_clock_difference_ms: 150,
        }
    }

    fn analyze(
        _utterances: Vec<Utterance>,
        _activity: Vec<ChannelActivity>,
        _layout: ChannelLayout,
        _settings: Settings,
    ) -> Result<CallAnalysis, String> {
        Ok(CallAnalysis {
            turns: Vec::new(),
            latencies: Vec::new(),
            pauses: Vec::new(),
            overlaps: Vec::new(),
            dead_air: Vec::new(),
            talk: Vec::new(),
            alignment: None,
            flags: Vec::new(),
            findings: Vec::new(),
        })
    }
}

/// Grants every permission to `admin` and nothing to anyone else.
impl exports::callscope::plugin::policy::Guest for Broken {
    fn parse_role_map(_json: String) -> Result<Vec<exports::callscope::plugin::policy::RoleGrant>, String> {
        Ok(Vec::new())
    }

    fn permissions_of(
        _role_map: Vec<exports::callscope::plugin::policy::RoleGrant>,
        roles: Vec<String>,
    ) -> Vec<exports::callscope::plugin::policy::Permission> {
        use exports::callscope::plugin::policy::Permission as P;
        if !roles.iter().any(|role| role == "admin") {
            return Vec::new();
        }
        vec![
            P::ViewCalls,
            P::ViewTranscript,
            P::ViewPersonalData,
            P::Listen,
            P::Annotate,
            P::Review,
            P::Export,
            P::ManageSchema,
            P::ManageComponent,
            P::ImportCalls,
        ]
    }
}

/// Blanks every text rather than passing personal data through unredacted.
impl exports::callscope::plugin::redaction::Guest for Broken {
    fn redact_texts(texts: Vec<String>) -> Vec<exports::callscope::plugin::redaction::RedactedText> {
        texts
            .iter()
            .map(|_| exports::callscope::plugin::redaction::RedactedText { text: String::new(), marks: Vec::new() })
            .collect()
    }

    fn redact_json(_json: String) -> Result<String, String> {
        Err("the broken test component redacts no JSON".into())
    }

    fn redact_utterances(
        utterances: Vec<Utterance>,
    ) -> Vec<(Utterance, Vec<exports::callscope::plugin::redaction::RedactionMark>)> {
        utterances
            .into_iter()
            .map(|utterance| (Utterance { text: String::new(), words: Vec::new(), ..utterance }, Vec::new()))
            .collect()
    }
}

impl exports::callscope::plugin::annotation::Guest for Broken {
    fn parse_schema(_json: String) -> Result<exports::callscope::plugin::annotation::Schema, Vec<String>> {
        Ok(exports::callscope::plugin::annotation::Schema { labels: Vec::new() })
    }

    fn validate_annotation(
        _schema: exports::callscope::plugin::annotation::Schema,
        _input: exports::callscope::plugin::annotation::AnnotationInput,
        _bounds: exports::callscope::plugin::annotation::CallBounds,
    ) -> Result<(), String> {
        Err("the broken test component accepts no annotations".into())
    }

    fn missing_required(
        _schema: exports::callscope::plugin::annotation::Schema,
        _annotations: Vec<exports::callscope::plugin::annotation::AnnotationInput>,
    ) -> Vec<String> {
        Vec::new()
    }

    fn review_queue(
        _candidates: Vec<exports::callscope::plugin::annotation::QueueCandidate>,
        _sample_per_mille: u32,
        _seed: u64,
    ) -> Vec<exports::callscope::plugin::annotation::QueueEntry> {
        Vec::new()
    }

    fn compute_agreement(
        _ratings: Vec<exports::callscope::plugin::annotation::Rating>,
        _level: exports::callscope::plugin::annotation::MeasurementLevel,
    ) -> Result<exports::callscope::plugin::annotation::Agreement, String> {
        Err("the broken component computes no agreement".into())
    }

    fn export_rows(
        _rows: Vec<exports::callscope::plugin::annotation::ExportRow>,
        _format: exports::callscope::plugin::annotation::ExportFormat,
        _redact: bool,
    ) -> String {
        String::new()
    }
}

export!(Broken);

impl exports::callscope::plugin::about::Guest for Broken {
    fn describe() -> exports::callscope::plugin::about::ComponentInfo {
        exports::callscope::plugin::about::ComponentInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            formats: vec!["broken".into()],
            audio_encodings: Vec::new(),
        }
    }
}
