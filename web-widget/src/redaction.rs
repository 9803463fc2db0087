//! Redaction markers in text the host redacted, such as `[phone]`, found so the
//! widget can show them apart from what the speaker said.

use callscope_api_types::PiiKind;

/// Every kind of personal data the host redacts.
const KINDS: [PiiKind; 4] = [PiiKind::Phone, PiiKind::Email, PiiKind::PaymentCard, PiiKind::NationalId];

/// A piece of redacted text: words as spoken, or a marker that replaced personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Marker(PiiKind),
}

/// Splits `text` at every redaction marker, keeping the text between them.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some((at, kind)) = next_marker(rest) {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        pieces.push(Piece::Marker(kind));
        rest = &rest[at + kind.marker().len()..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// Returns the byte offset and kind of the first marker in `text`.
fn next_marker(text: &str) -> Option<(usize, PiiKind)> {
    KINDS.iter().filter_map(|&kind| text.find(kind.marker()).map(|at| (at, kind))).min_by_key(|&(at, _)| at)
}

/// Name of a kind in the marker's hover text, e.g. `payment card`.
pub fn kind_name(kind: PiiKind) -> &'static str {
    match kind {
        PiiKind::Phone => "phone",
        PiiKind::Email => "email",
        PiiKind::PaymentCard => "payment card",
        PiiKind::NationalId => "national id",
    }
}

/// Class of a kind's marker pill.
pub fn kind_key(kind: PiiKind) -> &'static str {
    let marker = kind.marker();
    &marker[1..marker.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_markers_from_text() {
        assert_eq!(pieces("call me on [phone] or at [email]."), vec![
            Piece::Text("call me on "),
            Piece::Marker(PiiKind::Phone),
            Piece::Text(" or at "),
            Piece::Marker(PiiKind::Email),
            Piece::Text("."),
        ]);
    }

    #[test]
    fn pieces_adjacent_markers() {
        assert_eq!(pieces("[payment-card][national-id]"), vec![Piece::Marker(PiiKind::PaymentCard), Piece::Marker(PiiKind::NationalId)]);
    }

    #[test]
    fn pieces_plain_text_and_lookalikes_kept() {
        assert_eq!(pieces("press [1] now"), vec![Piece::Text("press [1] now")]);
        assert_eq!(pieces(""), Vec::<Piece>::new());
    }

    #[test]
    fn kind_key_is_marker_without_brackets() {
        assert_eq!(kind_key(PiiKind::PaymentCard), "payment-card");
        assert_eq!(kind_name(PiiKind::NationalId), "national id");
    }
}
