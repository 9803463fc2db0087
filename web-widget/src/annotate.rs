//! Annotation logic that needs no browser: the time range a drag on the waveform
//! covers, the target a label is applied to, the label a key press picks, and the
//! text forms of label values. The components in `components/annotation_panel.rs`
//! and `components/waveform.rs` call these.

use callscope_api_types::{Annotation, ChannelLayout, Label, LabelKind, LabelValue, Schema, Target, TargetKind};

use crate::draw::TimeScale;
use crate::format;

/// Distance the pointer must move between press and release for the gesture to
/// count as a drag that selects a range, in CSS pixels. A shorter move is a click,
/// which seeks. A hand holding a mouse still moves it a pixel or two while clicking.
pub const DRAG_THRESHOLD_PX: f64 = 4.0;

/// Returns the time range between two horizontal positions on `scale`, earlier end
/// first and clamped to the view, or `None` when the two are less than
/// [`DRAG_THRESHOLD_PX`] apart or the range rounds to zero length.
pub fn range_from_drag(scale: &TimeScale, from_x: f64, to_x: f64) -> Option<(i64, i64)> {
    if (to_x - from_x).abs() < DRAG_THRESHOLD_PX {
        return None;
    }
    let (left, right) = if from_x <= to_x { (from_x, to_x) } else { (to_x, from_x) };
    let (start_ms, end_ms) = (scale.ms_of(left), scale.ms_of(right));
    (end_ms > start_ms).then_some((start_ms, end_ms))
}

/// Returns the target of a range selected on a waveform canvas that draws
/// `lane_channels`: a range on that channel when user and bot are on separate
/// channels and the canvas draws one of them, a time range otherwise. `None` for
/// `lane_channels` means the drag started outside every canvas.
pub fn range_target(layout: ChannelLayout, lane_channels: Option<&[u16]>, start_ms: i64, end_ms: i64) -> Target {
    match (layout, lane_channels) {
        (ChannelLayout::Separate { .. }, Some(&[channel])) => Target::ChannelRange { channel, start_ms, end_ms },
        _ => Target::TimeRange { start_ms, end_ms },
    }
}

/// Reason a label cannot be applied to the current selection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetMismatch {
    #[error("nothing is selected; drag on the waveform, pick an utterance in the transcript or choose \"Whole call\", then apply \"{label}\"")]
    NoSelection { label: String },

    #[error("\"{label}\" applies to {allowed}, not to {selected}; select one of those first")]
    WrongKind { label: String, allowed: String, selected: String },
}

/// Returns the target `label` gets when applied to `selection`. A range on one
/// channel becomes a plain time range for a label that allows time ranges but not
/// channel ranges. Every other selection must be a target kind the label lists.
pub fn target_for_label(label: &Label, selection: Option<&Target>) -> Result<Target, TargetMismatch> {
    let Some(selection) = selection else { return Err(TargetMismatch::NoSelection { label: label.name.clone() }) };
    let allows = |kind: TargetKind| label.targets.contains(&kind);

    if allows(selection.kind()) {
        return Ok(*selection);
    }
    if let Target::ChannelRange { start_ms, end_ms, .. } = *selection
        && allows(TargetKind::TimeRange)
    {
        return Ok(Target::TimeRange { start_ms, end_ms });
    }
    Err(TargetMismatch::WrongKind {
        label: label.name.clone(),
        allowed: label.targets.iter().map(|kind| target_kind_name(*kind)).collect::<Vec<_>>().join(" or "),
        selected: target_kind_name(selection.kind()).to_owned(),
    })
}

/// Returns the label whose shortcut is `key`, the `KeyboardEvent.key` of a key
/// press. An exact match wins; otherwise letters match regardless of case, so that
/// Caps Lock or Shift does not hide a shortcut.
pub fn label_for_key<'a>(schema: &'a Schema, key: &str) -> Option<&'a Label> {
    let labels = || schema.labels.iter();
    labels()
        .find(|label| label.shortcut.as_deref() == Some(key))
        .or_else(|| labels().find(|label| label.shortcut.as_deref().is_some_and(|shortcut| shortcut.eq_ignore_ascii_case(key))))
}

/// Name of a target kind in running text.
pub fn target_kind_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Call => "the whole call",
        TargetKind::Utterance => "an utterance",
        TargetKind::TimeRange => "a time range",
        TargetKind::ChannelRange => "a time range on one channel",
    }
}

