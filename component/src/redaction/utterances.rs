//! Redaction of utterances: their text, and the words with times that spoke the
//! redacted data, so that neither the transcript nor the word highlighting shows it.

use std::ops::Range;

use callscope_api_types::{PiiKind, RedactionMark, Utterance, Word};

use super::{Found, find_personal_data, replace};

/// How far past the previous word, in bytes, a word's text is looked for in the
/// utterance text. Speech-to-text words follow the text closely; the bound keeps one
/// word missing from the text from pulling the alignment far ahead.
const ALIGNMENT_WINDOW: usize = 256;

/// Redacts each utterance's text and replaces the text of every word that falls in a
/// redacted span with the span's marker. Word times stay. Returns each utterance with
/// the marks of its redacted text.
///
/// A word falls in a span when its text is matched to text inside the span, or when
/// its times lie within the times of the words so matched. The second rule covers
/// words that differ from the text, such as "[inaudible]" inside a number. The word
/// texts joined by spaces are searched too, in case the words carry data the
/// utterance text does not.
pub fn redact_utterances(utterances: Vec<Utterance>) -> Vec<(Utterance, Vec<RedactionMark>)> {
    utterances.into_iter().map(redact_utterance).collect()
}

fn redact_utterance(mut utterance: Utterance) -> (Utterance, Vec<RedactionMark>) {
    let found = find_personal_data(&utterance.text);
    let mut kinds = kinds_from_text(&utterance.text, &found, &utterance.words);
    add_kinds_from_words(&utterance.words, &mut kinds);

    for (word, kind) in utterance.words.iter_mut().zip(kinds) {
        if let Some(kind) = kind {
            word.text = kind.marker().to_string();
        }
    }

    let redacted = replace(&utterance.text, &found);
    utterance.text = redacted.text;
    (utterance, redacted.marks)
}

/// Returns, for each word, the kind of the text span it falls in.
fn kinds_from_text(text: &str, found: &[Found], words: &[Word]) -> Vec<Option<PiiKind>> {
    let ranges = align(text, words);
    let mut kinds = vec![None; words.len()];

    for item in found {
        let mut times: Option<(i64, i64)> = None;
        for (index, range) in ranges.iter().enumerate() {
            let Some(range) = range else {
                continue;
            };
            if range.start < item.end && item.start < range.end {
                kinds[index] = Some(item.kind);
                let word = &words[index];
                times = Some(match times {
                    Some((start, end)) => (start.min(word.start_ms), end.max(word.end_ms)),
                    None => (word.start_ms, word.end_ms),
                });
            }
        }

        if let Some((start, end)) = times {
            for (index, word) in words.iter().enumerate() {
                if word.start_ms >= start && word.end_ms <= end {
                    kinds[index].get_or_insert(item.kind);
                }
            }
        }
    }

    kinds
}

/// Marks words that form personal data when read on their own, joined by spaces.
fn add_kinds_from_words(words: &[Word], kinds: &mut [Option<PiiKind>]) {
    let mut joined = String::new();
    let mut ranges = Vec::with_capacity(words.len());
    for word in words {
        if !joined.is_empty() {
            joined.push(' ');
        }
        let start = joined.len();
        joined.push_str(&word.text);
        ranges.push(start..joined.len());
    }

    for item in find_personal_data(&joined) {
        for (index, range) in ranges.iter().enumerate() {
            if range.start < item.end && item.start < range.end {
                kinds[index].get_or_insert(item.kind);
            }
        }
    }
}

/// Finds each word's text in `text`, in order: the word without surrounding
/// punctuation, ignoring ASCII case, at word boundaries. `None` for a word not found
/// within [`ALIGNMENT_WINDOW`] bytes of the previous match.
fn align(text: &str, words: &[Word]) -> Vec<Option<Range<usize>>> {
    let lower = text.to_ascii_lowercase();
    let mut cursor = 0;

    words
        .iter()
        .map(|word| {
            let core = word
                .text
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_ascii_lowercase();
            if core.is_empty() {
                return None;
            }
            let range = find_word(&lower, &core, cursor)?;
            cursor = range.end;
            Some(range)
        })
        .collect()
}

