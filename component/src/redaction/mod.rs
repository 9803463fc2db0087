//! Removal of personal data from text shown to a user without `view-personal-data`.
//!
//! Four kinds are found, each replaced by its marker ([`PiiKind::marker`]):
//!
//! | kind | written forms | spoken forms (transcripts) |
//! |---|---|---|
//! | phone | `+1 415 555 0199`, `(415) 555-0199`, `415.555.0199`, `020 7946 0958`, 7 to 12 digits nationally, up to 15 after `+` or `00` | "four one five, five five five, oh one nine nine", "double five", digits mixed with words |
//! | email | `jane.doe@example.com` | "jane dot doe at gmail dot com" |
//! | payment card | 13 to 19 digits, contiguous or in groups of four (Amex 4-6-5), starting with 2 to 6 and passing the Luhn check | the same digits spoken |
//! | national identifier | US SSN `123-45-6789`, UK National Insurance number `AB 12 34 56 C` | an SSN spoken in groups of 3, 2 and 4 digits, or any 9 digits after "social security" or "SSN" |
//!
//! Numbers that are not personal data stay: prices, amounts in thousands groups,
//! years, dates, times, decimal numbers, version and IP numbers, epoch timestamps,
//! product names such as "Office 365", and any number joined to letters. The rules
//! for telling them apart are in [`numbers`].
//!
//! Detection is deliberately biased towards removing too much: a number that could be
//! a phone number in a transcript is redacted even when it is an order number.

use std::collections::BTreeMap;

use callscope_api_types::{PiiKind, RedactedText, RedactionMark};

mod email;
mod json;
mod national_id;
mod numbers;
mod spoken;
mod tokens;
mod utterances;
mod written;

pub use json::{RedactJsonError, redact_json};
pub use utterances::redact_utterances;

/// Personal data found in a text: a byte range of the original text and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

/// Finds the personal data in `text`, sorted by position and without overlaps.
pub fn find_personal_data(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    email::find_written(text, &mut found);
    email::find_spoken(text, &mut found);
    national_id::find_uk_insurance_numbers(text, &mut found);
    written::find(text, &mut found);
    spoken::find(text, &mut found);
    without_overlaps(found)
}

/// Replaces the personal data in `text` with markers.
pub fn redact_text(text: &str) -> RedactedText {
    replace(text, &find_personal_data(text))
}

/// Redacts each text on its own.
pub fn redact_texts(texts: &[String]) -> Vec<RedactedText> {
    texts.iter().map(|text| redact_text(text)).collect()
}

/// Replaces each found range of `text` with its kind's marker. `found` must be sorted
/// and free of overlaps, as [`find_personal_data`] returns it.
fn replace(text: &str, found: &[Found]) -> RedactedText {
    let mut redacted = String::with_capacity(text.len());
    let mut marks = Vec::with_capacity(found.len());
    let mut copied_up_to = 0;

    for item in found {
        redacted.push_str(&text[copied_up_to..item.start]);
        let start = redacted.len();
        redacted.push_str(item.kind.marker());
        marks.push(RedactionMark {
            kind: item.kind,
            start: offset(start),
            end: offset(redacted.len()),
        });
        copied_up_to = item.end;
    }
    redacted.push_str(&text[copied_up_to..]);

    RedactedText {
        text: redacted,
        marks,
    }
}

/// Converts a byte offset to the `u32` of [`RedactionMark`]. The component's memory
/// cap keeps texts far below 4 GiB, so saturation never happens in practice.
fn offset(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// Keeps the longest of overlapping finds, so that a spoken number that contains a
/// written group, or an email address that contains digits, is replaced as a whole.
fn without_overlaps(mut found: Vec<Found>) -> Vec<Found> {
    found.sort_by(|left, right| {
        let left_len = left.end - left.start;
        let right_len = right.end - right.start;
        right_len.cmp(&left_len).then(left.start.cmp(&right.start))
    });

    // Kept ranges never overlap, so the one starting last before a candidate's end is
    // the only one that can overlap it.
    let mut kept: BTreeMap<usize, Found> = BTreeMap::new();
    for candidate in found {
        let overlaps = kept
            .range(..candidate.end)
            .next_back()
            .is_some_and(|(_, other)| other.end > candidate.start);
        if !overlaps {
            kept.insert(candidate.start, candidate);
        }
    }

    kept.into_values().collect()
}

/// Returns whether `c` continues a word, so that a number joined to it is part of a
/// name or identifier ("Office365", "a456") rather than a number of its own.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_cover_markers_in_output() {
        let redacted = redact_text("call 415-555-0199 or mail a@b.io now");

        assert_eq!(redacted.text, "call [phone] or mail [email] now");
        assert_eq!(redacted.marks.len(), 2);
        assert_eq!(&redacted.text[5..12], "[phone]");
        assert_eq!(
            redacted.marks[0],
            RedactionMark {
                kind: PiiKind::Phone,
                start: 5,
                end: 12
            }
        );
        assert_eq!(
            redacted.marks[1],
            RedactionMark {
                kind: PiiKind::Email,
                start: 21,
                end: 28
            }
        );
    }

    #[test]
    fn overlapping_finds_keep_longest() {
        let found = without_overlaps(vec![
            Found {
                kind: PiiKind::Phone,
                start: 5,
                end: 10,
            },
            Found {
                kind: PiiKind::Email,
                start: 0,
                end: 12,
            },
            Found {
                kind: PiiKind::Phone,
                start: 14,
                end: 20,
            },
        ]);

        assert_eq!(
            found,
            [
                Found {
                    kind: PiiKind::Email,
                    start: 0,
                    end: 12
                },
                Found {
                    kind: PiiKind::Phone,
                    start: 14,
                    end: 20
                },
            ]
        );
    }

    #[test]
    fn text_without_personal_data_is_unchanged() {
        let text = "Plans are as low as 29 bucks a month, and Office 365 is extra.";

        let redacted = redact_text(text);

        assert_eq!(redacted.text, text);
        assert!(redacted.marks.is_empty());
    }
}