/// Describes a target for the annotation list, e.g. `0:12.3–0:15.0 on the Bot lane`.
/// `channel_names` names each channel as its waveform lane does; a channel without a
/// name is given by number.
pub fn describe_target(target: &Target, channel_names: &[String]) -> String {
    match *target {
        Target::Call => String::from("Whole call"),
        Target::Utterance { index } => format!("Utterance {index}"),
        Target::TimeRange { start_ms, end_ms } => format!("{}–{}", format::clock(start_ms), format::clock(end_ms)),
        Target::ChannelRange { channel, start_ms, end_ms } => {
            let range = format!("{}–{}", format::clock(start_ms), format::clock(end_ms));
            match channel_names.get(usize::from(channel)) {
                Some(name) if !name.is_empty() => format!("{range} on the {name} lane"),
                _ => format!("{range} on channel {channel}"),
            }
        }
    }
}

/// Returns the time a target starts at, for ordering and seeking: `None` for the
/// whole call and for utterances, whose time the transcript holds.
pub fn target_start_ms(target: &Target) -> Option<i64> {
    match *target {
        Target::TimeRange { start_ms, .. } | Target::ChannelRange { start_ms, .. } => Some(start_ms),
        Target::Call | Target::Utterance { .. } => None,
    }
}

/// Shows a value as the annotation list and the bands print it.
pub fn value_text(value: &LabelValue) -> String {
    match value {
        LabelValue::Boolean(true) => String::from("yes"),
        LabelValue::Boolean(false) => String::from("no"),
        LabelValue::Numeric(number) => number.to_string(),
        LabelValue::Text(text) => text.clone(),
    }
}

/// Returns the text a value editor starts with for `value`.
pub fn value_input(value: &LabelValue) -> String {
    match value {
        LabelValue::Boolean(flag) => flag.to_string(),
        LabelValue::Numeric(number) => number.to_string(),
        LabelValue::Text(text) => text.clone(),
    }
}

/// Parses what the user entered for a label of `kind`, with a message naming the
/// value and what is accepted when it does not fit.
pub fn parse_value(kind: &LabelKind, input: &str) -> Result<LabelValue, String> {
    let trimmed = input.trim();
    match kind {
        LabelKind::Boolean => match trimmed {
            "true" | "yes" => Ok(LabelValue::Boolean(true)),
            "false" | "no" => Ok(LabelValue::Boolean(false)),
            other => Err(format!("\"{other}\" is not yes or no")),
        },
        LabelKind::Categorical { options } => {
            if options.iter().any(|option| option == trimmed) {
                Ok(LabelValue::Text(trimmed.to_owned()))
            } else {
                Err(format!("\"{trimmed}\" is not one of the options: {}", options.join(", ")))
            }
        }
        LabelKind::Numeric { min, max } => {
            let number: f64 = trimmed.parse().map_err(|_| format!("\"{trimmed}\" is not a number; enter one from {min} to {max}"))?;
            if number.is_finite() && (*min..=*max).contains(&number) {
                Ok(LabelValue::Numeric(number))
            } else {
                Err(format!("{number} is outside {min} to {max}; enter a number in that range"))
            }
        }
        LabelKind::FreeText if trimmed.is_empty() => Err(String::from("the text is empty; type the note, or press Cancel")),
        LabelKind::FreeText => Ok(LabelValue::Text(trimmed.to_owned())),
    }
}

/// An annotation on a time range, as a band on the waveform.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeBand {
    pub annotation_id: String,
    pub label_id: String,
    /// Label name and value, as the band prints them.
    pub text: String,
    /// Hover text: label, value, author and comment.
    pub title: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The channel of a channel range; `None` marks the range on every canvas.
    pub channel: Option<u16>,
    /// Written by the signed-in user.
    pub own: bool,
}

