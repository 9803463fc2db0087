//! The assembled mu-law call: real read speech placed at known times on two
//! channels (user on 0, bot on 1). `truth.json` lists every placed clip and the
//! pauses, response latencies and overlap that follow from the placement. The
//! analysis of the decoded recording must find each of them.

use std::path::PathBuf;

use callscope_api_types::{
    AnalysisSettings, AudioSummary, CallAnalysis, ChannelLayout, MeasureSource, OverlapKind, PauseKind,
    Speaker,
};
use callscope_component::analysis::analyze;
use callscope_component::audio::Recording;
use callscope_component::ingest::normalize;
use serde_json::Value;

/// Largest difference between a time measured on the recording and the placed time.
const AUDIO_TOLERANCE_MS: i64 = 50;

const LAYOUT: ChannelLayout = ChannelLayout::Separate {
    user_channel: 0,
    bot_channel: 1,
};

fn call_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/calls/assembled-mulaw")
}

fn truth() -> Value {
    let text = std::fs::read_to_string(call_dir().join("truth.json")).expect("truth.json");
    serde_json::from_str(&text).expect("truth.json is JSON")
}

fn decode_recording() -> AudioSummary {
    let bytes = std::fs::read(call_dir().join("recording.wav")).expect("recording.wav");
    let mut recording = Recording::new();
    for chunk in bytes.chunks(64 * 1024) {
        recording.push(chunk).expect("recording.wav decodes");
    }
    recording.finish().expect("recording.wav finishes")
}

fn analyse_with_audio() -> CallAnalysis {
    let report = std::fs::read(call_dir().join("report.json")).expect("report.json");
    let call = normalize(&report).expect("report.json normalises");
    let summary = decode_recording();
    analyze(
        &call.utterances,
        &summary.activity,
        LAYOUT,
        &AnalysisSettings::default(),
    )
    .expect("analysis succeeds")
}

fn ms(value: &Value, key: &str) -> i64 {
    value[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} missing in {value}"))
}

fn speaker(name: &str) -> Speaker {
    match name {
        "user" => Speaker::User,
        "bot" => Speaker::Bot,
        other => panic!("unexpected speaker {other}"),
    }
}

#[test]
fn audio_channels_match_placed_clips() {
    let truth = truth();
    let summary = decode_recording();

    for clip in truth["clips"].as_array().expect("clips") {
        let channel = ms(clip, "channel") as u16;
        let (start_ms, end_ms) = (ms(clip, "start_ms"), ms(clip, "end_ms"));
        let speech = &summary
            .activity
            .iter()
            .find(|activity| activity.channel == channel)
            .expect("channel activity")
            .speech;
        let covering: Vec<_> = speech
            .iter()
            .filter(|segment| segment.end_ms > start_ms && segment.start_ms < end_ms)
            .collect();

        let first = covering
            .first()
            .unwrap_or_else(|| panic!("no speech on channel {channel} for {clip}"));
        let last = covering.last().expect("non-empty");
        assert!(
            (first.start_ms - start_ms).abs() <= AUDIO_TOLERANCE_MS,
            "clip {clip}: speech starts at {}",
            first.start_ms
        );
        assert!(
            (last.end_ms - end_ms).abs() <= AUDIO_TOLERANCE_MS,
            "clip {clip}: speech ends at {}",
            last.end_ms
        );
    }
}

#[test]
fn audio_pauses_match_truth() {
    let truth = truth();
    let analysis = analyse_with_audio();
    let audio_pauses: Vec<_> = analysis
        .pauses
        .iter()
        .filter(|pause| pause.source == MeasureSource::Audio)
        .collect();
    let expected = truth["pauses"].as_array().expect("pauses");

    assert_eq!(
        audio_pauses.len(),
        expected.len(),
        "audio pauses: {audio_pauses:#?}"
    );
    for (found, expected) in audio_pauses.iter().zip(expected) {
        let kind = match expected["kind"].as_str() {
            Some("within-turn") => PauseKind::WithinTurn,
            _ => PauseKind::BetweenSpeakers,
        };
        assert!(
            (found.duration_ms - ms(expected, "duration_ms")).abs() <= AUDIO_TOLERANCE_MS,
            "pause {expected}: measured {found:?}"
        );
        assert!(
            (found.start_ms - ms(expected, "start_ms")).abs() <= AUDIO_TOLERANCE_MS,
            "pause {expected}: measured {found:?}"
        );
        assert_eq!(found.kind, kind, "pause {expected}");
        assert_eq!(
            found.speaker,
            speaker(expected["speaker"].as_str().unwrap_or("")),
            "pause {expected}"
        );
    }
}

