//! Overlap classification: barge-in, talk-over, backchannel or false interruption.

use callscope_api_types::{OverlapKind, Speaker};

/// How far around a user sound on the recording a user utterance may lie and still
/// count as its transcript. Covers the onset and end errors of speech detection and
/// of the vendor's speech-to-text times.
pub(crate) const TRANSCRIPT_REACH_MS: i64 = 250;

/// The two parties' speech around one overlap, each joined across short silences.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverlapContext {
    pub user: (i64, i64),
    pub bot: (i64, i64),
    pub interrupter: Speaker,
}

/// Classifies an overlap.
///
/// `user_transcript` lists the user utterances in recording time, sorted by start;
/// `None` means the overlap comes from the transcript itself, or the call has no user
/// utterance at all, so a missing transcript proves nothing. The rules, in order:
///
/// 1. The bot started during user speech: talk-over.
/// 2. The user's speech is at most `backchannel_max_ms` and no user utterance covers
///    it: false interruption.
/// 3. The user's speech is short and the bot went on past it: backchannel.
/// 4. The bot stopped no later than the user: barge-in.
/// 5. Otherwise both kept talking: talk-over.
pub(crate) fn classify(
    context: OverlapContext,
    backchannel_max_ms: i64,
    user_transcript: Option<&[(i64, i64)]>,
) -> OverlapKind {
    if context.interrupter == Speaker::Bot {
        return OverlapKind::TalkOver;
    }

    let (user_start, user_end) = context.user;
    let short = user_end - user_start <= backchannel_max_ms;
    let transcribed = user_transcript.is_none_or(|spans| covers(spans, context.user));
    if short && !transcribed {
        return OverlapKind::FalseInterruption;
    }

    let bot_went_on = context.bot.1 > user_end;
    match (short, bot_went_on) {
        (true, true) => OverlapKind::Backchannel,
        (_, false) => OverlapKind::BargeIn,
        (false, true) => OverlapKind::TalkOver,
    }
}

/// Returns whether a span in `spans` (sorted by start) overlaps `stretch` widened by
/// [`TRANSCRIPT_REACH_MS`] on each side.
fn covers(spans: &[(i64, i64)], stretch: (i64, i64)) -> bool {
    let from = stretch.0 - TRANSCRIPT_REACH_MS;
    let to = stretch.1 + TRANSCRIPT_REACH_MS;
    // Spans starting after `to` cannot overlap; of the rest, a long early span may.
    let candidates = spans.partition_point(|&(start, _)| start <= to);
    spans[..candidates].iter().any(|&(_, end)| end >= from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: i64 = 1_000;

    fn user_interrupts(user: (i64, i64), bot: (i64, i64)) -> OverlapContext {
        OverlapContext {
            user,
            bot,
            interrupter: Speaker::User,
        }
    }

    #[test]
    fn bot_starting_over_user_is_talk_over() {
        let context = OverlapContext {
            user: (0, 3_000),
            bot: (2_500, 6_000),
            interrupter: Speaker::Bot,
        };
        assert_eq!(classify(context, MAX, None), OverlapKind::TalkOver);
    }

    #[test]
    fn short_transcribed_user_speech_is_backchannel() {
        let context = user_interrupts((2_000, 2_400), (0, 5_000));
        let transcript = [(1_950, 2_350)];
        assert_eq!(
            classify(context, MAX, Some(&transcript)),
            OverlapKind::Backchannel
        );
    }

    #[test]
    fn short_untranscribed_burst_is_false_interruption() {
        let context = user_interrupts((2_000, 2_300), (0, 5_000));
        let transcript = [(8_000, 9_000)];
        assert_eq!(
            classify(context, MAX, Some(&transcript)),
            OverlapKind::FalseInterruption
        );
    }

    #[test]
    fn burst_stopping_bot_without_transcript_is_false_interruption() {
        let context = user_interrupts((4_800, 5_100), (0, 5_000));
        assert_eq!(
            classify(context, MAX, Some(&[])),
            OverlapKind::FalseInterruption
        );
    }

    #[test]
    fn user_speech_that_stops_bot_is_barge_in() {
        let context = user_interrupts((4_300, 7_000), (0, 5_000));
        assert_eq!(classify(context, MAX, None), OverlapKind::BargeIn);
    }

    #[test]
    fn long_user_speech_bot_goes_on_is_talk_over() {
        let context = user_interrupts((1_000, 3_000), (0, 5_000));
        assert_eq!(classify(context, MAX, None), OverlapKind::TalkOver);
    }

    #[test]
    fn transcript_within_reach_counts() {
        assert!(covers(&[(0, 1_000), (2_600, 3_000)], (2_400, 2_500)));
        assert!(!covers(&[(0, 1_000), (2_800, 3_000)], (2_400, 2_500)));
    }
}
