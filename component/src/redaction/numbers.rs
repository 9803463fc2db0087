//! Telling phone numbers, payment card numbers and US social security numbers apart
//! from the numbers of ordinary speech.
//!
//! Both the written and the spoken detector turn a stretch of text into a run of digit
//! [`Group`]s, the way a person would group them when saying or typing the number.
//! [`find_in_groups`] then tries the longest sub-runs first, cutting only where the
//! groups are loosely joined (a space, or a pause in speech), so that a phone number
//! next to another number ("4155550199 2024") is still found.

use callscope_api_types::PiiKind;

use super::Found;

/// Maximum digits of a payment card number (ISO/IEC 7812), the longest kind found.
const MAX_RUN_DIGITS: usize = 19;

/// Maximum digits of a phone number after the `+` or `00` international prefix (E.164).
const MAX_INTERNATIONAL_DIGITS: usize = 15;

/// Maximum digits of a phone number dialled nationally, trunk prefix included. This is
/// an estimate that covers the national formats of most countries; a longer number is
/// found when written with `+` or `00`.
const MAX_NATIONAL_DIGITS: usize = 12;

/// Minimum digits of a phone number, which is a local number without an area code. No
/// kind found is shorter.
const MIN_PHONE_DIGITS: usize = 7;

/// How far back, in bytes, a cue such as "social security" marks a 9-digit number as
/// an SSN.
const SSN_CUE_WINDOW: usize = 48;

/// Separator between a group and the group before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Separator {
    /// The first group, or a group right after a closing parenthesis.
    None,
    Space,
    Dash,
    Dot,
    Slash,
    /// A comma or full stop between spoken digits: a pause.
    Pause,
}

/// Consecutive digits as they were written or spoken together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Group {
    pub digits: String,
    /// Byte range in the text, including a `+`, "plus" or parentheses around the digits.
    pub start: usize,
    pub end: usize,
    pub separator: Separator,
    /// A `+` or "plus" comes right before the digits.
    pub plus: bool,
}

/// Finds phone, card and SSN numbers in a run of groups and appends them to `found`.
/// `after_currency` marks a run preceded by a currency symbol, which makes it an amount.
pub(super) fn find_in_groups(
    text: &str,
    groups: &[Group],
    spoken: bool,
    after_currency: bool,
    found: &mut Vec<Found>,
) {
    // A number printed like a card that fails the Luhn check is no card, and its
    // groups of four are no phone number either.
    let digits: String = groups.iter().map(|group| group.digits.as_str()).collect();
    if groups.len() > 1 && is_card_shaped(&digits, groups, spoken) && !passes_luhn(&digits) {
        return;
    }

    let is_cut = |index: usize| {
        index == 0
            || index == groups.len()
            || matches!(groups[index].separator, Separator::Space | Separator::Pause)
    };

    let mut start = 0;
    while start < groups.len() {
        if !is_cut(start) {
            start += 1;
            continue;
        }

        let mut ends = Vec::new();
        let mut digits = 0;
        for end in start + 1..=groups.len() {
            digits += groups[end - 1].digits.len();
            if digits > MAX_RUN_DIGITS {
                break;
            }
            if is_cut(end) && digits >= MIN_PHONE_DIGITS {
                ends.push(end);
            }
        }

        let context = Context {
            spoken,
            after_currency: after_currency && start == 0,
            ssn_cue: has_ssn_cue(&text[..groups[start].start]),
        };
        let hit = ends
            .iter()
            .rev()
            .find_map(|&end| classify(&groups[start..end], &context).map(|kind| (end, kind)));

        match hit {
            Some((end, kind)) => {
                found.push(Found {
                    kind,
                    start: groups[start].start,
                    end: groups[end - 1].end,
                });
                start = end;
            }
            None => start += 1,
        }
    }
}

/// Surroundings of a run that change how it reads.
struct Context {
    spoken: bool,
    after_currency: bool,
    /// "social security" or "SSN" shortly before the run.
    ssn_cue: bool,
}

/// Returns the kind of personal data `groups` form as a whole, if any.
fn classify(groups: &[Group], context: &Context) -> Option<PiiKind> {
    let digits: String = groups.iter().map(|group| group.digits.as_str()).collect();
    let lengths: Vec<usize> = groups.iter().map(|group| group.digits.len()).collect();
    let separators: Vec<Separator> = groups[1..].iter().map(|group| group.separator).collect();

    if groups[0].plus {
        return is_international_length(digits.len()).then_some(PiiKind::Phone);
    }
    if let Some(national) = digits.strip_prefix("00")
        && national.len() >= MIN_PHONE_DIGITS
    {
        return is_international_length(national.len()).then_some(PiiKind::Phone);
    }

    if is_ssn(&digits, &lengths, &separators, context) {
        return Some(PiiKind::NationalId);
    }
    if is_payment_card(&digits, groups, context) {
        return Some(PiiKind::PaymentCard);
    }
    if is_national_phone(groups, &digits, &lengths, &separators, context) {
        return Some(PiiKind::Phone);
    }
    None
}

