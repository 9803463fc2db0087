//! The 120 s sales call: a Vapi-shaped report built from Azure's diarized transcript
//! of the recording, with speaker 0 (the agent) as the bot and speaker 1 (the
//! customer) as the user. The expected numbers are the phrase offsets and durations
//! of that transcript, in milliseconds.

use std::path::PathBuf;

use callscope_api_types::{
    AnalysisSettings, ChannelLayout, MeasureSource, NormalizedCall, PauseKind, Speaker,
    TimingQuality,
};
use callscope_component::analysis::analyze;
use callscope_component::audio::Recording;
use callscope_component::ingest::{detect_format, normalize};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn report_bytes() -> Vec<u8> {
    std::fs::read(fixtures().join("calls/sales-call/report.json")).expect("sales-call report.json")
}

fn sales_call() -> NormalizedCall {
    normalize(&report_bytes()).expect("sales-call report normalises")
}

#[test]
fn report_is_vapi_format() {
    assert_eq!(
        detect_format(&report_bytes()),
        Ok("vapi-end-of-call-report")
    );
}

#[test]
fn call_fields() {
    let call = sales_call();
    assert_eq!(call.format, "vapi-end-of-call-report");
    assert_eq!(call.vendor_call_id.as_deref(), Some("fixture-sales-call"));
    assert_eq!(call.started_at_epoch_ms, Some(1_715_698_931_000));
    assert_eq!(call.duration_ms, Some(120_000));
    assert_eq!(
        call.recording_urls,
        ["https://storage.example.com/callscope-fixtures/sales-call/mono.wav"]
    );
}

#[test]
fn clean_report_has_no_findings() {
    let call = sales_call();
    assert!(call.findings.is_empty(), "{:#?}", call.findings);
}

#[test]
fn utterance_count_and_speakers() {
    let call = sales_call();
    // One system prompt and the transcript's 34 phrases.
    assert_eq!(call.utterances.len(), 35);
    assert_eq!(call.utterances[0].speaker, Speaker::System);

    let users: Vec<(i64, i64)> = call
        .utterances
        .iter()
        .filter(|utterance| utterance.speaker == Speaker::User)
        .map(|utterance| (utterance.start_ms, utterance.end_ms))
        .collect();
    assert_eq!(users, [(100_320, 112_880), (116_080, 116_320)]);

    let bots = call
        .utterances
        .iter()
        .filter(|utterance| utterance.speaker == Speaker::Bot)
        .count();
    assert_eq!(bots, 32);
}

#[test]
fn first_utterance_matches_transcript() {
    let call = sales_call();
    let first = &call.utterances[1];
    assert_eq!(first.speaker, Speaker::Bot);
    assert_eq!(first.text, "I think we got disconnected.");
    assert_eq!(first.start_ms, 240);
    assert_eq!(first.end_ms, 1_440);
    assert_eq!(first.timing, TimingQuality::Exact);
}

#[test]
fn first_utterance_words() {
    let call = sales_call();
    let words = &call.utterances[1].words;
    assert_eq!(words.len(), 5);
    assert_eq!(
        (words[0].text.as_str(), words[0].start_ms, words[0].end_ms),
        ("I", 240, 280)
    );
    assert_eq!(
        (words[4].text.as_str(), words[4].start_ms, words[4].end_ms),
        ("disconnected.", 720, 1_440)
    );
    assert_eq!(words[0].confidence, Some(0.928_670_47));
}

#[test]
fn last_utterance_matches_transcript() {
    let call = sales_call();
    let last = call.utterances.last().expect("utterances");
    assert_eq!(last.speaker, Speaker::Bot);
    assert_eq!(last.text, "It's an option.");
    assert_eq!(last.start_ms, 119_120);
    assert_eq!(last.end_ms, 119_920);
}

#[test]
fn original_times_are_verbatim() {
    let call = sales_call();
    let original: serde_json::Value =
        serde_json::from_str(&call.utterances[1].original_times).expect("original_times is JSON");
    assert_eq!(original["time"], 1_715_698_931_240i64);
    assert_eq!(original["endTime"], 1_715_698_932_440i64);
    assert_eq!(original["duration"], 1_200);
    assert_eq!(original["secondsFromStart"], 0.24);
}

#[test]
fn unknown_key_is_kept() {
    let call = sales_call();
    let unknown: serde_json::Value =
        serde_json::from_str(&call.unknown_fields).expect("unknown_fields is JSON");
    assert!(unknown["/message/fixtureNote"].is_string(), "{unknown}");
}

#[test]
fn event_turns_and_latencies() {
    let call = sales_call();
    let analysis = analyze(
        &call.utterances,
        &[],
        ChannelLayout::Mixed,
        &AnalysisSettings::default(),
    )
    .expect("analysis succeeds");

    let turns: Vec<(Speaker, i64, i64)> = analysis
        .turns
        .iter()
        .map(|turn| (turn.speaker, turn.start_ms, turn.end_ms))
        .collect();
    assert_eq!(
        turns,
        [
            (Speaker::Bot, 240, 2_640),
            (Speaker::Bot, 7_760, 21_440),
            (Speaker::Bot, 23_440, 43_680),
            (Speaker::Bot, 45_360, 48_080),
            (Speaker::Bot, 49_800, 99_200),
            (Speaker::User, 100_320, 112_880),
            (Speaker::Bot, 113_200, 115_840),
            (Speaker::User, 116_080, 116_320),
            (Speaker::Bot, 116_960, 119_920),
        ]
    );

    let latencies: Vec<(u32, i64)> = analysis
        .latencies
        .iter()
        .map(|latency| (latency.turn_index, latency.latency_ms))
        .collect();
    assert_eq!(latencies, [(6, 320), (8, 640)]);
    assert!(analysis.overlaps.is_empty(), "{:?}", analysis.overlaps);
}

