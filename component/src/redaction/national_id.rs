//! UK National Insurance numbers: `AB 12 34 56 C` or `AB123456C`. US social security
//! numbers are digits only and found with the other numbers in [`super::numbers`].

use callscope_api_types::PiiKind;

use super::{Found, is_word_char};

/// Letters HMRC never uses as the first letter of a prefix.
const INVALID_FIRST: &[u8] = b"DFIQUV";
/// Letters HMRC never uses as the second letter of a prefix.
const INVALID_SECOND: &[u8] = b"DFIOQUV";
/// Prefixes HMRC does not allocate.
const INVALID_PREFIXES: [&str; 6] = ["BG", "GB", "KN", "NK", "NT", "ZZ"];

/// Appends the UK National Insurance numbers in `text` to `found`. Letters may be
/// upper or lower case. Single spaces may separate the prefix, the three pairs of
/// digits and the suffix letter, which is A, B, C or D.
pub(super) fn find_uk_insurance_numbers(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();

    for start in 0..bytes.len() {
        let starts_word = text.is_char_boundary(start)
            && !text[..start].chars().next_back().is_some_and(is_word_char);
        if !starts_word {
            continue;
        }
        let Some(end) = match_at(bytes, start) else {
            continue;
        };
        let ends_word = !text[end..].chars().next().is_some_and(is_word_char);
        if ends_word {
            found.push(Found {
                kind: PiiKind::NationalId,
                start,
                end,
            });
        }
    }
}

/// Returns the end of a National Insurance number starting at `start`.
fn match_at(bytes: &[u8], start: usize) -> Option<usize> {
    let mut position = start;
    let letter = |position: &mut usize| -> Option<u8> {
        let byte = bytes.get(*position)?.to_ascii_uppercase();
        byte.is_ascii_uppercase().then(|| {
            *position += 1;
            byte
        })
    };

    let first = letter(&mut position)?;
    let second = letter(&mut position)?;
    let prefix = [first, second];
    if INVALID_FIRST.contains(&first)
        || INVALID_SECOND.contains(&second)
        || INVALID_PREFIXES
            .iter()
            .any(|invalid| invalid.as_bytes() == prefix)
    {
        return None;
    }

    for _ in 0..3 {
        if bytes.get(position) == Some(&b' ') {
            position += 1;
        }
        for _ in 0..2 {
            bytes.get(position).filter(|byte| byte.is_ascii_digit())?;
            position += 1;
        }
    }

    if bytes.get(position) == Some(&b' ') {
        position += 1;
    }
    let suffix = letter(&mut position)?;
    matches!(suffix, b'A'..=b'D').then_some(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        find_uk_insurance_numbers(text, &mut found);
        found
            .iter()
            .map(|item| &text[item.start..item.end])
            .collect()
    }

    #[test]
    fn spaced_and_compact_forms() {
        assert_eq!(matches("NI AB 12 34 56 C."), ["AB 12 34 56 C"]);
        assert_eq!(matches("ab123456c"), ["ab123456c"]);
    }

    #[test]
    fn invalid_prefix_or_suffix() {
        assert_eq!(matches("QQ 12 34 56 C"), Vec::<&str>::new());
        assert_eq!(matches("GB 12 34 56 C"), Vec::<&str>::new());
        assert_eq!(matches("AB 12 34 56 E"), Vec::<&str>::new());
    }

    #[test]
    fn inside_a_word_is_not_a_number() {
        assert_eq!(matches("XAB123456C"), Vec::<&str>::new());
        assert_eq!(matches("AB123456CD"), Vec::<&str>::new());
    }
}