fn is_international_length(digits: usize) -> bool {
    (MIN_PHONE_DIGITS..=MAX_INTERNATIONAL_DIGITS).contains(&digits)
}

/// Checks for a valid SSN grouped 3-2-4 (with dashes or spaces when written), or any
/// valid 9 digits after an SSN cue.
fn is_ssn(digits: &str, lengths: &[usize], separators: &[Separator], context: &Context) -> bool {
    if digits.len() != 9 || !is_valid_ssn(digits) {
        return false;
    }
    let grouped = lengths == [3, 2, 4]
        && (context.spoken
            || (separators[0] == separators[1]
                && matches!(separators[0], Separator::Dash | Separator::Space)));
    grouped || context.ssn_cue
}

/// Checks the issuing rules: the Social Security Administration never issues area 000,
/// 666 or 900-999, group 00 or serial 0000.
fn is_valid_ssn(digits: &str) -> bool {
    let area = &digits[0..3];
    let group = &digits[3..5];
    let serial = &digits[5..9];
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

fn has_ssn_cue(before: &str) -> bool {
    let mut window_start = before.len().saturating_sub(SSN_CUE_WINDOW);
    while !before.is_char_boundary(window_start) {
        window_start += 1;
    }
    let window = before[window_start..].to_lowercase();
    window.contains("social security") || window.contains("ssn")
}

/// Checks for 13 to 19 digits that pass the Luhn check and are printed like a card
/// number (see [`is_card_shaped`]).
fn is_payment_card(digits: &str, groups: &[Group], context: &Context) -> bool {
    is_card_shaped(digits, groups, context.spoken) && passes_luhn(digits)
}

/// Checks for 13 to 19 digits that start with a major industry identifier of card
/// issuers (2 to 6). Written digits must be contiguous or grouped as cards are printed,
/// in fours (the last group may be shorter) or as Amex and Diners 4-6-5 and 4-6-4,
/// with one kind of separator.
fn is_card_shaped(digits: &str, groups: &[Group], spoken: bool) -> bool {
    if !(13..=MAX_RUN_DIGITS).contains(&digits.len())
        || !matches!(digits.as_bytes()[0], b'2'..=b'6')
    {
        return false;
    }
    if spoken || groups.len() == 1 {
        return true;
    }

    let separator = groups[1].separator;
    let uniform = groups[1..].iter().all(|group| group.separator == separator)
        && matches!(separator, Separator::Space | Separator::Dash);
    let lengths: Vec<usize> = groups.iter().map(|group| group.digits.len()).collect();
    let (last, leading) = lengths.split_last().expect("a run has at least one group");
    let fours = leading.iter().all(|&length| length == 4) && (1..=4).contains(last);
    let amex = lengths == [4, 6, 5] || lengths == [4, 6, 4];
    uniform && (fours || amex)
}

/// Checks the Luhn (mod 10) check digit of ISO/IEC 7812-1.
pub(super) fn passes_luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (position, byte) in digits.bytes().rev().enumerate() {
        let mut value = u32::from(byte - b'0');
        if position % 2 == 1 {
            value *= 2;
            if value > 9 {
                value -= 9;
            }
        }
        sum += value;
    }
    sum % 10 == 0
}

/// Checks for 7 to 12 digits that are not a date, a year list, an amount, a decimal,
/// version or IP number, or an epoch timestamp. Spoken digits are a phone number by length alone,
/// unless they are a list of years ("twenty twenty four, twenty twenty five").
fn is_national_phone(
    groups: &[Group],
    digits: &str,
    lengths: &[usize],
    separators: &[Separator],
    context: &Context,
) -> bool {
    if !(MIN_PHONE_DIGITS..=MAX_NATIONAL_DIGITS).contains(&digits.len()) {
        return false;
    }
    if context.spoken {
        return !is_year_list(groups);
    }
    if context.after_currency {
        return false;
    }

    if lengths.len() == 1 {
        return !is_compact_date(digits) && !is_epoch_seconds(digits);
    }
    if starts_with_date(groups, separators) || is_year_list(groups) {
        return false;
    }
    if is_thousands_grouping(groups, separators) {
        return false;
    }
    if separators.contains(&Separator::Dot) && !is_dotted_phone(groups, separators) {
        return false;
    }

    // Digits spelled out one by one ("4 1 5 5 5 5 0 1 9 9"), or groups of at least two
    // after an optional one-digit country or trunk code ("1-800-555-0199").
    lengths.iter().all(|&length| length == 1) || lengths[1..].iter().all(|&length| length >= 2)
}

