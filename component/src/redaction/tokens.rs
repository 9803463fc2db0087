//! Words of a text with their byte ranges, for the detectors that read spoken forms.

use super::is_word_char;

/// One word: a maximal run of letters, digits, `_` and apostrophes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub start: usize,
    pub end: usize,
    pub text: &'a str,
}

/// Splits `text` into words. Everything between two words is their separator, which
/// callers read as `&text[previous.end..next.start]`.
pub(super) fn words(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut current: Option<usize> = None;

    for (index, c) in text.char_indices() {
        let in_word = is_word_char(c) || c == '\'' || c == '\u{2019}';
        match (in_word, current) {
            (true, None) => current = Some(index),
            (false, Some(start)) => {
                tokens.push(trimmed(text, start, index));
                current = None;
            }
            _ => {}
        }
    }
    if let Some(start) = current {
        tokens.push(trimmed(text, start, text.len()));
    }

    tokens.retain(|token| !token.text.is_empty());
    tokens
}

/// Drops apostrophes at the ends of a word ("'five'" reads as "five").
fn trimmed(text: &str, start: usize, end: usize) -> Token<'_> {
    let word = &text[start..end];
    let inner = word.trim_start_matches(['\'', '\u{2019}']);
    let start = start + (word.len() - inner.len());
    let inner = inner.trim_end_matches(['\'', '\u{2019}']);
    Token {
        start,
        end: start + inner.len(),
        text: inner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_have_byte_ranges() {
        let text = "It's four-one, 'five' é2";

        let tokens = words(text);

        let texts: Vec<&str> = tokens.iter().map(|token| token.text).collect();
        assert_eq!(texts, ["It's", "four", "one", "five", "é2"]);
        assert_eq!(&text[tokens[3].start..tokens[3].end], "five");
        assert_eq!(&text[tokens[4].start..tokens[4].end], "é2");
    }
}
