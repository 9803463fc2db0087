//! Analysis inputs that are wrong or incomplete: settings, layouts that do not fit
//! the recording, and utterances with impossible times.

use callscope_api_types::{
    AnalysisSettings, ChannelActivity, ChannelLayout, MeasureSource, Segment, Speaker,
    TimingQuality, Utterance,
};
use callscope_component::analysis::{AnalysisError, analyze};

fn utterance(index: u32, speaker: Speaker, start_ms: i64, end_ms: i64) -> Utterance {
    Utterance {
        index,
        speaker,
        text: String::new(),
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

#[test]
fn negative_threshold_is_invalid_settings() {
    let settings = AnalysisSettings {
        min_pause_ms: -1,
        ..AnalysisSettings::default()
    };
    let result = analyze(&[], &[], ChannelLayout::Mixed, &settings);
    assert!(
        matches!(result, Err(AnalysisError::InvalidSettings(_))),
        "{result:?}"
    );
}

#[test]
fn same_channel_for_both_is_invalid_layout() {
    let layout = ChannelLayout::Separate {
        user_channel: 1,
        bot_channel: 1,
    };
    let result = analyze(
        &[],
        &[channel(1, &[])],
        layout,
        &AnalysisSettings::default(),
    );
    assert!(
        matches!(result, Err(AnalysisError::InvalidLayout(_))),
        "{result:?}"
    );
}

#[test]
fn missing_channel_is_invalid_layout() {
    let layout = ChannelLayout::Separate {
        user_channel: 0,
        bot_channel: 3,
    };
    let result = analyze(
        &[],
        &[channel(0, &[]), channel(1, &[])],
        layout,
        &AnalysisSettings::default(),
    );
    let Err(AnalysisError::InvalidLayout(message)) = result else {
        panic!("expected InvalidLayout, got {result:?}")
    };
    assert!(message.contains("channel 3"), "{message}");
}

#[test]
fn separate_layout_without_recording_uses_events() {
    let utterances = [
        utterance(0, Speaker::User, 0, 1_000),
        utterance(1, Speaker::Bot, 1_600, 2_000),
    ];
    let layout = ChannelLayout::Separate {
        user_channel: 0,
        bot_channel: 1,
    };
    let analysis =
        analyze(&utterances, &[], layout, &AnalysisSettings::default()).expect("analysis succeeds");
    assert_eq!(analysis.latencies.len(), 1);
    assert_eq!(analysis.latencies[0].latency_ms, 600);
}

#[test]
fn utterance_ending_before_start_is_left_out() {
    let utterances = [
        utterance(0, Speaker::User, 0, 1_000),
        utterance(1, Speaker::Bot, 3_000, 2_000),
    ];
    let analysis = analyze(
        &utterances,
        &[],
        ChannelLayout::Mixed,
        &AnalysisSettings::default(),
    )
    .expect("analysis succeeds");
    assert_eq!(analysis.turns.len(), 1);
    assert_eq!(analysis.findings.len(), 1);
    assert_eq!(analysis.findings[0].code, "end-before-start");
    assert_eq!(analysis.findings[0].path, "/utterances/1");
}

#[test]
fn system_and_tool_utterances_make_no_turns() {
    let utterances = [
        utterance(0, Speaker::System, 0, 0),
        utterance(1, Speaker::Tool, 500, 500),
    ];
    let analysis = analyze(
        &utterances,
        &[],
        ChannelLayout::Mixed,
        &AnalysisSettings::default(),
    )
    .expect("analysis succeeds");
    assert!(analysis.turns.is_empty());
    assert!(analysis.pauses.is_empty());
}

#[test]
fn audio_turns_without_utterances() {
    let activity = [channel(0, &[(0, 1_000)]), channel(1, &[(1_700, 3_000)])];
    let layout = ChannelLayout::Separate {
        user_channel: 0,
        bot_channel: 1,
    };
    let analysis =
        analyze(&[], &activity, layout, &AnalysisSettings::default()).expect("analysis succeeds");

    let turns: Vec<(Speaker, MeasureSource)> = analysis
        .turns
        .iter()
        .map(|turn| (turn.speaker, turn.source))
        .collect();
    assert_eq!(
        turns,
        [
            (Speaker::User, MeasureSource::Audio),
            (Speaker::Bot, MeasureSource::Audio)
        ]
    );
    assert_eq!(analysis.latencies.len(), 1);
    assert_eq!(analysis.latencies[0].latency_ms, 700);
    assert_eq!(analysis.latencies[0].turn_index, 1);
}

#[test]
fn event_audio_latency_difference_is_flagged() {
    let utterances = [
        utterance(0, Speaker::User, 0, 1_000),
        utterance(1, Speaker::Bot, 1_500, 3_000),
    ];
    let activity = [channel(0, &[(0, 1_000)]), channel(1, &[(1_900, 3_000)])];
    let layout = ChannelLayout::Separate {
        user_channel: 0,
        bot_channel: 1,
    };
    let analysis = analyze(&utterances, &activity, layout, &AnalysisSettings::default())
        .expect("analysis succeeds");

    let mismatches: Vec<_> = analysis
        .findings
        .iter()
        .filter(|finding| finding.code == "latency-mismatch")
        .collect();
    assert_eq!(mismatches.len(), 1, "{:?}", analysis.findings);
    assert_eq!(mismatches[0].path, "/utterances/1");
}

#[test]
fn audio_bot_speech_without_utterance_is_flagged() {
    let utterances = [
        utterance(0, Speaker::User, 0, 1_000),
        utterance(1, Speaker::Bot, 1_500, 3_000),
    ];
    let activity = [
        channel(0, &[(0, 1_000), (4_000, 5_000)]),
        channel(1, &[(1_500, 3_000), (6_000, 7_000)]),
    ];
    let layout = ChannelLayout::Separate {
        user_channel: 0,
        bot_channel: 1,
    };
    let analysis = analyze(&utterances, &activity, layout, &AnalysisSettings::default())
        .expect("analysis succeeds");

    let codes: Vec<&str> = analysis
        .findings
        .iter()
        .map(|finding| finding.code.as_str())
        .collect();
    assert_eq!(codes, ["audio-turn-unmatched"]);
}
