//! E-mail addresses, written (`jane.doe@example.com`) and spoken as a transcript
//! renders them ("jane dot doe at gmail dot com").

use callscope_api_types::PiiKind;

use super::Found;
use super::tokens::{Token, words};

/// Top-level domains a spoken address may end in. Spoken "at … dot …" phrases are
/// ambiguous, so only common endings count.
const SPOKEN_TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "io", "co", "uk", "de", "fr", "es", "it", "nl", "ca", "au",
    "us", "info", "biz", "me",
];

/// Mail providers whose name after "at" marks the phrase as an address.
const MAIL_PROVIDERS: &[&str] = &[
    "gmail",
    "googlemail",
    "yahoo",
    "hotmail",
    "outlook",
    "live",
    "msn",
    "icloud",
    "me",
    "aol",
    "proton",
    "protonmail",
    "gmx",
    "mail",
    "comcast",
    "verizon",
    "att",
];

/// Words that mark an address is being given ("my email is …").
/// "e-mail" splits into "e" and "mail".
const MAIL_CUES: &[&str] = &["email", "mail", "address"];

/// Words that end a sentence's subject or verb rather than start an address, so "look
/// at example dot com" keeps "look".
const NOT_A_LOCAL_PART: &[&str] = &[
    "i",
    "me",
    "us",
    "we",
    "you",
    "him",
    "her",
    "them",
    "it",
    "they",
    "here",
    "there",
    "is",
    "are",
    "was",
    "were",
    "be",
    "look",
    "looking",
    "visit",
    "online",
    "available",
    "call",
    "reach",
    "email",
    "mail",
    "address",
    "it's",
    "that's",
    "site",
    "website",
    "page",
    "live",
    "work",
    "works",
    "working",
    "based",
    "home",
    "office",
    "find",
    "found",
];

/// How far back, in bytes, a mail cue makes a spoken phrase an address.
const MAIL_CUE_WINDOW: usize = 80;

/// Appends the written addresses in `text` to `found`.
pub(super) fn find_written(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();

    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > 0 && is_local_byte(bytes[start - 1]) {
            start -= 1;
        }
        while start < at && bytes[start] == b'.' {
            start += 1;
        }

        let mut end = at + 1;
        while end < bytes.len() && is_domain_byte(bytes[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
            end -= 1;
        }

        if start < at && is_domain(&text[at + 1..end]) {
            found.push(Found {
                kind: PiiKind::Email,
                start,
                end,
            });
        }
    }
}

fn is_local_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-')
}

/// At least two non-empty labels, the last of two or more letters.
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let top = labels.last().expect("split returns at least one label");
    labels.len() >= 2
        && labels.iter().all(|label| !label.is_empty())
        && top.len() >= 2
        && top.bytes().all(|byte| byte.is_ascii_alphabetic())
}

/// Appends the spoken addresses in `text` to `found`: a local part ("jane", "jane dot
/// doe"), "at", a domain spoken or written with dots, and a common top-level domain.
/// The phrase counts when the domain is a mail provider, the local part has a spoken
/// dot, or a word such as "email" precedes it.
pub(super) fn find_spoken(text: &str, found: &mut Vec<Found>) {
    let tokens = words(text);

    for (at, token) in tokens.iter().enumerate() {
        if !token.text.eq_ignore_ascii_case("at") || at == 0 {
            continue;
        }
        let Some(domain) = spoken_domain(text, &tokens, at) else {
            continue;
        };
        let Some(local) = spoken_local_part(text, &tokens, at) else {
            continue;
        };

        let provider = MAIL_PROVIDERS.contains(&tokens[at + 1].text.to_lowercase().as_str());
        let dotted_local = local.dotted;
        let cued = has_mail_cue(&text[..tokens[local.first].start]);
        if provider || dotted_local || cued {
            found.push(Found {
                kind: PiiKind::Email,
                start: tokens[local.first].start,
                end: tokens[domain].end,
            });
        }
    }
}

struct LocalPart {
    first: usize,
    dotted: bool,
}

