//! Pauses: silence of at least the configured minimum, inside one speaker's speech
//! or between two speakers.

use callscope_api_types::{ChannelActivity, MeasureSource, Pause, PauseKind, Turn};

use super::Speech;

/// Finds silences where no party speaks, between the first and the last speech.
///
/// A silence is `WithinTurn` when the same speaker talks on both sides of it, which
/// includes a silence long enough to split that speaker's speech into two turns;
/// otherwise it is `BetweenSpeakers`. The pause's speaker is whoever spoke last
/// before it.
pub(crate) fn between_speech(
    speech: &[Speech],
    min_pause_ms: i64,
    source: MeasureSource,
) -> Vec<Pause> {
    let mut ordered: Vec<&Speech> = speech.iter().collect();
    ordered.sort_by_key(|piece| (piece.start_ms, piece.end_ms));

    let mut pauses = Vec::new();
    let Some((first, rest)) = ordered.split_first() else {
        return pauses;
    };
    let mut covered_until = first.end_ms;
    let mut last_speaker = first.speaker;

    for piece in rest {
        let silence = piece.start_ms - covered_until;
        if silence > 0 && silence >= min_pause_ms {
            let kind = if piece.speaker == last_speaker {
                PauseKind::WithinTurn
            } else {
                PauseKind::BetweenSpeakers
            };
            pauses.push(Pause {
                start_ms: covered_until,
                end_ms: piece.start_ms,
                duration_ms: silence,
                kind,
                speaker: last_speaker,
                source,
            });
        }
        if piece.end_ms >= covered_until {
            covered_until = piece.end_ms;
            last_speaker = piece.speaker;
        }
    }
    pauses
}

/// Finds silences in a mixed recording and attributes them through the turns.
///
/// The audio of a mixed recording does not identify who is silent, so a silence counts
/// only where turns surround it: inside one turn, or between two turns. Silence
/// before the first turn or after the last is not a pause.
pub(crate) fn mixed_silences(
    activity: &[ChannelActivity],
    turns: &[Turn],
    min_pause_ms: i64,
) -> Vec<Pause> {
    let mut segments: Vec<(i64, i64)> = activity
        .iter()
        .flat_map(|channel| channel.speech.iter())
        .filter(|segment| segment.end_ms >= segment.start_ms)
        .map(|segment| (segment.start_ms, segment.end_ms))
        .collect();
    segments.sort_unstable();

    let mut pauses = Vec::new();
    let Some((&(_, first_end), rest)) = segments.split_first() else {
        return pauses;
    };
    let mut covered_until = first_end;

    for &(start_ms, end_ms) in rest {
        let silence = start_ms - covered_until;
        if silence > 0
            && silence >= min_pause_ms
            && let Some(pause) = attribute_silence(covered_until, start_ms, turns)
        {
            pauses.push(pause);
        }
        covered_until = covered_until.max(end_ms);
    }
    pauses
}

fn attribute_silence(start_ms: i64, end_ms: i64, turns: &[Turn]) -> Option<Pause> {
    let before = turns
        .iter()
        .filter(|turn| turn.start_ms <= start_ms)
        .max_by_key(|turn| turn.start_ms)?;
    let after = turns
        .iter()
        .filter(|turn| turn.end_ms >= end_ms)
        .min_by_key(|turn| turn.start_ms)?;
    let kind = if before.index == after.index || before.speaker == after.speaker {
        PauseKind::WithinTurn
    } else {
        PauseKind::BetweenSpeakers
    };
    Some(Pause {
        start_ms,
        end_ms,
        duration_ms: end_ms - start_ms,
        kind,
        speaker: before.speaker,
        source: MeasureSource::Audio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_api_types::{Segment, Speaker};

    fn speech(speaker: Speaker, start_ms: i64, end_ms: i64) -> Speech {
        Speech::audio(speaker, start_ms, end_ms)
    }

    #[test]
    fn gap_between_speakers() {
        let pieces = [
            speech(Speaker::User, 0, 1_000),
            speech(Speaker::Bot, 1_800, 2_000),
        ];
        let pauses = between_speech(&pieces, 500, MeasureSource::Events);
        assert_eq!(pauses.len(), 1);
        assert_eq!(
            (pauses[0].kind, pauses[0].duration_ms),
            (PauseKind::BetweenSpeakers, 800)
        );
    }

    #[test]
    fn short_gap_is_not_a_pause() {
        let pieces = [
            speech(Speaker::User, 0, 1_000),
            speech(Speaker::User, 1_499, 2_000),
        ];
        assert!(between_speech(&pieces, 500, MeasureSource::Events).is_empty());
    }

    #[test]
    fn overlapping_speech_hides_gap() {
        let pieces = [
            speech(Speaker::Bot, 0, 5_000),
            speech(Speaker::User, 1_000, 1_200),
            speech(Speaker::Bot, 5_100, 6_000),
        ];
        assert!(between_speech(&pieces, 500, MeasureSource::Audio).is_empty());
    }

    #[test]
    fn mixed_silence_inside_turn() {
        let turns = [Turn {
            index: 0,
            speaker: Speaker::Bot,
            start_ms: 0,
            end_ms: 4_000,
            utterances: vec![0],
            source: MeasureSource::Events,
        }];
        let activity = [ChannelActivity {
            channel: 0,
            speech: vec![
                Segment {
                    start_ms: 0,
                    end_ms: 1_000,
                },
                Segment {
                    start_ms: 2_200,
                    end_ms: 4_000,
                },
            ],
        }];
        let pauses = mixed_silences(&activity, &turns, 500);
        assert_eq!(pauses.len(), 1);
        assert_eq!(
            (pauses[0].kind, pauses[0].speaker, pauses[0].duration_ms),
            (PauseKind::WithinTurn, Speaker::Bot, 1_200)
        );
    }
}
