//! Numbers spoken as words, as speech-to-text writes them: "four one five, five five
//! five, oh one nine nine", "double five", "oh one ninety nine", "plus four four",
//! and digits mixed with words ("415 five five five 0199").
//!
//! A sequence is consecutive number words and digit tokens joined by spaces or
//! hyphens. A comma or full stop between them is a pause, which groups the digits as
//! the speaker did, and any other word or punctuation ends the sequence. "hundred" and
//! "thousand" end it too, because they make amounts ("one hundred twenty three"),
//! not digit strings. A sequence of digit tokens only is left to the written
//! detector.

use super::Found;
use super::numbers::{Group, Separator, find_in_groups};
use super::tokens::{Token, words};

const UNITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const TEENS: [&str; 10] = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Appends the phone, card and SSN numbers spoken in `text` to `found`.
pub(super) fn find(text: &str, found: &mut Vec<Found>) {
    let tokens = words(text);
    let mut index = 0;

    while index < tokens.len() {
        match read_sequence(text, &tokens, index) {
            Some(sequence) => {
                if sequence.has_word {
                    find_in_groups(text, &sequence.groups, true, false, found);
                }
                index = sequence.next;
            }
            None => index += 1,
        }
    }
}

/// A sequence of spoken digits, grouped at pauses.
struct Sequence {
    groups: Vec<Group>,
    /// At least one digit came from a word rather than a digit token.
    has_word: bool,
    /// Index of the first token after the sequence.
    next: usize,
}

/// Link between two consecutive tokens.
enum Joint {
    Same,
    Pause,
    Break,
}

fn joint(between: &str) -> Joint {
    if between.chars().all(|c| c == ' ' || c == '-') {
        return Joint::Same;
    }
    let pause = between.chars().all(|c| matches!(c, ' ' | ',' | '.' | ';'))
        && between.chars().filter(|&c| c != ' ').count() == 1;
    if pause { Joint::Pause } else { Joint::Break }
}

/// Reads the sequence starting at token `start`, if that token is a number.
fn read_sequence(text: &str, tokens: &[Token<'_>], start: usize) -> Option<Sequence> {
    // "Oh, …" is an interjection, not a zero.
    let joint_after_start = tokens
        .get(start + 1)
        .map(|next| joint(&text[tokens[start].end..next.start]));
    if is_oh(tokens[start].text) && !matches!(joint_after_start, Some(Joint::Same)) {
        return None;
    }

    let mut groups: Vec<Group> = Vec::new();
    let mut current: Option<Group> = None;
    let mut has_word = false;
    let mut plus_at: Option<usize> = None;
    let mut separator = Separator::None;
    let mut index = start;

    while index < tokens.len() {
        if index > start {
            match joint(&text[tokens[index - 1].end..tokens[index].start]) {
                Joint::Same => {}
                Joint::Pause => {
                    groups.extend(current.take());
                    separator = Separator::Pause;
                }
                Joint::Break => break,
            }
        }

        let Some(element) = read_element(text, tokens, index) else {
            let leading_plus = tokens[index].text.eq_ignore_ascii_case("plus")
                && plus_at.is_none()
                && groups.is_empty()
                && current.is_none();
            if !leading_plus {
                break;
            }
            plus_at = Some(tokens[index].start);
            index += 1;
            continue;
        };

        let end = tokens[index + element.tokens - 1].end;
        match current.as_mut() {
            Some(group) => {
                group.digits.push_str(&element.digits);
                group.end = end;
            }
            None => {
                let first = groups.is_empty();
                current = Some(Group {
                    digits: element.digits,
                    start: if first {
                        plus_at.unwrap_or(tokens[index].start)
                    } else {
                        tokens[index].start
                    },
                    end,
                    separator: if first { Separator::None } else { separator },
                    plus: first && plus_at.is_some(),
                });
            }
        }
        has_word |= element.word;
        index += element.tokens;
    }
    groups.extend(current);

    (!groups.is_empty()).then_some(Sequence {
        groups,
        has_word,
        next: index.max(start + 1),
    })
}

/// Digits read from one or two tokens.
struct Element {
    digits: String,
    tokens: usize,
    word: bool,
}

/// Reads the number at token `index`: a digit token, a unit, teen or tens word
/// ("ninety nine" is two tokens), "oh", or "double"/"triple" and the unit it repeats.
fn read_element(text: &str, tokens: &[Token<'_>], index: usize) -> Option<Element> {
    let word = tokens[index].text;
    if word.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(Element {
            digits: word.to_string(),
            tokens: 1,
            word: false,
        });
    }

    if let Some(digit) = unit(word) {
        return Some(Element {
            digits: digit.to_string(),
            tokens: 1,
            word: true,
        });
    }
    if let Some(teen) = position_of(&TEENS, word) {
        return Some(Element {
            digits: (10 + teen).to_string(),
            tokens: 1,
            word: true,
        });
    }

    let tens = position_of(&TENS, word);
    let repeat = if word.eq_ignore_ascii_case("double") {
        2
    } else if word.eq_ignore_ascii_case("triple") {
        3
    } else {
        0
    };
    if tens.is_none() && repeat == 0 {
        return None;
    }

    let next_unit = tokens
        .get(index + 1)
        .filter(|next| matches!(joint(&text[tokens[index].end..next.start]), Joint::Same))
        .and_then(|next| unit(next.text));

    if let Some(tens) = tens {
        let tens = tens + 2;
        return Some(match next_unit {
            Some(digit) if digit != '0' => Element {
                digits: format!("{tens}{digit}"),
                tokens: 2,
                word: true,
            },
            _ => Element {
                digits: format!("{tens}0"),
                tokens: 1,
                word: true,
            },
        });
    }

    let digit = next_unit?;
    Some(Element {
        digits: digit.to_string().repeat(repeat),
        tokens: 2,
        word: true,
    })
}

fn position_of(names: &[&str], word: &str) -> Option<usize> {
    names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(word))
}

