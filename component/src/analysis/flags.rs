//! Rule-based flags with thresholds from [`AnalysisSettings`].
//!
//! | code | raised when |
//! |---|---|
//! | `clock-offset` | a matched utterance start differs from its speech onset by more than `max_clock_difference_ms` |
//! | `speech-on-silent-channel` | an utterance covers no speech on its channel (on any channel of a mixed recording) |
//! | `slow-response` | a response latency exceeds `slow_response_ms` |
//! | `dead-air` | every party is silent for at least `dead_air_min_ms` |
//! | `false-interruption` | a short user sound with no transcript overlaps bot speech |
//!
//! Latencies and dead air are taken from the recording when it gives any, else from
//! the events, so that one moment is not flagged twice.

use callscope_api_types::{
    Alignment, AnalysisSettings, ChannelActivity, ChannelLayout, DeadAir, Flag, MeasureSource,
    Overlap, OverlapKind, ResponseLatency, Speaker,
};

use super::Speech;
use super::alignment::to_recording_ms;

/// Shortest utterance checked against a silent channel: shorter ones may be a
/// transcript's guess at a sound the detector dropped as a click.
const MIN_CHECKED_UTTERANCE_MS: i64 = 300;

pub(crate) struct FlagInputs<'a> {
    pub settings: &'a AnalysisSettings,
    pub layout: ChannelLayout,
    pub activity: &'a [ChannelActivity],
    pub event_speech: &'a [Speech],
    pub alignment: Option<&'a Alignment>,
    pub latencies: &'a [ResponseLatency],
    pub dead_air: &'a [DeadAir],
    pub overlaps: &'a [Overlap],
}

pub(crate) fn raise(inputs: &FlagInputs<'_>) -> Vec<Flag> {
    let mut flags = Vec::new();
    let settings = inputs.settings;

    if let Some(alignment) = inputs.alignment
        && alignment.max_difference_ms > settings.max_clock_difference_ms
    {
        flags.push(Flag {
            code: "clock-offset".to_string(),
            message: format!(
                "utterance times differ from the recording by up to {} ms (offset {} ms, drift \
                 {:.1} ms per minute, {} utterance starts matched); more than {} ms, so event \
                 latencies and positions on the waveform are off by that much",
                alignment.max_difference_ms,
                alignment.offset_ms,
                alignment.drift_ms_per_minute,
                alignment.matched,
                settings.max_clock_difference_ms
            ),
            at_ms: None,
        });
    }

    silent_channels(inputs, &mut flags);

    let latency_source = preferred_source(inputs.latencies.iter().map(|latency| latency.source));
    for latency in inputs.latencies {
        if latency.source == latency_source && latency.latency_ms > settings.slow_response_ms {
            flags.push(Flag {
                code: "slow-response".to_string(),
                message: format!(
                    "turn {}: the bot answered {} ms after the user stopped ({}), more than {} ms",
                    latency.turn_index,
                    latency.latency_ms,
                    source_name(latency.source),
                    settings.slow_response_ms
                ),
                at_ms: Some(latency.user_end_ms),
            });
        }
    }

    let dead_air_source = preferred_source(inputs.dead_air.iter().map(|found| found.source));
    for found in inputs.dead_air {
        if found.source == dead_air_source {
            flags.push(Flag {
                code: "dead-air".to_string(),
                message: format!(
                    "nobody speaks for {} ms ({}), at least {} ms",
                    found.duration_ms,
                    source_name(found.source),
                    settings.dead_air_min_ms
                ),
                at_ms: Some(found.start_ms),
            });
        }
    }

    for overlap in inputs.overlaps {
        if overlap.kind == OverlapKind::FalseInterruption {
            flags.push(Flag {
                code: "false-interruption".to_string(),
                message: format!(
                    "a {} ms user sound without transcript overlaps bot speech; the bot may have \
                     taken noise for an interruption",
                    overlap.duration_ms
                ),
                at_ms: Some(overlap.start_ms),
            });
        }
    }
    flags
}

/// Flags every user or bot utterance of at least [`MIN_CHECKED_UTTERANCE_MS`] that
/// covers no speech on the recording.
fn silent_channels(inputs: &FlagInputs<'_>, flags: &mut Vec<Flag>) {
    if inputs.activity.is_empty() {
        return;
    }
    let channel_of = |speaker: Speaker| match inputs.layout {
        ChannelLayout::Separate {
            user_channel,
            bot_channel,
        } => Some(if speaker == Speaker::User {
            user_channel
        } else {
            bot_channel
        }),
        ChannelLayout::Mixed => None,
    };
    let mut speech_by_channel: Vec<(u16, Vec<(i64, i64)>)> = inputs
        .activity
        .iter()
        .map(|channel| {
            let mut spans: Vec<(i64, i64)> = channel
                .speech
                .iter()
                .map(|segment| (segment.start_ms, segment.end_ms))
                .collect();
            spans.sort_unstable();
            (channel.channel, spans)
        })
        .collect();
    speech_by_channel.sort_unstable_by_key(|(channel, _)| *channel);

    for piece in inputs.event_speech {
        if piece.end_ms - piece.start_ms < MIN_CHECKED_UTTERANCE_MS {
            continue;
        }
        let start = to_recording_ms(inputs.alignment, piece.start_ms);
        let end = to_recording_ms(inputs.alignment, piece.end_ms);
        let wanted = channel_of(piece.speaker);
        let heard = speech_by_channel
            .iter()
            .filter(|(channel, _)| wanted.is_none_or(|wanted| wanted == *channel))
            .any(|(_, spans)| overlaps_any(spans, start, end));
        if heard {
            continue;
        }

        let channel = match wanted {
            Some(channel) => format!("channel {channel}"),
            None => "the recording".to_string(),
        };
        flags.push(Flag {
            code: "speech-on-silent-channel".to_string(),
            message: format!(
                "utterance {} ({}, {start}–{end} ms on the recording) falls where {channel} has \
                 no speech; check the channel layout and the transcript times",
                piece.utterance.map_or_else(|| "?".to_string(), |index| index.to_string()),
                piece.speaker.as_str()
            ),
            at_ms: Some(start),
        });
    }
}

/// Returns whether a span of `sorted` (disjoint, by start) overlaps `[start, end)`.
fn overlaps_any(sorted: &[(i64, i64)], start: i64, end: i64) -> bool {
    let at = sorted.partition_point(|&(_, span_end)| span_end <= start);
    sorted.get(at).is_some_and(|&(span_start, _)| span_start < end)
}

fn preferred_source(sources: impl Iterator<Item = MeasureSource>) -> MeasureSource {
    let mut found = MeasureSource::Events;
    for source in sources {
        if source == MeasureSource::Audio {
            return source;
        }
        found = source;
    }
    found
}

fn source_name(source: MeasureSource) -> &'static str {
    match source {
        MeasureSource::Events => "from the events",
        MeasureSource::Audio => "measured on the recording",
    }
}