/// Returns a band for every annotation on a time range or a channel range, in
/// start order.
pub fn range_bands(annotations: &[Annotation], schema: &Schema, user: &str) -> Vec<RangeBand> {
    let mut bands: Vec<RangeBand> = annotations
        .iter()
        .filter_map(|annotation| {
            let (channel, start_ms, end_ms) = match annotation.input.target {
                Target::TimeRange { start_ms, end_ms } => (None, start_ms, end_ms),
                Target::ChannelRange { channel, start_ms, end_ms } => (Some(channel), start_ms, end_ms),
                Target::Call | Target::Utterance { .. } => return None,
            };
            Some(RangeBand {
                annotation_id: annotation.id.clone(),
                label_id: annotation.input.label_id.clone(),
                text: chip_text(annotation, schema),
                title: annotation_title(annotation, schema),
                start_ms,
                end_ms,
                channel,
                own: annotation.author == user,
            })
        })
        .collect();
    bands.sort_by_key(|band| (band.start_ms, band.end_ms));
    bands
}

/// Returns whether a band or selection on `channel` shows on the canvas drawing
/// `lane_channels`; a range without a channel shows on every canvas.
pub fn lane_shows(channel: Option<u16>, lane_channels: &[u16]) -> bool {
    channel.is_none_or(|channel| lane_channels.contains(&channel))
}

/// Name of the label `label_id` in `schema`, or the id itself for a label the
/// schema no longer has.
pub fn label_name<'a>(schema: &'a Schema, label_id: &'a str) -> &'a str {
    schema.labels.iter().find(|label| label.id == label_id).map_or(label_id, |label| label.name.as_str())
}

/// Short text of an annotation: the label name, and the value unless it is a
/// boolean `yes`, e.g. `Late answer` or `Wrong answer: off-topic`.
pub fn chip_text(annotation: &Annotation, schema: &Schema) -> String {
    let name = label_name(schema, &annotation.input.label_id);
    match &annotation.input.value {
        LabelValue::Boolean(true) => name.to_owned(),
        value => format!("{name}: {}", value_text(value)),
    }
}

/// Hover text of an annotation: label, value, author, version and comment.
pub fn annotation_title(annotation: &Annotation, schema: &Schema) -> String {
    let mut title = format!("{} by {} (version {})", chip_text(annotation, schema), annotation.author, annotation.version);
    if let Some(comment) = annotation.input.comment.as_deref().filter(|comment| !comment.is_empty()) {
        title.push_str(": ");
        title.push_str(comment);
    }
    title
}

#[cfg(test)]
mod tests {
    use callscope_api_types::AnnotationInput;

    use super::*;

    fn label(id: &str, kind: LabelKind, targets: &[TargetKind], shortcut: Option<&str>) -> Label {
        Label {
            id: id.to_owned(),
            name: id.replace('-', " "),
            kind,
            targets: targets.to_vec(),
            required: false,
            shortcut: shortcut.map(str::to_owned),
        }
    }

    fn schema() -> Schema {
        Schema {
            labels: vec![
                label("late-answer", LabelKind::Boolean, &[TargetKind::Utterance, TargetKind::TimeRange, TargetKind::ChannelRange], Some("l")),
                label("overlap", LabelKind::Boolean, &[TargetKind::TimeRange], Some("L")),
                label("outcome", LabelKind::Categorical { options: vec!["resolved".into(), "abandoned".into()] }, &[TargetKind::Call], Some("o")),
                label("satisfaction", LabelKind::Numeric { min: 1.0, max: 5.0 }, &[TargetKind::Call], Some("s")),
                label("note", LabelKind::FreeText, &[TargetKind::Call, TargetKind::Utterance], None),
            ],
        }
    }

    fn annotation(id: &str, author: &str, target: Target, value: LabelValue) -> Annotation {
        Annotation {
            id: id.to_owned(),
            call_id: String::from("c1"),
            version: 2,
            author: author.to_owned(),
            updated_at: String::from("2026-01-01T00:00:00Z"),
            input: AnnotationInput { label_id: String::from("late-answer"), target, value, comment: None },
        }
    }

    #[test]
    fn range_from_drag_left_to_right() {
        let scale = TimeScale::new(0, 10_000, 1_000.0);
        assert_eq!(range_from_drag(&scale, 100.0, 350.0), Some((1_000, 3_500)));
    }

    #[test]
    fn range_from_drag_right_to_left_is_ordered() {
        let scale = TimeScale::new(0, 10_000, 1_000.0);
        assert_eq!(range_from_drag(&scale, 350.0, 100.0), Some((1_000, 3_500)));
    }