/// Walks back from "at" over `word (dot|underscore|dash word)*`.
fn spoken_local_part(text: &str, tokens: &[Token<'_>], at: usize) -> Option<LocalPart> {
    let mut first = at - 1;
    if !joined_by_spaces(text, &tokens[first], &tokens[at]) || !is_local_word(tokens[first].text) {
        return None;
    }

    let mut dotted = false;
    while first >= 2 {
        let joiner = tokens[first - 1].text.to_lowercase();
        let is_joiner = matches!(joiner.as_str(), "dot" | "underscore" | "dash" | "hyphen");
        let word = &tokens[first - 2];
        if !is_joiner
            || !joined_by_spaces(text, word, &tokens[first - 1])
            || !joined_by_spaces(text, &tokens[first - 1], &tokens[first])
            || !is_local_word(word.text)
        {
            break;
        }
        dotted = true;
        first -= 2;
    }

    Some(LocalPart { first, dotted })
}

/// Walks forward from "at" over `label (dot label)+` and returns the index of the last
/// label, which must be a common top-level domain. A written `.` counts as "dot".
fn spoken_domain(text: &str, tokens: &[Token<'_>], at: usize) -> Option<usize> {
    let mut last = at + 1;
    let label = tokens.get(last)?;
    if !joined_by_spaces(text, &tokens[at], label) || !is_label(label.text) {
        return None;
    }

    let mut labels = 1;
    loop {
        let current = &tokens[last];
        let Some(next) = tokens.get(last + 1) else {
            break;
        };
        let between = &text[current.end..next.start];
        if between == "." && is_label(next.text) {
            last += 1;
        } else if next.text.eq_ignore_ascii_case("dot")
            && joined_by_spaces(text, current, next)
            && let Some(after) = tokens.get(last + 2)
            && joined_by_spaces(text, next, after)
            && is_label(after.text)
        {
            last += 2;
        } else {
            break;
        }
        labels += 1;
    }

    let top = tokens[last].text.to_lowercase();
    (labels >= 2 && SPOKEN_TLDS.contains(&top.as_str())).then_some(last)
}

fn joined_by_spaces(text: &str, left: &Token<'_>, right: &Token<'_>) -> bool {
    let between = &text[left.end..right.start];
    !between.is_empty() && between.bytes().all(|byte| byte == b' ')
}

fn is_local_word(word: &str) -> bool {
    is_label(word) && !NOT_A_LOCAL_PART.contains(&word.to_lowercase().as_str())
}

fn is_label(word: &str) -> bool {
    word.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

fn has_mail_cue(before: &str) -> bool {
    let mut window_start = before.len().saturating_sub(MAIL_CUE_WINDOW);
    while !before.is_char_boundary(window_start) {
        window_start += 1;
    }
    let window = before[window_start..].to_lowercase();
    words(&window)
        .iter()
        .any(|token| MAIL_CUES.contains(&token.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        find_written(text, &mut found);
        found
            .iter()
            .map(|item| &text[item.start..item.end])
            .collect()
    }

    fn spoken(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        find_spoken(text, &mut found);
        found
            .iter()
            .map(|item| &text[item.start..item.end])
            .collect()
    }

    #[test]
    fn written_addresses() {
        assert_eq!(
            written("mail jane.doe+qa@mail.example.co.uk."),
            ["jane.doe+qa@mail.example.co.uk"]
        );
        assert_eq!(written("<a_b@example.io>"), ["a_b@example.io"]);
    }

    #[test]
    fn written_non_addresses() {
        assert_eq!(written("@handle"), Vec::<&str>::new());
        assert_eq!(written("meet @ 5"), Vec::<&str>::new());
        assert_eq!(written("user@localhost"), Vec::<&str>::new());
        assert_eq!(written("a@b.c1"), Vec::<&str>::new());
    }

    #[test]
    fn spoken_addresses() {
        assert_eq!(
            spoken("It's jane dot doe at example dot com."),
            ["jane dot doe at example dot com"]
        );
        assert_eq!(
            spoken("sure, dimitri at gmail dot com"),
            ["dimitri at gmail dot com"]
        );
        assert_eq!(
            spoken("my email is dimitri at contoso.com"),
            ["dimitri at contoso.com"]
        );
    }

    #[test]
    fn spoken_websites_stay() {
        assert_eq!(spoken("have a look at azure dot com"), Vec::<&str>::new());
        assert_eq!(
            spoken("we're available at contoso dot com"),
            Vec::<&str>::new()
        );
        assert_eq!(spoken("sales at contoso dot com"), Vec::<&str>::new());
        assert_eq!(spoken("at the end of the day"), Vec::<&str>::new());
    }
}
