//! Numbers written with digits: `+1 (415) 555-0199`, `4111 1111 1111 1111`,
//! `123-45-6789`.
//!
//! A run is digits joined by one space, dash, dot or slash (spaces may surround a
//! dash or slash), with an optional leading `+` and parentheses around a group. A
//! full stop followed by a space ends the run, because it ends a sentence. A run
//! joined to a letter on either side ("Office365", "a456-…") is part of a word and
//! skipped whole.

use super::numbers::{Group, Separator, find_in_groups};
use super::{Found, is_word_char};

const CURRENCY_SYMBOLS: [char; 5] = ['$', '€', '£', '¥', '₹'];

/// Appends the phone, card and SSN numbers written in `text` to `found`.
pub(super) fn find(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    let mut position = 0;

    while position < bytes.len() {
        if !starts_run(bytes, position) {
            position += 1;
            continue;
        }

        let (groups, end) = scan_run(text, position);
        let before = text[..position].chars().next_back();
        let after = text[end..].chars().next();
        let joined_to_word = before.is_some_and(is_word_char)
            || (after.is_some_and(is_word_char) && !starts_extension(&text[end..]));

        if !joined_to_word {
            let after_currency = text[..position]
                .trim_end_matches(' ')
                .ends_with(CURRENCY_SYMBOLS);
            find_in_groups(text, &groups, false, after_currency, found);
        }
        position = end;
    }
}

/// Checks for a phone extension right after a number: `x123` in `415-555-0199x123`.
fn starts_extension(rest: &str) -> bool {
    let mut chars = rest.chars();
    matches!(chars.next(), Some('x' | 'X')) && chars.next().is_some_and(|c| c.is_ascii_digit())
}

