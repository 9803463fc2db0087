//! Attribution of a mixed (mono) recording's speech to parties through the
//! transcript.
//!
//! The audio of a mixed recording shows when someone speaks but not who. Each speech
//! segment is split by the utterances it overlaps, mapped to recording time through
//! the alignment. The edges of the audio are kept where no utterance competes for
//! them, so latencies measured on the result come from the recording, not from the
//! vendor's clock, wherever the recording has silence between the two speakers.

use callscope_api_types::{Alignment, ChannelActivity, Speaker};

use super::Speech;
use super::alignment::to_recording_ms;

/// How far speech on the recording may reach beyond the nearest utterance and still
/// be attributed to its speaker. Speech further from every utterance has no
/// transcript and is left out.
const ATTRIBUTION_REACH_MS: i64 = 500;

/// Returns the speech of all channels of a mixed recording, attributed to the
/// speakers of `event_speech`.
pub(crate) fn mixed_speech(
    activity: &[ChannelActivity],
    event_speech: &[Speech],
    alignment: Option<&Alignment>,
) -> Vec<Speech> {
    let mut spans: Vec<(i64, i64, Speaker)> = event_speech
        .iter()
        .map(|piece| {
            (
                to_recording_ms(alignment, piece.start_ms),
                to_recording_ms(alignment, piece.end_ms),
                piece.speaker,
            )
        })
        .collect();
    spans.sort_unstable_by_key(|&(start, end, _)| (start, end));

    let mut segments: Vec<(i64, i64)> = activity
        .iter()
        .flat_map(|channel| channel.speech.iter())
        .filter(|segment| segment.end_ms > segment.start_ms)
        .map(|segment| (segment.start_ms, segment.end_ms))
        .collect();
    segments.sort_unstable();

    let mut attributed = Vec::new();
    let mut lower = 0;
    for (start, end) in union(&segments) {
        // Spans ending before this segment's reach cannot matter for it or for any
        // later segment.
        while lower < spans.len() && spans[lower].1 < start - ATTRIBUTION_REACH_MS {
            lower += 1;
        }
        let upper = spans.partition_point(|&(span_start, _, _)| span_start <= end + ATTRIBUTION_REACH_MS);
        let nearby = spans.get(lower..upper).unwrap_or_default();
        split_segment(start, end, nearby, &mut attributed);
    }
    attributed
}

/// Splits one segment among the utterance spans near it (sorted by start).
fn split_segment(start: i64, end: i64, nearby: &[(i64, i64, Speaker)], out: &mut Vec<Speech>) {
    let mut pieces: Vec<(i64, i64, Speaker)> = nearby
        .iter()
        .filter_map(|&(span_start, span_end, speaker)| {
            let piece = (span_start.max(start), span_end.min(end), speaker);
            (piece.1 > piece.0).then_some(piece)
        })
        .collect();

    if pieces.is_empty() {
        // Near an utterance but overlapping none: give it to the nearest one.
        let distance = |&&(span_start, span_end, _): &&(i64, i64, Speaker)| {
            (span_start - end).max(start - span_end).max(0)
        };
        let Some(&(_, _, speaker)) = nearby
            .iter()
            .filter(|span| distance(span) <= ATTRIBUTION_REACH_MS)
            .min_by_key(distance)
        else {
            return;
        };
        pieces.push((start, end, speaker));
    }

    // Join pieces of one speaker that touch; fill a gap inside the segment between
    // two pieces of one speaker. A gap between two speakers inside one segment keeps
    // the transcript's edges: the detector heard no silence there, so the audio
    // cannot show where one voice ended and the other began.
    let mut merged: Vec<(i64, i64, Speaker)> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match merged.last_mut() {
            Some(last) if last.2 == piece.2 => last.1 = last.1.max(piece.1),
            _ => merged.push(piece),
        }
    }
    if let Some(first) = merged.first_mut() {
        first.0 = start.max(first.0 - ATTRIBUTION_REACH_MS);
    }
    if let Some(last) = merged.last_mut() {
        last.1 = end.min(last.1 + ATTRIBUTION_REACH_MS);
    }

    out.extend(merged.into_iter().map(|(start_ms, end_ms, speaker)| Speech {
        speaker,
        start_ms,
        end_ms,
        utterance: None,
    }));
}

/// Joins sorted segments that overlap or touch.
fn union(sorted: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut joined: Vec<(i64, i64)> = Vec::with_capacity(sorted.len());
    for &(start, end) in sorted {
        match joined.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => joined.push((start, end)),
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_api_types::Segment;

    fn utterance(speaker: Speaker, start_ms: i64, end_ms: i64, index: u32) -> Speech {
        Speech {
            speaker,
            start_ms,
            end_ms,
            utterance: Some(index),
        }
    }

    fn mono(segments: &[(i64, i64)]) -> Vec<ChannelActivity> {
        vec![ChannelActivity {
            channel: 0,
            speech: segments
                .iter()
                .map(|&(start_ms, end_ms)| Segment { start_ms, end_ms })
                .collect(),
        }]
    }

    fn spans(speech: &[Speech]) -> Vec<(Speaker, i64, i64)> {
        speech
            .iter()
            .map(|piece| (piece.speaker, piece.start_ms, piece.end_ms))
            .collect()
    }

    #[test]
    fn audio_edges_are_kept() {
        let events = [
            utterance(Speaker::User, 1_000, 3_000, 0),
            utterance(Speaker::Bot, 3_700, 6_000, 1),
        ];
        let activity = mono(&[(1_040, 3_080), (3_720, 6_050)]);
        let speech = mixed_speech(&activity, &events, None);
        assert_eq!(
            spans(&speech),
            [(Speaker::User, 1_040, 3_080), (Speaker::Bot, 3_720, 6_050)]
        );
    }

    #[test]
    fn one_segment_is_split_between_speakers() {
        let events = [
            utterance(Speaker::User, 1_000, 3_000, 0),
            utterance(Speaker::Bot, 3_100, 6_000, 1),
        ];
        let activity = mono(&[(1_000, 6_000)]);
        let speech = mixed_speech(&activity, &events, None);
        assert_eq!(
            spans(&speech),
            [(Speaker::User, 1_000, 3_000), (Speaker::Bot, 3_100, 6_000)]
        );
    }

    #[test]
    fn speech_far_from_transcript_is_left_out() {
        let events = [utterance(Speaker::Bot, 1_000, 2_000, 0)];
        let activity = mono(&[(1_000, 2_000), (9_000, 9_500)]);
        let speech = mixed_speech(&activity, &events, None);
        assert_eq!(spans(&speech), [(Speaker::Bot, 1_000, 2_000)]);
    }

    #[test]
    fn offset_moves_utterances_onto_recording() {
        let events = [
            utterance(Speaker::User, 1_400, 3_400, 0),
            utterance(Speaker::Bot, 4_100, 6_400, 1),
        ];
        let alignment = Alignment {
            offset_ms: 400,
            drift_ms_per_minute: 0.0,
            max_difference_ms: 400,
            matched: 2,
        };
        let activity = mono(&[(1_000, 3_000), (3_700, 6_000)]);
        let speech = mixed_speech(&activity, &events, Some(&alignment));
        assert_eq!(
            spans(&speech),
            [(Speaker::User, 1_000, 3_000), (Speaker::Bot, 3_700, 6_000)]
        );
    }
}
