//! Talk time, talk share and speaking rate per party.

use callscope_api_types::{MeasureSource, Speaker, TalkTime, Utterance};

use super::Speech;
use super::overlaps::joined;

/// Sums each party's speech in `speech` (one source) and counts the words of its
/// utterances. Returns nothing when neither party speaks.
pub(crate) fn measure(speech: &[Speech], utterances: &[Utterance], source: MeasureSource) -> Vec<TalkTime> {
    let parties = [Speaker::User, Speaker::Bot];
    let speech_ms: Vec<i64> = parties
        .iter()
        .map(|&speaker| {
            joined(speech, speaker, 0)
                .iter()
                .map(|(start, end)| end - start)
                .sum()
        })
        .collect();
    let total: i64 = speech_ms.iter().sum();
    if total <= 0 {
        return Vec::new();
    }

    parties
        .iter()
        .zip(speech_ms)
        .map(|(&speaker, speech_ms)| {
            let words: usize = utterances
                .iter()
                .filter(|utterance| utterance.speaker == speaker)
                .map(|utterance| utterance.text.split_whitespace().count())
                .sum();
            let words = u32::try_from(words).unwrap_or(u32::MAX);
            let words_per_minute =
                (speech_ms > 0 && words > 0).then(|| f64::from(words) * 60_000.0 / speech_ms as f64);
            TalkTime {
                speaker,
                speech_ms,
                share: speech_ms as f64 / total as f64,
                words,
                words_per_minute,
                source,
            }
        })
        .collect()
}