/// Checks whether a run starts at `position`: a digit, or a `+` or `(` right before a
/// digit.
fn starts_run(bytes: &[u8], position: usize) -> bool {
    match bytes[position] {
        b'0'..=b'9' => true,
        b'+' => bytes
            .get(position + 1)
            .is_some_and(|&next| next.is_ascii_digit() || next == b'('),
        b'(' => bytes.get(position + 1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// Reads the groups of the run starting at `start`; returns them and the byte after
/// the run.
fn scan_run(text: &str, start: usize) -> (Vec<Group>, usize) {
    let bytes = text.as_bytes();
    let mut groups: Vec<Group> = Vec::new();
    let mut position = start;
    let mut separator = Separator::None;

    loop {
        let group_start = position;
        let plus = groups.is_empty() && bytes[position] == b'+';
        if plus {
            position += 1;
        }
        let opened = bytes.get(position) == Some(&b'(');
        if opened {
            position += 1;
        }
        let digits_start = position;
        while bytes.get(position).is_some_and(u8::is_ascii_digit) {
            position += 1;
        }
        let digits = text[digits_start..position].to_string();
        let closed = opened && bytes.get(position) == Some(&b')');
        if closed {
            position += 1;
        }
        groups.push(Group {
            digits,
            start: group_start,
            end: position,
            separator,
            plus,
        });

        match separator_at(bytes, position, closed) {
            Some((kind, length)) => {
                separator = kind;
                position += length;
            }
            None => break,
        }
    }

    let end = groups.last().map_or(start, |group| group.end);
    (groups, end)
}

/// Reads the separator at `position` when another group follows it: its kind and
/// length in bytes. After a closing parenthesis the next group may follow directly.
fn separator_at(
    bytes: &[u8],
    position: usize,
    after_parenthesis: bool,
) -> Option<(Separator, usize)> {
    let next_group_at = |offset: usize| {
        let at = position + offset;
        match bytes.get(at) {
            Some(byte) if byte.is_ascii_digit() => true,
            Some(b'(') => bytes.get(at + 1).is_some_and(u8::is_ascii_digit),
            _ => false,
        }
    };

    if after_parenthesis && next_group_at(0) {
        return Some((Separator::None, 0));
    }

    let spaced = |mark: u8| -> Option<usize> {
        let mut offset = 0;
        if bytes.get(position) == Some(&b' ') {
            offset += 1;
        }
        if bytes.get(position + offset) != Some(&mark) {
            return None;
        }
        offset += 1;
        if bytes.get(position + offset) == Some(&b' ') {
            offset += 1;
        }
        Some(offset)
    };

    for (mark, kind) in [(b'-', Separator::Dash), (b'/', Separator::Slash)] {
        if let Some(length) = spaced(mark)
            && next_group_at(length)
        {
            return Some((kind, length));
        }
    }

    match bytes.get(position) {
        Some(b'.') if next_group_at(1) => Some((Separator::Dot, 1)),
        Some(b' ') if next_group_at(1) => Some((Separator::Space, 1)),
        _ => None,
    }
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
    fn phone_forms() {
        let cases = [
            "+1 415 555 0199",
            "+1-415-555-0199",
            "+14155550199",
            "(415) 555-0199",
            "415-555-0199",
            "415.555.0199",
            "415 555 0199",
            "4155550199",
            "1-800-555-0199",
            "+44 (0)20 7946 0958",
            "+44 20 7946 0958",
            "0044 20 7946 0958",
            "020 7946 0958",
            "01 23 45 67 89",
            "030/1234567",
            "555-0199 7",
            "4 1 5 5 5 5 0 1 9 9",
        ];
        for case in cases {
            let found = kinds(case);
            assert_eq!(found.len(), 1, "{case}: {found:?}");
            assert_eq!(found[0].0, PiiKind::Phone, "{case}");
        }
    }

    #[test]
    fn phone_span_excludes_neighbours() {
        assert_eq!(
            kinds("call 415 555 0199 2 times"),
            [(PiiKind::Phone, "415 555 0199")]
        );
        assert_eq!(kinds("4155550199 2024"), [(PiiKind::Phone, "4155550199")]);
        assert_eq!(
            kinds("on 2024-05-14 4155550199."),
            [(PiiKind::Phone, "4155550199")]
        );
        assert_eq!(
            kinds("(415) 555-0199, thanks"),
            [(PiiKind::Phone, "(415) 555-0199")]
        );
        assert_eq!(
            kinds("(at 415-555-0199)"),
            [(PiiKind::Phone, "415-555-0199")]
        );
    }

    #[test]
    fn phone_beside_non_ascii_text() {
        assert_eq!(
            kinds("Téléphone : 06 12 34 56 78 — merci"),
            [(PiiKind::Phone, "06 12 34 56 78")]
        );
        assert_eq!(
            kinds("Straße 415-555-0199 ß"),
            [(PiiKind::Phone, "415-555-0199")]
        );
    }

    #[test]
    fn phone_with_extension() {
        assert_eq!(
            kinds("415-555-0199x123"),
            [(PiiKind::Phone, "415-555-0199")]
        );
        assert_eq!(kinds("415-555-0199xyz"), []);
    }

    #[test]
    fn cards_need_luhn() {
        assert_eq!(
            kinds("4111 1111 1111 1111"),
            [(PiiKind::PaymentCard, "4111 1111 1111 1111")]
        );
        assert_eq!(
            kinds("4111-1111-1111-1111"),
            [(PiiKind::PaymentCard, "4111-1111-1111-1111")]
        );
        assert_eq!(
            kinds("5555555555554444"),
            [(PiiKind::PaymentCard, "5555555555554444")]
        );
        assert_eq!(
            kinds("3782 822463 10005"),
            [(PiiKind::PaymentCard, "3782 822463 10005")]
        );
        assert_eq!(kinds("4111 1111 1111 1112"), []);
        assert_eq!(kinds("1234567812345678"), []);
    }

    #[test]
    fn ssn_forms() {
        assert_eq!(kinds("123-45-6789"), [(PiiKind::NationalId, "123-45-6789")]);
        assert_eq!(kinds("123 45 6789"), [(PiiKind::NationalId, "123 45 6789")]);
        assert_eq!(kinds("SSN 123456789"), [(PiiKind::NationalId, "123456789")]);
    }

    #[test]
    fn ordinary_numbers_stay() {
        let cases = [
            "29 bucks a month",
            "Office 365",
            "at 10:30 tomorrow",
            "$1,299.99",
            "$ 1 000 000",
            "1 000 000 users",
            "12.345.678 euros",
            "in 2024",
            "from 1990-2000",
            "2019 2020 2021",
            "2024-05-14",
            "2024-05-14 15:02",
            "14.05.2024",
            "05/14/2024 10 30",
            "20240514",
            "2024-05-14T15:02:11.000Z",
            "1715698931",
            "1715698931000",
            "3.14159265",
            "Windows 10.0.19045.2965",
            "192.168.100.200",
            "order A4155550199",
            "550e8400-e29b-41d4-a716-446655440000",
            "12345678-1234-1234-1234-123456789012",
        ];
        for case in cases {
            assert_eq!(kinds(case), [], "{case}");
        }
    }
}
