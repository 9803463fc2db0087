//! Turns, response latencies, pauses, overlaps, dead air, talk time, clock
//! alignment and flags of a call.
//!
//! Two sources feed the analysis. Events are the utterance times the vendor
//! reported. Audio is the speech the audio module found on each channel of the
//! recording. Every measured value records its [`MeasureSource`], and both are kept
//! when both exist so that a reviewer can see where the vendor's clock and the
//! recording disagree.
//!
//! With a [`ChannelLayout::Separate`] recording each channel carries one party, so
//! latencies, pauses and overlaps are measured from it directly. With
//! [`ChannelLayout::Mixed`] the audio cannot tell the parties apart: its speech is
//! attributed to parties through the utterance times (shifted by the fitted clock
//! offset), which gives latencies measured on the recording, and its silences refine
//! pauses inside the spans the utterances give. Overlaps come from the utterances
//! alone, because one channel cannot show two voices at once.

use callscope_api_types::{
    Alignment, AnalysisSettings, CallAnalysis, ChannelActivity, ChannelLayout, Finding,
    MeasureSource, Speaker, Utterance,
};

mod alignment;
mod attribution;
mod dead_air;
mod flags;
mod latency;
mod overlap_kind;
mod overlaps;
mod pauses;
mod talk;
mod turns;

/// Error returned when a call cannot be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// A threshold is negative.
    #[error("invalid analysis settings: {0}")]
    InvalidSettings(String),
    /// The channel layout does not fit the recording.
    #[error("invalid channel layout: {0}")]
    InvalidLayout(String),
}

/// One stretch of speech by a known speaker, from an utterance or from a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Speech {
    pub speaker: Speaker,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The utterance this speech comes from; `None` for audio.
    pub utterance: Option<u32>,
}

#[cfg(test)]
impl Speech {
    /// Returns speech detected on the audio, tied to no utterance.
    pub(crate) fn audio(speaker: Speaker, start_ms: i64, end_ms: i64) -> Self {
        Self { speaker, start_ms, end_ms, utterance: None }
    }
}

/// Largest difference between the event and audio latency of one turn that is not
/// reported. 150 ms is about where a listener starts to hear a delay change.
pub const LATENCY_MISMATCH_MS: i64 = 150;