    #[test]
    fn range_from_drag_in_zoomed_view() {
        let scale = TimeScale::new(20_000, 30_000, 500.0);
        assert_eq!(range_from_drag(&scale, 50.0, 100.0), Some((21_000, 22_000)));
    }

    #[test]
    fn range_from_drag_clamped_to_view() {
        let scale = TimeScale::new(0, 10_000, 1_000.0);
        assert_eq!(range_from_drag(&scale, -40.0, 1_200.0), Some((0, 10_000)));
    }

    #[test]
    fn range_from_drag_short_move_is_click() {
        let scale = TimeScale::new(0, 10_000, 1_000.0);
        assert_eq!(range_from_drag(&scale, 100.0, 103.5), None);
        assert_eq!(range_from_drag(&scale, 100.0, 104.0), Some((1_000, 1_040)));
    }

    #[test]
    fn range_from_drag_outside_view_is_empty() {
        let scale = TimeScale::new(0, 10_000, 1_000.0);
        assert_eq!(range_from_drag(&scale, 1_100.0, 1_300.0), None);
    }

    #[test]
    fn range_target_separate_lane_is_channel_range() {
        let layout = ChannelLayout::Separate { user_channel: 0, bot_channel: 1 };
        assert_eq!(range_target(layout, Some(&[1]), 10, 20), Target::ChannelRange { channel: 1, start_ms: 10, end_ms: 20 });
    }

    #[test]
    fn range_target_mixed_lane_is_time_range() {
        assert_eq!(range_target(ChannelLayout::Mixed, Some(&[0]), 10, 20), Target::TimeRange { start_ms: 10, end_ms: 20 });
        assert_eq!(range_target(ChannelLayout::Mixed, Some(&[0, 1]), 10, 20), Target::TimeRange { start_ms: 10, end_ms: 20 });
    }

    #[test]
    fn range_target_outside_lanes_is_time_range() {
        let layout = ChannelLayout::Separate { user_channel: 0, bot_channel: 1 };
        assert_eq!(range_target(layout, None, 10, 20), Target::TimeRange { start_ms: 10, end_ms: 20 });
    }

    #[test]
    fn target_for_label_keeps_allowed_selection() {
        let schema = schema();
        let selection = Target::ChannelRange { channel: 0, start_ms: 5, end_ms: 9 };
        assert_eq!(target_for_label(&schema.labels[0], Some(&selection)), Ok(selection));
    }

    #[test]
    fn target_for_label_channel_to_time_range() {
        let schema = schema();
        let selection = Target::ChannelRange { channel: 0, start_ms: 5, end_ms: 9 };
        assert_eq!(target_for_label(&schema.labels[1], Some(&selection)), Ok(Target::TimeRange { start_ms: 5, end_ms: 9 }));
    }

    #[test]
    fn target_for_label_no_channel_upgrade() {
        let only_channel = label("x", LabelKind::Boolean, &[TargetKind::ChannelRange], None);
        let error = target_for_label(&only_channel, Some(&Target::TimeRange { start_ms: 0, end_ms: 1 })).unwrap_err();
        assert_eq!(error.to_string(), "\"x\" applies to a time range on one channel, not to a time range; select one of those first");
    }

    #[test]
    fn target_for_label_wrong_kind_names_allowed_kinds() {
        let schema = schema();
        let error = target_for_label(&schema.labels[2], Some(&Target::Utterance { index: 3 })).unwrap_err();
        assert_eq!(error.to_string(), "\"outcome\" applies to the whole call, not to an utterance; select one of those first");
    }

    #[test]
    fn target_for_label_without_selection() {
        let schema = schema();
        assert_eq!(target_for_label(&schema.labels[2], None), Err(TargetMismatch::NoSelection { label: String::from("outcome") }));
    }

    #[test]
    fn label_for_key_exact_match_first() {
        let schema = schema();
        assert_eq!(label_for_key(&schema, "l").map(|l| l.id.as_str()), Some("late-answer"));
        assert_eq!(label_for_key(&schema, "L").map(|l| l.id.as_str()), Some("overlap"));
    }

    #[test]
    fn label_for_key_ignores_case_without_exact_match() {
        let schema = schema();
        assert_eq!(label_for_key(&schema, "O").map(|l| l.id.as_str()), Some("outcome"));
    }

