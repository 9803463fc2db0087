//! Turns: a party's uninterrupted stretch of speech.

use callscope_api_types::{MeasureSource, Speaker, Turn};

use super::Speech;

/// Groups speech into turns.
///
/// A speaker's next speech joins their open turn when the silence before it is
/// shorter than `join_gap_ms` and no other party spoke past the turn's end in between.
/// The second rule keeps a short backchannel ("yeah") inside the other party's turn
/// from splitting that turn, while a real reply does split it. Turns are returned
/// in order of their start.
pub(crate) fn build(speech: &[Speech], join_gap_ms: i64, source: MeasureSource) -> Vec<Turn> {
    let mut ordered: Vec<Speech> = speech.to_vec();
    ordered.sort_by_key(|piece| (piece.start_ms, piece.end_ms));

    let mut turns: Vec<Turn> = Vec::new();
    let mut open: Vec<(Speaker, usize)> = Vec::new();
    let mut latest_end: Vec<(Speaker, i64)> = Vec::new();

    for piece in &ordered {
        let others_end = latest_end
            .iter()
            .filter(|(speaker, _)| *speaker != piece.speaker)
            .map(|(_, end)| *end)
            .max();
        let joinable = open
            .iter()
            .find(|(speaker, _)| *speaker == piece.speaker)
            .map(|(_, at)| *at)
            .filter(|&at| {
                let turn = &turns[at];
                piece.start_ms - turn.end_ms < join_gap_ms
                    && others_end.is_none_or(|end| end <= turn.end_ms)
            });

        match joinable {
            Some(at) => {
                let turn = &mut turns[at];
                turn.end_ms = turn.end_ms.max(piece.end_ms);
                turn.utterances.extend(piece.utterance);
            }
            None => {
                turns.push(Turn {
                    index: 0,
                    speaker: piece.speaker,
                    start_ms: piece.start_ms,
                    end_ms: piece.end_ms,
                    utterances: piece.utterance.into_iter().collect(),
                    source,
                });
                let at = turns.len() - 1;
                match open
                    .iter_mut()
                    .find(|(speaker, _)| *speaker == piece.speaker)
                {
                    Some(entry) => entry.1 = at,
                    None => open.push((piece.speaker, at)),
                }
            }
        }

        match latest_end
            .iter_mut()
            .find(|(speaker, _)| *speaker == piece.speaker)
        {
            Some(entry) => entry.1 = entry.1.max(piece.end_ms),
            None => latest_end.push((piece.speaker, piece.end_ms)),
        }
    }

    // Turns were created in start order, so their positions are their indices.
    for (index, turn) in turns.iter_mut().enumerate() {
        turn.index = u32::try_from(index).unwrap_or(u32::MAX);
    }
    turns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speech(speaker: Speaker, start_ms: i64, end_ms: i64) -> Speech {
        Speech::audio(speaker, start_ms, end_ms)
    }

    #[test]
    fn backchannel_does_not_split_turn() {
        let pieces = [
            speech(Speaker::Bot, 0, 5_000),
            speech(Speaker::User, 2_000, 2_300),
            speech(Speaker::Bot, 5_200, 9_000),
        ];
        let turns = build(&pieces, 1_500, MeasureSource::Audio);
        assert_eq!(turns.len(), 2);
        assert_eq!((turns[0].speaker, turns[0].end_ms), (Speaker::Bot, 9_000));
    }

    #[test]
    fn reply_splits_turns() {
        let pieces = [
            speech(Speaker::User, 0, 1_000),
            speech(Speaker::Bot, 900, 2_000),
            speech(Speaker::User, 2_100, 3_000),
        ];
        let turns = build(&pieces, 1_500, MeasureSource::Events);
        let speakers: Vec<Speaker> = turns.iter().map(|turn| turn.speaker).collect();
        assert_eq!(speakers, [Speaker::User, Speaker::Bot, Speaker::User]);
    }

    #[test]
    fn long_silence_splits_one_speaker() {
        let pieces = [
            speech(Speaker::Bot, 0, 1_000),
            speech(Speaker::Bot, 2_500, 3_000),
        ];
        let turns = build(&pieces, 1_500, MeasureSource::Events);
        assert_eq!(turns.len(), 2);
    }

    #[test]
    fn short_silence_joins_one_speaker() {
        let pieces = [
            speech(Speaker::Bot, 0, 1_000),
            speech(Speaker::Bot, 2_400, 3_000),
        ];
        let turns = build(&pieces, 1_500, MeasureSource::Events);
        assert_eq!(turns.len(), 1);
        assert_eq!(turns[0].end_ms, 3_000);
    }
}