/// Derives turns, response latencies, pauses, overlaps, dead air, talk time, the
/// event-to-recording alignment and flags from a call's utterances and the speech
/// found on its recording's channels (empty when there is no recording).
///
/// Turns come from the utterances when any user or bot utterance exists, else from
/// the audio of a `Separate` recording. The speech of a `Mixed` recording is
/// attributed to parties through the utterances, shifted by the alignment.
pub fn analyze(
    utterances: &[Utterance],
    activity: &[ChannelActivity],
    layout: ChannelLayout,
    settings: &AnalysisSettings,
) -> Result<CallAnalysis, AnalysisError> {
    check_settings(settings)?;
    let mut findings = Vec::new();

    let event_speech = event_speech(utterances, &mut findings);
    let (audio_speech, alignment) = match layout {
        ChannelLayout::Separate {
            user_channel,
            bot_channel,
        } => {
            let speech = separate_speech(activity, user_channel, bot_channel)?;
            let alignment = fit_separate(&event_speech, &speech);
            (Some(speech), alignment)
        }
        ChannelLayout::Mixed => {
            let alignment = fit_mixed(&event_speech, activity);
            let speech = (!activity.is_empty() && !event_speech.is_empty()).then(|| {
                attribution::mixed_speech(activity, &event_speech, alignment.as_ref())
            });
            (speech, alignment)
        }
    };

    let event_turns = turns::build(
        &event_speech,
        settings.turn_join_gap_ms,
        MeasureSource::Events,
    );
    let audio_turns = audio_speech
        .as_deref()
        .map(|speech| turns::build(speech, settings.turn_join_gap_ms, MeasureSource::Audio))
        .unwrap_or_default();
    let turns = if event_turns.is_empty() {
        audio_turns.clone()
    } else {
        event_turns.clone()
    };

    let (mut latencies, event_latency_findings) = latency::measure(&event_turns, &turns);
    let (audio_latencies, audio_latency_findings) = latency::measure(&audio_turns, &turns);
    findings.extend(event_latency_findings);
    findings.extend(audio_latency_findings);
    findings.extend(latency::mismatches(&latencies, &audio_latencies, &turns));
    latencies.extend(audio_latencies);

    let mut pauses =
        pauses::between_speech(&event_speech, settings.min_pause_ms, MeasureSource::Events);
    let mut overlaps = overlaps::find(&event_speech, settings, MeasureSource::Events, None);
    let mut dead_air = dead_air::find(
        event_speech.iter().map(|piece| (piece.start_ms, piece.end_ms)),
        settings.dead_air_min_ms,
        MeasureSource::Events,
    );
    let mut talk = talk::measure(&event_speech, utterances, MeasureSource::Events);

    match (layout, audio_speech.as_deref()) {
        (ChannelLayout::Separate { .. }, Some(speech)) => {
            pauses.extend(pauses::between_speech(
                speech,
                settings.min_pause_ms,
                MeasureSource::Audio,
            ));
            let transcript = user_transcript(&event_speech, alignment.as_ref());
            overlaps.extend(overlaps::find(
                speech,
                settings,
                MeasureSource::Audio,
                transcript.as_deref(),
            ));
        }
        _ => pauses.extend(pauses::mixed_silences(
            activity,
            &turns,
            settings.min_pause_ms,
        )),
    }
    dead_air.extend(dead_air::find(
        activity
            .iter()
            .flat_map(|channel| channel.speech.iter())
            .map(|segment| (segment.start_ms, segment.end_ms)),
        settings.dead_air_min_ms,
        MeasureSource::Audio,
    ));
    if let Some(speech) = audio_speech.as_deref() {
        talk.extend(talk::measure(speech, utterances, MeasureSource::Audio));
    }

    let flags = flags::raise(&flags::FlagInputs {
        settings,
        layout,
        activity,
        event_speech: &event_speech,
        alignment: alignment.as_ref(),
        latencies: &latencies,
        dead_air: &dead_air,
        overlaps: &overlaps,
    });

    Ok(CallAnalysis {
        turns,
        latencies,
        pauses,
        overlaps,
        dead_air,
        talk,
        alignment,
        flags,
        findings,
    })
}

/// Fits the alignment of a two-channel recording: each utterance start against the
/// speech onsets of its speaker's channel.
fn fit_separate(event_speech: &[Speech], audio_speech: &[Speech]) -> Option<Alignment> {
    let onsets_of = |speaker: Speaker| {
        let mut onsets: Vec<i64> = audio_speech
            .iter()
            .filter(|piece| piece.speaker == speaker)
            .map(|piece| piece.start_ms)
            .collect();
        onsets.sort_unstable();
        onsets
    };
    let user_onsets = onsets_of(Speaker::User);
    let bot_onsets = onsets_of(Speaker::Bot);

    let anchors: Vec<alignment::Anchor<'_>> = event_speech
        .iter()
        .map(|piece| alignment::Anchor {
            event_ms: piece.start_ms,
            onsets: if piece.speaker == Speaker::User {
                &user_onsets
            } else {
                &bot_onsets
            },
        })
        .collect();
    alignment::fit(&anchors)
}

/// Fits the alignment of a mixed recording: each utterance start against the speech
/// onsets of every channel.
fn fit_mixed(event_speech: &[Speech], activity: &[ChannelActivity]) -> Option<Alignment> {
    let mut onsets: Vec<i64> = activity
        .iter()
        .flat_map(|channel| channel.speech.iter())
        .map(|segment| segment.start_ms)
        .collect();
    onsets.sort_unstable();

    let anchors: Vec<alignment::Anchor<'_>> = event_speech
        .iter()
        .map(|piece| alignment::Anchor {
            event_ms: piece.start_ms,
            onsets: &onsets,
        })
        .collect();
    alignment::fit(&anchors)
}