    #[test]
    fn label_for_key_unknown_key() {
        let schema = schema();
        assert_eq!(label_for_key(&schema, "x"), None);
        assert_eq!(label_for_key(&schema, "Enter"), None);
    }

    #[test]
    fn parse_value_numeric_in_range() {
        let kind = LabelKind::Numeric { min: 1.0, max: 5.0 };
        assert_eq!(parse_value(&kind, " 4.5 "), Ok(LabelValue::Numeric(4.5)));
        assert_eq!(parse_value(&kind, "1"), Ok(LabelValue::Numeric(1.0)));
    }

    #[test]
    fn parse_value_numeric_out_of_range() {
        let kind = LabelKind::Numeric { min: 1.0, max: 5.0 };
        assert_eq!(parse_value(&kind, "6"), Err(String::from("6 is outside 1 to 5; enter a number in that range")));
        assert_eq!(parse_value(&kind, "NaN"), Err(String::from("NaN is outside 1 to 5; enter a number in that range")));
        assert_eq!(parse_value(&kind, "four"), Err(String::from("\"four\" is not a number; enter one from 1 to 5")));
    }

    #[test]
    fn parse_value_categorical_option() {
        let kind = LabelKind::Categorical { options: vec!["resolved".into(), "abandoned".into()] };
        assert_eq!(parse_value(&kind, "abandoned"), Ok(LabelValue::Text(String::from("abandoned"))));
        assert_eq!(parse_value(&kind, "lost"), Err(String::from("\"lost\" is not one of the options: resolved, abandoned")));
    }

    #[test]
    fn parse_value_boolean_and_text() {
        assert_eq!(parse_value(&LabelKind::Boolean, "no"), Ok(LabelValue::Boolean(false)));
        assert_eq!(parse_value(&LabelKind::FreeText, "  asked twice "), Ok(LabelValue::Text(String::from("asked twice"))));
        assert!(parse_value(&LabelKind::FreeText, "   ").is_err());
    }

    #[test]
    fn range_bands_only_ranges_in_start_order() {
        let schema = schema();
        let annotations = vec![
            annotation("a", "ann", Target::TimeRange { start_ms: 5_000, end_ms: 6_000 }, LabelValue::Boolean(true)),
            annotation("b", "rev", Target::Utterance { index: 2 }, LabelValue::Boolean(true)),
            annotation("c", "rev", Target::ChannelRange { channel: 1, start_ms: 1_000, end_ms: 2_000 }, LabelValue::Boolean(false)),
            annotation("d", "ann", Target::Call, LabelValue::Boolean(true)),
        ];
        let bands = range_bands(&annotations, &schema, "ann");
        let summary: Vec<(&str, Option<u16>, bool, &str)> =
            bands.iter().map(|band| (band.annotation_id.as_str(), band.channel, band.own, band.text.as_str())).collect();
        assert_eq!(summary, vec![("c", Some(1), false, "late answer: no"), ("a", None, true, "late answer")]);
    }

    #[test]
    fn lane_shows_channel_range_on_its_lane_only() {
        assert!(lane_shows(Some(1), &[1]));
        assert!(!lane_shows(Some(1), &[0]));
        assert!(lane_shows(None, &[0]));
        assert!(lane_shows(Some(1), &[0, 1]));
    }

    #[test]
    fn annotation_title_has_author_and_comment() {
        let schema = schema();
        let mut with_comment = annotation("a", "ann", Target::Call, LabelValue::Boolean(true));
        with_comment.input.comment = Some(String::from("bot waited 3 s"));
        assert_eq!(annotation_title(&with_comment, &schema), "late answer by ann (version 2): bot waited 3 s");
    }

    #[test]
    fn label_name_of_unknown_label_is_id() {
        assert_eq!(label_name(&schema(), "gone"), "gone");
    }

    #[test]
    fn describe_target_channel_range() {
        let range = Target::ChannelRange { channel: 1, start_ms: 12_300, end_ms: 15_000 };
        let names = [String::from("User"), String::from("Bot")];
        assert_eq!(describe_target(&range, &names), "0:12.3–0:15.0 on the Bot lane");
        assert_eq!(describe_target(&range, &names[..1]), "0:12.3–0:15.0 on channel 1");
        assert_eq!(describe_target(&Target::Utterance { index: 4 }, &names), "Utterance 4");
    }
}