#[test]
fn event_pauses() {
    let call = sales_call();
    let analysis = analyze(
        &call.utterances,
        &[],
        ChannelLayout::Mixed,
        &AnalysisSettings::default(),
    )
    .expect("analysis succeeds");

    let pauses: Vec<(i64, i64, PauseKind)> = analysis
        .pauses
        .iter()
        .map(|pause| (pause.start_ms, pause.duration_ms, pause.kind))
        .collect();
    assert_eq!(
        pauses,
        [
            (1_440, 560, PauseKind::WithinTurn),
            (2_640, 5_120, PauseKind::WithinTurn),
            (21_440, 2_000, PauseKind::WithinTurn),
            (33_360, 560, PauseKind::WithinTurn),
            (43_680, 1_680, PauseKind::WithinTurn),
            (48_080, 1_720, PauseKind::WithinTurn),
            (53_240, 560, PauseKind::WithinTurn),
            (67_240, 560, PauseKind::WithinTurn),
            (99_200, 1_120, PauseKind::BetweenSpeakers),
            (113_680, 760, PauseKind::WithinTurn),
            (116_320, 640, PauseKind::BetweenSpeakers),
        ]
    );
}

/// Decodes the real recording and checks the pauses the mixed-channel audio adds:
/// each lies inside the span the turns cover and is at least the minimum pause.
#[test]
fn mixed_audio_pauses_lie_inside_turns() {
    let bytes = std::fs::read(
        fixtures().join("audio/azure-speech-sdk__fast-transcription__test_call_audio.wav"),
    )
    .expect("sales-call recording");
    let mut recording = Recording::new();
    for chunk in bytes.chunks(64 * 1024) {
        recording.push(chunk).expect("recording decodes");
    }
    let summary = recording.finish().expect("recording finishes");
    assert_eq!(summary.activity.len(), 1);

    let call = sales_call();
    let settings = AnalysisSettings::default();
    let analysis = analyze(
        &call.utterances,
        &summary.activity,
        ChannelLayout::Mixed,
        &settings,
    )
    .expect("analysis succeeds");
    let audio: Vec<_> = analysis
        .pauses
        .iter()
        .filter(|pause| pause.source == MeasureSource::Audio)
        .collect();
    let first_start = analysis.turns.first().expect("turns").start_ms;
    let last_end = analysis.turns.last().expect("turns").end_ms;

    assert!(!audio.is_empty());
    for pause in &audio {
        assert!(pause.duration_ms >= settings.min_pause_ms, "{pause:?}");
        assert!(pause.start_ms >= first_start, "{pause:?}");
        assert!(pause.end_ms <= last_end, "{pause:?}");
    }

    // The transcript has a 2 s silence from 21 440 to 23 440 ms between two agent
    // phrases; the recording must show it too, to within 100 ms at each edge.
    let gap = audio
        .iter()
        .find(|pause| (pause.start_ms - 21_440).abs() <= 100)
        .unwrap_or_else(|| panic!("no audio pause near 21 440 ms: {audio:#?}"));
    assert!((gap.end_ms - 23_440).abs() <= 100, "{gap:?}");
    assert_eq!(gap.kind, PauseKind::WithinTurn);
}

/// The mono audio, attributed to speakers through the transcript, measures the two
/// response latencies the events give (320 and 640 ms) to within 150 ms.
#[test]
fn mixed_audio_latencies_follow_events() {
    let bytes = std::fs::read(
        fixtures().join("audio/azure-speech-sdk__fast-transcription__test_call_audio.wav"),
    )
    .expect("sales-call recording");
    let mut recording = Recording::new();
    for chunk in bytes.chunks(64 * 1024) {
        recording.push(chunk).expect("recording decodes");
    }
    let summary = recording.finish().expect("recording finishes");
    let call = sales_call();
    let analysis = analyze(
        &call.utterances,
        &summary.activity,
        ChannelLayout::Mixed,
        &AnalysisSettings::default(),
    )
    .expect("analysis succeeds");

    let audio: Vec<(u32, i64)> = analysis
        .latencies
        .iter()
        .filter(|latency| latency.source == MeasureSource::Audio)
        .map(|latency| (latency.turn_index, latency.latency_ms))
        .collect();
    let turns: Vec<u32> = audio.iter().map(|(turn, _)| *turn).collect();
    assert_eq!(turns, [6, 8], "{audio:?}");
    assert!((audio[0].1 - 320).abs() <= 150, "{audio:?}");
    assert!((audio[1].1 - 640).abs() <= 150, "{audio:?}");
}
