//! Response latency: from the end of the user's turn to the start of the bot turn
//! that responds to it.

use callscope_api_types::{Finding, ResponseLatency, Speaker, Turn};

use super::LATENCY_MISMATCH_MS;

/// Measures the latency of every bot turn that responds to a user turn in
/// `source_turns`, with `turn_index` pointing into `reported` (the call's turns).
///
/// A bot turn responds to the turn just before it when that is a user turn that ended
/// after every earlier bot turn: a backchannel inside an earlier bot turn is not
/// something the next bot turn responds to. When `source_turns` are not the reported
/// turns (audio measured against event turns), each bot turn is matched to the
/// reported bot turn it overlaps most; one that overlaps none is reported as a
/// finding and has no latency.
pub(crate) fn measure(
    source_turns: &[Turn],
    reported: &[Turn],
) -> (Vec<ResponseLatency>, Vec<Finding>) {
    let mut latencies = Vec::new();
    let mut findings = Vec::new();
    let mut latest_bot_end: Option<i64> = None;
    let same_source =
        reported.first().map(|turn| turn.source) == source_turns.first().map(|turn| turn.source);

    for (position, turn) in source_turns.iter().enumerate() {
        if turn.speaker != Speaker::Bot {
            continue;
        }
        let answered = position
            .checked_sub(1)
            .map(|before| &source_turns[before])
            .filter(|before| before.speaker == Speaker::User)
            .filter(|before| latest_bot_end.is_none_or(|end| before.end_ms > end));
        latest_bot_end = Some(latest_bot_end.map_or(turn.end_ms, |end| end.max(turn.end_ms)));
        let Some(user_turn) = answered else { continue };

        let turn_index = if same_source {
            Some(turn.index)
        } else {
            matching_bot_turn(turn, reported)
        };
        let Some(turn_index) = turn_index else {
            findings.push(Finding {
                code: "audio-turn-unmatched".to_string(),
                path: String::new(),
                message: format!(
                    "bot speech on the recording from {} to {} ms overlaps no bot utterance; \
                     its response latency is not reported",
                    turn.start_ms, turn.end_ms
                ),
            });
            continue;
        };

        latencies.push(ResponseLatency {
            turn_index,
            user_end_ms: user_turn.end_ms,
            bot_start_ms: turn.start_ms,
            latency_ms: turn.start_ms - user_turn.end_ms,
            source: turn.source,
        });
    }
    (latencies, findings)
}

/// Returns the index of the reported bot turn that overlaps `turn` most.
fn matching_bot_turn(turn: &Turn, reported: &[Turn]) -> Option<u32> {
    reported
        .iter()
        .filter(|candidate| candidate.speaker == Speaker::Bot)
        .map(|candidate| {
            let overlap = turn.end_ms.min(candidate.end_ms) - turn.start_ms.max(candidate.start_ms);
            (candidate.index, overlap)
        })
        .filter(|(_, overlap)| *overlap > 0)
        .max_by_key(|(_, overlap)| *overlap)
        .map(|(index, _)| index)
}

/// Reports turns whose event and audio latencies differ by more than
/// [`LATENCY_MISMATCH_MS`].
pub(crate) fn mismatches(
    event_latencies: &[ResponseLatency],
    audio_latencies: &[ResponseLatency],
    reported: &[Turn],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for event in event_latencies {
        let Some(audio) = audio_latencies
            .iter()
            .find(|audio| audio.turn_index == event.turn_index)
        else {
            continue;
        };
        let difference = audio.latency_ms - event.latency_ms;
        if difference.abs() <= LATENCY_MISMATCH_MS {
            continue;
        }

        let first_utterance = reported
            .get(event.turn_index as usize)
            .and_then(|turn| turn.utterances.first());
        findings.push(Finding {
            code: "latency-mismatch".to_string(),
            path: first_utterance
                .map(|index| format!("/utterances/{index}"))
                .unwrap_or_default(),
            message: format!(
                "turn {}: the events give a response latency of {} ms, the recording {} ms \
                 ({difference:+} ms); the event clock may be offset from the recording",
                event.turn_index, event.latency_ms, audio.latency_ms
            ),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_api_types::MeasureSource;

    fn turn(index: u32, speaker: Speaker, start_ms: i64, end_ms: i64) -> Turn {
        Turn {
            index,
            speaker,
            start_ms,
            end_ms,
            utterances: vec![index],
            source: MeasureSource::Events,
        }
    }

    #[test]
    fn bot_after_user_has_latency() {
        let turns = [
            turn(0, Speaker::User, 0, 1_000),
            turn(1, Speaker::Bot, 1_700, 3_000),
        ];
        let (latencies, _) = measure(&turns, &turns);
        assert_eq!(latencies.len(), 1);
        assert_eq!(latencies[0].latency_ms, 700);
    }

    #[test]
    fn backchannel_is_not_answered() {
        let turns = [
            turn(0, Speaker::Bot, 0, 5_000),
            turn(1, Speaker::User, 2_000, 2_300),
            turn(2, Speaker::Bot, 7_000, 8_000),
        ];
        let (latencies, _) = measure(&turns, &turns);
        assert!(latencies.is_empty(), "{latencies:?}");
    }

    #[test]
    fn barge_in_gives_negative_latency() {
        let turns = [
            turn(0, Speaker::User, 0, 3_000),
            turn(1, Speaker::Bot, 2_800, 5_000),
        ];
        let (latencies, _) = measure(&turns, &turns);
        assert_eq!(latencies[0].latency_ms, -200);
    }
}
