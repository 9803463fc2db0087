//! Overlaps: user and bot speaking at once.

use callscope_api_types::{AnalysisSettings, MeasureSource, Overlap, Speaker};

use super::Speech;
use super::overlap_kind::{self, OverlapContext};

/// Finds stretches where both parties speak for at least `min_overlap_ms`.
///
/// Each party's speech is first joined across silences shorter than
/// `min_pause_ms`, because such a gap is not a pause. Without this, a breath in the
/// middle of the bot's sentence would make the bot look like the one who started
/// second. The interrupter is the party whose joined speech started later; when
/// both start at the same millisecond the user is named. `user_transcript` is passed
/// to [`overlap_kind::classify`].
pub(crate) fn find(
    speech: &[Speech],
    settings: &AnalysisSettings,
    source: MeasureSource,
    user_transcript: Option<&[(i64, i64)]>,
) -> Vec<Overlap> {
    let user = joined(speech, Speaker::User, settings.min_pause_ms);
    let bot = joined(speech, Speaker::Bot, settings.min_pause_ms);

    let mut overlaps = Vec::new();
    let (mut user_at, mut bot_at) = (0, 0);
    while let (Some(&(user_start, user_end)), Some(&(bot_start, bot_end))) =
        (user.get(user_at), bot.get(bot_at))
    {
        let start_ms = user_start.max(bot_start);
        let end_ms = user_end.min(bot_end);
        if end_ms - start_ms >= settings.min_overlap_ms && end_ms > start_ms {
            let interrupter = if bot_start > user_start {
                Speaker::Bot
            } else {
                Speaker::User
            };
            let context = OverlapContext {
                user: (user_start, user_end),
                bot: (bot_start, bot_end),
                interrupter,
            };
            overlaps.push(Overlap {
                start_ms,
                end_ms,
                duration_ms: end_ms - start_ms,
                interrupter,
                kind: overlap_kind::classify(context, settings.backchannel_max_ms, user_transcript),
                source,
            });
        }
        if user_end < bot_end {
            user_at += 1;
        } else {
            bot_at += 1;
        }
    }
    overlaps
}

/// Returns one speaker's speech as sorted, disjoint stretches, joining stretches
/// separated by less than `bridge_ms`.
pub(crate) fn joined(speech: &[Speech], speaker: Speaker, bridge_ms: i64) -> Vec<(i64, i64)> {
    let mut pieces: Vec<(i64, i64)> = speech
        .iter()
        .filter(|piece| piece.speaker == speaker)
        .map(|piece| (piece.start_ms, piece.end_ms))
        .collect();
    pieces.sort_unstable();

    let mut stretches: Vec<(i64, i64)> = Vec::with_capacity(pieces.len());
    for (start, end) in pieces {
        match stretches.last_mut() {
            Some(last) if start - last.1 < bridge_ms => last.1 = last.1.max(end),
            _ => stretches.push((start, end)),
        }
    }
    stretches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speech(speaker: Speaker, start_ms: i64, end_ms: i64) -> Speech {
        Speech::audio(speaker, start_ms, end_ms)
    }

    #[test]
    fn user_barges_in() {
        let pieces = [
            speech(Speaker::Bot, 0, 4_000),
            speech(Speaker::User, 3_300, 5_000),
        ];
        let overlaps = find(&pieces, &AnalysisSettings::default(), MeasureSource::Audio, None);
        assert_eq!(overlaps.len(), 1);
        assert_eq!(
            (overlaps[0].interrupter, overlaps[0].duration_ms),
            (Speaker::User, 700)
        );
    }

    #[test]
    fn breath_in_bot_speech_keeps_user_as_interrupter() {
        let pieces = [
            speech(Speaker::Bot, 0, 3_400),
            speech(Speaker::Bot, 3_500, 4_000),
            speech(Speaker::User, 3_300, 5_000),
        ];
        let overlaps = find(&pieces, &AnalysisSettings::default(), MeasureSource::Audio, None);
        assert_eq!(overlaps.len(), 1);
        assert_eq!(overlaps[0].interrupter, Speaker::User);
    }

    #[test]
    fn short_overlap_is_ignored() {
        let pieces = [
            speech(Speaker::Bot, 0, 4_000),
            speech(Speaker::User, 3_900, 5_000),
        ];
        assert!(find(&pieces, &AnalysisSettings::default(), MeasureSource::Audio, None).is_empty());
    }
}