/// `20240514` or `14052024`.
fn is_compact_date(digits: &str) -> bool {
    digits.len() == 8
        && ((is_year(&digits[0..4]) && is_month(&digits[4..6]) && is_day(&digits[6..8]))
            || (is_day(&digits[0..2]) && is_month(&digits[2..4]) && is_year(&digits[4..8])))
}

/// Ten digits starting with 1: Unix seconds from 2001 to 2033. No national phone
/// number of ten digits starts with 1 in the North American plan.
fn is_epoch_seconds(digits: &str) -> bool {
    digits.len() == 10 && digits.starts_with('1')
}

/// `2024-05-14 …`, `14.05.2024 …`, `05/14/2024 …`: the first three groups, joined the
/// same way, read as a date with a four-digit year. A date with a two-digit year has
/// too few digits for a phone number, and reading `01 23 45 67 89` as one would hide a
/// French phone number.
fn starts_with_date(groups: &[Group], separators: &[Separator]) -> bool {
    if groups.len() < 3 || separators[0] != separators[1] || separators[0] == Separator::Pause {
        return false;
    }
    let [first, second, third] = [&groups[0].digits, &groups[1].digits, &groups[2].digits];

    let year_first = first.len() == 4
        && is_year(first)
        && second.len() <= 2
        && third.len() <= 2
        && is_month(second)
        && is_day(third);
    let year_last = first.len() <= 2
        && second.len() <= 2
        && is_year(third)
        && ((is_day(first) && is_month(second)) || (is_month(first) && is_day(second)));
    year_first || year_last
}

/// `1990-2000`, `2019 2020 2021`.
fn is_year_list(groups: &[Group]) -> bool {
    groups
        .iter()
        .all(|group| group.digits.len() == 4 && is_year(&group.digits))
}

/// `1 000 000` or `12.345.678`: groups of three after a first group of one to three
/// digits, joined the same way.
///
/// NOTE: Spanish national numbers are written 3-3-3 ("912 345 678") and read as an
/// amount here; they are found when written with `+34`, with dashes, or spoken.
fn is_thousands_grouping(groups: &[Group], separators: &[Separator]) -> bool {
    let uniform = separators
        .iter()
        .all(|separator| *separator == separators[0])
        && matches!(separators[0], Separator::Space | Separator::Dot);
    let first = &groups[0].digits;
    uniform
        && first.len() <= 3
        && !first.starts_with('0')
        && groups[1..].iter().all(|group| group.digits.len() == 3)
}

/// `415.555.0199`, `01.23.45.67.89`, `1.800.555.0199`: at least three groups joined by
/// dots, two to four digits each after the first, and not an IPv4 address. This leaves
/// out decimals (`3.14159`) and version numbers (`10.0.19045`).
fn is_dotted_phone(groups: &[Group], separators: &[Separator]) -> bool {
    let all_dots = separators
        .iter()
        .all(|separator| *separator == Separator::Dot);
    let shaped = groups.len() >= 3
        && (1..=4).contains(&groups[0].digits.len())
        && groups[1..]
            .iter()
            .all(|group| (2..=4).contains(&group.digits.len()));
    let ipv4 = groups.len() == 4
        && groups.iter().all(|group| {
            group.digits.len() <= 3 && group.digits.parse::<u16>().is_ok_and(|value| value <= 255)
        });
    all_dots && shaped && !ipv4
}

fn is_year(digits: &str) -> bool {
    digits.len() == 4 && (digits.starts_with("19") || digits.starts_with("20"))
}

fn is_month(digits: &str) -> bool {
    digits
        .parse::<u8>()
        .is_ok_and(|month| (1..=12).contains(&month))
}

fn is_day(digits: &str) -> bool {
    digits
        .parse::<u8>()
        .is_ok_and(|day| (1..=31).contains(&day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_card_numbers() {
        // Visa, Mastercard and Amex test numbers published by the card networks.
        assert!(passes_luhn("4111111111111111"));
        assert!(passes_luhn("5555555555554444"));
        assert!(passes_luhn("378282246310005"));
    }

    #[test]
    fn luhn_rejects_changed_digit() {
        assert!(!passes_luhn("4111111111111112"));
    }

    #[test]
    fn ssn_validity_rules() {
        assert!(is_valid_ssn("123456789"));
        assert!(!is_valid_ssn("000456789"));
        assert!(!is_valid_ssn("666456789"));
        assert!(!is_valid_ssn("923456789"));
        assert!(!is_valid_ssn("123006789"));
        assert!(!is_valid_ssn("123450000"));
    }

    #[test]
    fn ssn_cue_window() {
        assert!(has_ssn_cue("my Social Security number is "));
        assert!(has_ssn_cue("SSN: "));
        assert!(!has_ssn_cue("my number is "));
    }
}