#[test]
fn audio_latencies_match_truth() {
    let truth = truth();
    let analysis = analyse_with_audio();
    let audio: Vec<_> = analysis
        .latencies
        .iter()
        .filter(|latency| latency.source == MeasureSource::Audio)
        .collect();
    let expected = truth["latencies"].as_array().expect("latencies");

    assert_eq!(audio.len(), expected.len(), "audio latencies: {audio:#?}");
    for (found, expected) in audio.iter().zip(expected) {
        assert!(
            (found.latency_ms - ms(expected, "latency_ms")).abs() <= AUDIO_TOLERANCE_MS,
            "latency {expected}: measured {found:?}"
        );
        assert!(
            (found.bot_start_ms - ms(expected, "bot_start_ms")).abs() <= AUDIO_TOLERANCE_MS,
            "latency {expected}: measured {found:?}"
        );
    }
}

#[test]
fn audio_latencies_point_at_event_turns() {
    let analysis = analyse_with_audio();
    let events: Vec<u32> = analysis
        .latencies
        .iter()
        .filter(|l| l.source == MeasureSource::Events)
        .map(|l| l.turn_index)
        .collect();
    let audio: Vec<u32> = analysis
        .latencies
        .iter()
        .filter(|l| l.source == MeasureSource::Audio)
        .map(|l| l.turn_index)
        .collect();
    assert_eq!(audio, events);
}

#[test]
fn audio_overlap_has_user_interrupter() {
    let truth = truth();
    let analysis = analyse_with_audio();
    let audio: Vec<_> = analysis
        .overlaps
        .iter()
        .filter(|overlap| overlap.source == MeasureSource::Audio)
        .collect();
    let expected = &truth["overlaps"][0];

    assert_eq!(audio.len(), 1, "audio overlaps: {audio:#?}");
    assert_eq!(audio[0].interrupter, Speaker::User);
    assert_eq!(audio[0].kind, OverlapKind::BargeIn);
    assert!(
        (audio[0].start_ms - ms(expected, "start_ms")).abs() <= AUDIO_TOLERANCE_MS,
        "overlap {:?}",
        audio[0]
    );
    assert!(
        (audio[0].duration_ms - ms(expected, "duration_ms")).abs() <= AUDIO_TOLERANCE_MS,
        "overlap {:?}",
        audio[0]
    );
}

#[test]
fn event_measures_equal_truth() {
    let truth = truth();
    let report = std::fs::read(call_dir().join("report.json")).expect("report.json");
    let call = normalize(&report).expect("report.json normalises");
    let analysis = analyze(&call.utterances, &[], LAYOUT, &AnalysisSettings::default())
        .expect("analysis succeeds");

    let latencies: Vec<i64> = analysis
        .latencies
        .iter()
        .map(|latency| latency.latency_ms)
        .collect();
    let expected_latencies: Vec<i64> = truth["latencies"]
        .as_array()
        .expect("latencies")
        .iter()
        .map(|latency| ms(latency, "latency_ms"))
        .collect();
    assert_eq!(latencies, expected_latencies);

    let pauses: Vec<(i64, i64)> = analysis
        .pauses
        .iter()
        .map(|pause| (pause.start_ms, pause.end_ms))
        .collect();
    let expected_pauses: Vec<(i64, i64)> = truth["pauses"]
        .as_array()
        .expect("pauses")
        .iter()
        .map(|pause| (ms(pause, "start_ms"), ms(pause, "end_ms")))
        .collect();
    assert_eq!(pauses, expected_pauses);

    assert_eq!(analysis.overlaps.len(), 1);
    assert_eq!(analysis.overlaps[0].interrupter, Speaker::User);
    assert_eq!(
        analysis.overlaps[0].duration_ms,
        ms(&truth["overlaps"][0], "duration_ms")
    );
}

#[test]
fn event_and_audio_latencies_agree() {
    let analysis = analyse_with_audio();
    let mismatches: Vec<_> = analysis
        .findings
        .iter()
        .filter(|finding| finding.code == "latency-mismatch")
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn turns_come_from_events() {
    let analysis = analyse_with_audio();
    let speakers: Vec<Speaker> = analysis.turns.iter().map(|turn| turn.speaker).collect();
    assert_eq!(
        speakers,
        [
            Speaker::Bot,
            Speaker::User,
            Speaker::Bot,
            Speaker::User,
            Speaker::Bot,
            Speaker::User,
            Speaker::Bot,
            Speaker::User,
            Speaker::Bot,
            Speaker::User,
        ]
    );
    assert!(
        analysis
            .turns
            .iter()
            .all(|turn| turn.source == MeasureSource::Events)
    );
}