fn find_word(text: &str, word: &str, from: usize) -> Option<Range<usize>> {
    let mut limit = (from + ALIGNMENT_WINDOW + word.len()).min(text.len());
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }

    let mut search_from = from;
    while let Some(offset) = text[search_from..limit].find(word) {
        let start = search_from + offset;
        let end = start + word.len();
        let alone = !text[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
            && !text[end..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric);
        if alone {
            return Some(start..end);
        }
        search_from = start + word.chars().next().map_or(1, char::len_utf8);
    }
    None
}

#[cfg(test)]
mod tests {
    use callscope_api_types::{Speaker, TimingQuality};

    use super::*;

    fn word(text: &str, start_ms: i64, end_ms: i64) -> Word {
        Word {
            text: text.into(),
            start_ms,
            end_ms,
            confidence: None,
        }
    }

    fn utterance(text: &str, words: Vec<Word>) -> Utterance {
        Utterance {
            index: 0,
            speaker: Speaker::User,
            text: text.into(),
            start_ms: 0,
            end_ms: 10_000,
            words,
            timing: TimingQuality::Exact,
            original_times: "{}".into(),
        }
    }

    fn texts(utterance: &Utterance) -> Vec<&str> {
        utterance
            .words
            .iter()
            .map(|word| word.text.as_str())
            .collect()
    }

    #[test]
    fn spoken_words_become_markers() {
        let input = utterance(
            "Call five five five, oh one nine nine.",
            vec![
                word("Call", 0, 300),
                word("five", 300, 500),
                word("five", 500, 700),
                word("five,", 700, 900),
                word("oh", 1000, 1100),
                word("one", 1100, 1300),
                word("nine", 1300, 1500),
                word("nine.", 1500, 1700),
            ],
        );

        let (redacted, marks) = redact_utterances(vec![input]).remove(0);

        assert_eq!(redacted.text, "Call [phone].");
        assert_eq!(
            marks,
            [RedactionMark {
                kind: PiiKind::Phone,
                start: 5,
                end: 12
            }]
        );
        assert_eq!(
            texts(&redacted),
            [
                "Call", "[phone]", "[phone]", "[phone]", "[phone]", "[phone]", "[phone]", "[phone]"
            ]
        );
        assert_eq!(redacted.words[4].start_ms, 1000);
        assert_eq!(redacted.words[4].end_ms, 1100);
    }

    #[test]
    fn unmatched_word_inside_span_times_is_redacted() {
        let input = utterance(
            "My number is 415-555-0199 thanks",
            vec![
                word("My", 0, 100),
                word("number", 100, 300),
                word("is", 300, 400),
                word("415", 400, 700),
                word("[inaudible]", 700, 1000),
                word("555-0199", 1000, 1500),
                word("thanks", 1600, 1900),
            ],
        );

        let (redacted, _) = redact_utterances(vec![input]).remove(0);

        assert_eq!(redacted.text, "My number is [phone] thanks");
        assert_eq!(
            texts(&redacted),
            [
                "My", "number", "is", "[phone]", "[phone]", "[phone]", "thanks"
            ]
        );
    }

    #[test]
    fn data_only_in_words_is_redacted() {
        let input = utterance(
            "my card is on file",
            vec![
                word("4111", 0, 100),
                word("1111", 100, 200),
                word("1111", 200, 300),
                word("1111", 300, 400),
            ],
        );

        let (redacted, marks) = redact_utterances(vec![input]).remove(0);

        assert_eq!(redacted.text, "my card is on file");
        assert!(marks.is_empty());
        assert_eq!(texts(&redacted), ["[payment-card]"; 4]);
    }

    #[test]
    fn align_skips_missing_word() {
        let words = [
            word("hello", 0, 1),
            word("zebra", 1, 2),
            word("world", 2, 3),
        ];

        let ranges = align("Hello, world", &words);

        assert_eq!(ranges, [Some(0..5), None, Some(7..12)]);
    }

    #[test]
    fn align_needs_word_boundaries() {
        let words = [word("a", 0, 1)];

        assert_eq!(align("that a", &words), [Some(5..6)]);
    }
}
