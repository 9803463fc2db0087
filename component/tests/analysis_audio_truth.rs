//! Measures taken from the recording: overlap kinds, dead air, the event-to-recording
//! alignment, flags and mono attribution. Synthetic speech activity checks each
//! rule; the fixture calls check them on real decoded audio.

use std::path::PathBuf;

use callscope_api_types::{
    AnalysisSettings, AudioSummary, CallAnalysis, ChannelActivity, ChannelLayout, MeasureSource,
    OverlapKind, Segment, Speaker, TimingQuality, Utterance,
};
use callscope_component::analysis::analyze;
use callscope_component::audio::Recording;
use callscope_component::ingest::normalize;

const SEPARATE: ChannelLayout = ChannelLayout::Separate {
    user_channel: 0,
    bot_channel: 1,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn decode(path: &str) -> AudioSummary {
    let bytes = std::fs::read(fixtures().join(path)).expect("recording");
    let mut recording = Recording::new();
    for chunk in bytes.chunks(64 * 1024) {
        recording.push(chunk).expect("recording decodes");
    }
    recording.finish().expect("recording finishes")
}

fn utterances(path: &str) -> Vec<Utterance> {
    let report = std::fs::read(fixtures().join(path)).expect("report");
    normalize(&report).expect("report normalises").utterances
}

fn utterance(index: u32, speaker: Speaker, start_ms: i64, end_ms: i64, text: &str) -> Utterance {
    Utterance {
        index,
        speaker,
        text: text.to_string(),
        start_ms,
        end_ms,
        words: Vec::new(),
        timing: TimingQuality::Exact,
        original_times: "{}".to_string(),
    }
}

fn channel(channel: u16, speech: &[(i64, i64)]) -> ChannelActivity {
    ChannelActivity {
        channel,
        speech: speech
            .iter()
            .map(|&(start_ms, end_ms)| Segment { start_ms, end_ms })
            .collect(),
    }
}

fn audio_overlap_kinds(analysis: &CallAnalysis) -> Vec<OverlapKind> {
    analysis
        .overlaps
        .iter()
        .filter(|overlap| overlap.source == MeasureSource::Audio)
        .map(|overlap| overlap.kind)
        .collect()
}

fn flag_codes(analysis: &CallAnalysis) -> Vec<&str> {
    analysis.flags.iter().map(|flag| flag.code.as_str()).collect()
}

/// Bot speaks 0–5 s and 8–12 s; the user replies at 13 s. `user_sound` is the user's
/// speech on the recording during the first bot turn.
fn synthetic(user_sound: (i64, i64), transcript: bool) -> CallAnalysis {
    let mut utterances = vec![
        utterance(0, Speaker::Bot, 0, 5_000, "hello there how can I help"),
        utterance(1, Speaker::Bot, 8_000, 12_000, "are you still there"),
        utterance(2, Speaker::User, 13_000, 14_000, "yes"),
    ];
    if transcript {
        utterances.push(utterance(3, Speaker::User, user_sound.0, user_sound.1, "yeah"));
    }
    let activity = [
        channel(0, &[user_sound, (13_000, 14_000)]),
        channel(1, &[(0, 5_000), (8_000, 12_000)]),
    ];
    analyze(&utterances, &activity, SEPARATE, &AnalysisSettings::default()).expect("analysis")
}

#[test]
fn short_transcribed_sound_is_backchannel() {
    let analysis = synthetic((2_000, 2_400), true);
    assert_eq!(audio_overlap_kinds(&analysis), [OverlapKind::Backchannel]);
}

#[test]
fn short_untranscribed_sound_is_false_interruption() {
    let analysis = synthetic((2_000, 2_300), false);
    assert_eq!(
        audio_overlap_kinds(&analysis),
        [OverlapKind::FalseInterruption]
    );
    assert!(flag_codes(&analysis).contains(&"false-interruption"));
}

#[test]
fn user_speech_past_bot_end_is_barge_in() {
    let analysis = synthetic((4_200, 6_500), true);
    assert_eq!(audio_overlap_kinds(&analysis), [OverlapKind::BargeIn]);
}

#[test]
fn long_user_speech_inside_bot_turn_is_talk_over() {
    let analysis = synthetic((1_000, 3_500), true);
    assert_eq!(audio_overlap_kinds(&analysis), [OverlapKind::TalkOver]);
}

#[test]
fn bot_starting_over_user_is_talk_over() {
    let utterances = [
        utterance(0, Speaker::User, 0, 3_000, "I would like to ask"),
        utterance(1, Speaker::Bot, 2_500, 5_000, "sure"),
    ];
    let activity = [channel(0, &[(0, 3_000)]), channel(1, &[(2_500, 5_000)])];
    let analysis = analyze(&utterances, &activity, SEPARATE, &AnalysisSettings::default())
        .expect("analysis");
    assert_eq!(audio_overlap_kinds(&analysis), [OverlapKind::TalkOver]);
}

#[test]
fn silence_of_everyone_is_dead_air() {
    let analysis = synthetic((2_000, 2_400), true);
    let audio: Vec<(i64, i64)> = analysis
        .dead_air
        .iter()
        .filter(|found| found.source == MeasureSource::Audio)
        .map(|found| (found.start_ms, found.end_ms))
        .collect();
    assert_eq!(audio, [(5_000, 8_000)]);
    assert!(flag_codes(&analysis).contains(&"dead-air"));
}

#[test]
fn talk_time_and_words_per_minute() {
    let analysis = synthetic((2_000, 2_400), true);
    let bot = analysis
        .talk
        .iter()
        .find(|talk| talk.speaker == Speaker::Bot && talk.source == MeasureSource::Events)
        .expect("bot talk time");
    assert_eq!(bot.speech_ms, 9_000);
    assert_eq!(bot.words, 10);
    assert_eq!(bot.words_per_minute.map(f64::round), Some(67.0));
}

#[test]
fn assembled_call_has_one_barge_in() {
    let summary = decode("calls/assembled-mulaw/recording.wav");
    let utterances = utterances("calls/assembled-mulaw/report.json");
    let analysis = analyze(
        &utterances,
        &summary.activity,
        SEPARATE,
        &AnalysisSettings::default(),
    )
    .expect("analysis");
    assert_eq!(audio_overlap_kinds(&analysis), [OverlapKind::BargeIn]);
    let event_kinds: Vec<OverlapKind> = analysis
        .overlaps
        .iter()
        .filter(|overlap| overlap.source == MeasureSource::Events)
        .map(|overlap| overlap.kind)
        .collect();
    assert_eq!(event_kinds, [OverlapKind::BargeIn]);
}

#[test]
fn assembled_call_is_aligned() {
    let summary = decode("calls/assembled-mulaw/recording.wav");
    let utterances = utterances("calls/assembled-mulaw/report.json");
    let analysis = analyze(
        &utterances,
        &summary.activity,
        SEPARATE,
        &AnalysisSettings::default(),
    )
    .expect("analysis");
    let alignment = analysis.alignment.clone().expect("alignment");
    assert!(alignment.offset_ms.abs() <= 30, "{alignment:?}");
    // Every one of the report's 11 user and bot utterances starts at a clip onset.
    assert_eq!(alignment.matched, 11, "{alignment:?}");
    assert!(!flag_codes(&analysis).contains(&"clock-offset"));
    assert!(!flag_codes(&analysis).contains(&"speech-on-silent-channel"));
}

#[test]
fn shifted_events_give_offset_and_flag() {
    let summary = decode("calls/assembled-mulaw/recording.wav");
    let mut utterances = utterances("calls/assembled-mulaw/report.json");
    for utterance in &mut utterances {
        utterance.start_ms += 400;
        utterance.end_ms += 400;
    }
    let analysis = analyze(
        &utterances,
        &summary.activity,
        SEPARATE,
        &AnalysisSettings::default(),
    )
    .expect("analysis");
    let alignment = analysis.alignment.clone().expect("alignment");
    assert!((alignment.offset_ms - 400).abs() <= 30, "{alignment:?}");
    assert!(alignment.drift_ms_per_minute.abs() < 1.0, "{alignment:?}");
    assert!(flag_codes(&analysis).contains(&"clock-offset"));
    // The offset is corrected before classifying, so the barge-in keeps its transcript.
    assert_eq!(audio_overlap_kinds(&analysis), [OverlapKind::BargeIn]);
}

#[test]
fn silent_user_channel_flags_utterances() {
    let summary = decode("calls/assembled-mulaw/recording.wav");
    let utterances = utterances("calls/assembled-mulaw/report.json");
    // Only the bot's channel: every user utterance falls on a channel without speech.
    let bot_only: Vec<ChannelActivity> = summary
        .activity
        .iter()
        .map(|activity| ChannelActivity {
            channel: activity.channel,
            speech: if activity.channel == 0 {
                Vec::new()
            } else {
                activity.speech.clone()
            },
        })
        .collect();
    let analysis = analyze(&utterances, &bot_only, SEPARATE, &AnalysisSettings::default())
        .expect("analysis");
    let silent = flag_codes(&analysis)
        .iter()
        .filter(|code| **code == "speech-on-silent-channel")
        .count();
    let user_utterances = utterances
        .iter()
        .filter(|utterance| utterance.speaker == Speaker::User)
        .count();
    assert_eq!(silent, user_utterances);
}

#[test]
fn sales_call_transcript_aligns_with_mono_audio() {
    let summary = decode("audio/azure-speech-sdk__fast-transcription__test_call_audio.wav");
    let utterances = utterances("calls/sales-call/report.json");
    let analysis = analyze(
        &utterances,
        &summary.activity,
        ChannelLayout::Mixed,
        &AnalysisSettings::default(),
    )
    .expect("analysis");
    let alignment = analysis.alignment.clone().expect("alignment");
    assert!(alignment.offset_ms.abs() <= 100, "{alignment:?}");
    assert!(alignment.matched >= 10, "{alignment:?}");
}

#[test]
fn mono_speech_is_attributed_through_transcript() {
    // One channel: the user speaks 1.0–3.05 s, the bot 3.7–6.0 s; the transcript
    // rounds the user's end down to 3.0 s.
    let utterances = [
        utterance(0, Speaker::User, 1_000, 3_000, "where is my order"),
        utterance(1, Speaker::Bot, 3_700, 6_000, "let me check"),
    ];
    let activity = [channel(0, &[(1_000, 3_050), (3_700, 6_000)])];
    let analysis = analyze(
        &utterances,
        &activity,
        ChannelLayout::Mixed,
        &AnalysisSettings::default(),
    )
    .expect("analysis");
    let audio: Vec<i64> = analysis
        .latencies
        .iter()
        .filter(|latency| latency.source == MeasureSource::Audio)
        .map(|latency| latency.latency_ms)
        .collect();
    assert_eq!(audio, [650]);
    let user = analysis
        .talk
        .iter()
        .find(|talk| talk.speaker == Speaker::User && talk.source == MeasureSource::Audio)
        .expect("user talk time");
    assert_eq!(user.speech_ms, 2_050);
}