/// Returns the digit of a unit word, "oh" or "nought".
fn unit(word: &str) -> Option<char> {
    if is_oh(word) || word.eq_ignore_ascii_case("nought") || word.eq_ignore_ascii_case("naught") {
        return Some('0');
    }
    let position = position_of(&UNITS, word)?;
    char::from_digit(position as u32, 10)
}

fn is_oh(word: &str) -> bool {
    word.eq_ignore_ascii_case("oh") || word.eq_ignore_ascii_case("o")
}

#[cfg(test)]
mod tests {
    use callscope_api_types::PiiKind;

    use super::*;

    fn kinds(text: &str) -> Vec<(PiiKind, &str)> {
        let mut found = Vec::new();
        find(text, &mut found);
        found
            .iter()
            .map(|item| (item.kind, &text[item.start..item.end]))
            .collect()
    }

    #[test]
    fn phone_with_pauses() {
        let text = "It's four one five, five five five, zero one nine nine.";

        assert_eq!(
            kinds(text),
            [(
                PiiKind::Phone,
                "four one five, five five five, zero one nine nine"
            )]
        );
    }

    #[test]
    fn oh_double_and_tens() {
        assert_eq!(
            kinds("call me on four one five double five five oh one ninety nine"),
            [(
                PiiKind::Phone,
                "four one five double five five oh one ninety nine"
            )]
        );
    }

    #[test]
    fn digits_mixed_with_words() {
        assert_eq!(
            kinds("it's 415 five five five 0199"),
            [(PiiKind::Phone, "415 five five five 0199")]
        );
    }

    #[test]
    fn international_plus() {
        assert_eq!(
            kinds("plus four four, two oh, seven nine four six, oh nine five eight"),
            [(
                PiiKind::Phone,
                "plus four four, two oh, seven nine four six, oh nine five eight"
            )]
        );
    }

    #[test]
    fn leading_interjection_is_not_zero() {
        assert_eq!(
            kinds("Oh, four one five five five five zero one nine nine"),
            [(
                PiiKind::Phone,
                "four one five five five five zero one nine nine"
            )]
        );
    }

    #[test]
    fn ssn_grouped_three_two_four() {
        assert_eq!(
            kinds("one two three, four five, six seven eight nine"),
            [(
                PiiKind::NationalId,
                "one two three, four five, six seven eight nine"
            )]
        );
    }

    #[test]
    fn card_spoken_in_fours() {
        let text = "four one one one, one one one one, one one one one, one one one one";

        assert_eq!(kinds(text), [(PiiKind::PaymentCard, text)]);
    }

    #[test]
    fn ordinary_spoken_numbers_stay() {
        let cases = [
            "one share of company scale",
            "as low as twenty nine ninety nine a month",
            "one hundred twenty three thousand four hundred fifty six dollars",
            "in twenty twenty four, twenty twenty five",
            "my zip is nine four one zero five",
            "two or three, maybe four",
            "at nine forty five",
        ];
        for case in cases {
            assert_eq!(kinds(case), [], "{case}");
        }
    }
}
