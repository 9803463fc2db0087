//! A callscope component that misbehaves on request. `normalize` reads the payload as
//! a command: `trap` panics, `loop` never returns, `grow` allocates until the memory
//! limit stops it; anything else returns an empty call. The host tests load it to show
//! that each fault fails its own request and the host keeps serving.

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
            b"loop" => {
                let mut counter: u64 = 0;
                loop {
                    counter = std::hint::black_box(counter.wrapping_add(1));
                }
            }
            b"probe" => Ok(NormalizedCall { vendor_call_id: Some(probe_sandbox()), ..empty_call() }),
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
    let tcp = std::net::TcpStream::connect("127.0.0.1:9").map(|_| "connected").unwrap_or("denied");
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

export!(Broken);