/// Returns the user utterances in recording time, sorted by start, or `None` when
/// the call has none: then a user sound without transcript proves nothing.
fn user_transcript(
    event_speech: &[Speech],
    alignment: Option<&Alignment>,
) -> Option<Vec<(i64, i64)>> {
    let mut spans: Vec<(i64, i64)> = event_speech
        .iter()
        .filter(|piece| piece.speaker == Speaker::User)
        .map(|piece| {
            (
                alignment::to_recording_ms(alignment, piece.start_ms),
                alignment::to_recording_ms(alignment, piece.end_ms),
            )
        })
        .collect();
    spans.sort_unstable();
    (!spans.is_empty()).then_some(spans)
}

fn check_settings(settings: &AnalysisSettings) -> Result<(), AnalysisError> {
    let thresholds = [
        ("min_pause_ms", settings.min_pause_ms),
        ("min_overlap_ms", settings.min_overlap_ms),
        ("turn_join_gap_ms", settings.turn_join_gap_ms),
        ("backchannel_max_ms", settings.backchannel_max_ms),
        ("dead_air_min_ms", settings.dead_air_min_ms),
        ("slow_response_ms", settings.slow_response_ms),
        ("max_clock_difference_ms", settings.max_clock_difference_ms),
    ];
    for (name, value) in thresholds {
        if value < 0 {
            return Err(AnalysisError::InvalidSettings(format!(
                "{name} is {value}; thresholds are milliseconds and must be 0 or more"
            )));
        }
    }
    Ok(())
}

/// Returns the speech of every user and bot utterance. An utterance that ends
/// before it starts is left out with a finding.
fn event_speech(utterances: &[Utterance], findings: &mut Vec<Finding>) -> Vec<Speech> {
    let mut speech = Vec::with_capacity(utterances.len());
    for utterance in utterances
        .iter()
        .filter(|utterance| utterance.speaker.is_audible())
    {
        if utterance.end_ms < utterance.start_ms {
            findings.push(Finding {
                code: "end-before-start".to_string(),
                path: format!("/utterances/{}", utterance.index),
                message: format!(
                    "utterance {} ends at {} ms, before its start at {} ms; left out of the analysis",
                    utterance.index, utterance.end_ms, utterance.start_ms
                ),
            });
            continue;
        }
        speech.push(Speech {
            speaker: utterance.speaker,
            start_ms: utterance.start_ms,
            end_ms: utterance.end_ms,
            utterance: Some(utterance.index),
        });
    }
    speech
}

/// Returns the speech on the user and bot channels of a `Separate` recording.
fn separate_speech(
    activity: &[ChannelActivity],
    user_channel: u16,
    bot_channel: u16,
) -> Result<Vec<Speech>, AnalysisError> {
    if user_channel == bot_channel {
        return Err(AnalysisError::InvalidLayout(format!(
            "user and bot are both on channel {user_channel}; use the mixed layout for a \
             recording with both parties on one channel"
        )));
    }
    // A call without a recording has no activity at all; that is not a layout error.
    if activity.is_empty() {
        return Ok(Vec::new());
    }

    let mut speech = Vec::new();
    for (channel, speaker) in [(user_channel, Speaker::User), (bot_channel, Speaker::Bot)] {
        let Some(found) = activity.iter().find(|found| found.channel == channel) else {
            let available: Vec<u16> = activity.iter().map(|found| found.channel).collect();
            return Err(AnalysisError::InvalidLayout(format!(
                "the {} channel {channel} is not in the recording, which has channels \
                 {available:?}; set the layout to the recording's channels",
                speaker.as_str()
            )));
        };
        speech.extend(
            found
                .speech
                .iter()
                .filter(|segment| segment.end_ms >= segment.start_ms)
                .map(|segment| Speech {
                    speaker,
                    start_ms: segment.start_ms,
                    end_ms: segment.end_ms,
                    utterance: None,
                }),
        );
    }
    Ok(speech)
}
