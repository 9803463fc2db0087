//! Checking one annotation against the schema and the call it is made on.

use callscope_api_types::{
    AnnotationInput, Label, LabelKind, LabelValue, Schema, Target, TargetKind,
};

/// Maximum characters of a free-text value or a comment: a paragraph of review
/// notes, short enough to show in the transcript margin and to keep exports small.
pub const MAX_TEXT_CHARS: usize = 2000;

/// Facts of the call that an annotation is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallBounds {
    pub duration_ms: i64,
    pub utterance_indices: Vec<u32>,
    /// Channels of the recording; 0 when the call has no recording.
    pub channels: u16,
}

/// Error returned when an annotation does not fit the schema or the call. Each message
/// starts with the field at fault (`label_id`, `target`, `value`, `comment`), then
/// names the value and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnnotationError {
    #[error("label_id: no label \"{label_id}\" in the schema; use one of {known}")]
    UnknownLabel { label_id: String, known: String },
    #[error("target: label \"{label_id}\" does not apply to {target}; it applies to {allowed}")]
    TargetNotAllowed {
        label_id: String,
        target: String,
        allowed: String,
    },
    #[error("target: utterance {index} does not exist; {available}")]
    UtteranceNotFound { index: u32, available: String },
    #[error(
        "target: range {start_ms}..{end_ms} ms is invalid; a range must start before it ends \
         and lie within the call, 0..{duration_ms} ms"
    )]
    InvalidRange {
        start_ms: i64,
        end_ms: i64,
        duration_ms: i64,
    },
    #[error("target: channel {channel} does not exist; {available}")]
    ChannelNotFound { channel: u16, available: String },
    #[error("value: {value} is invalid for label \"{label_id}\"; {allowed}")]
    InvalidValue {
        label_id: String,
        value: String,
        allowed: String,
    },
    #[error("comment: {chars} characters is too long; shorten it to at most {MAX_TEXT_CHARS}")]
    CommentTooLong { chars: usize },
}

/// Checks that the label exists, applies to the target, that the target lies within
/// the call, that the value fits the label, and that the comment is not too long.
pub fn validate_annotation(
    schema: &Schema,
    input: &AnnotationInput,
    bounds: &CallBounds,
) -> Result<(), AnnotationError> {
    let label = schema
        .labels
        .iter()
        .find(|label| label.id == input.label_id)
        .ok_or_else(|| AnnotationError::UnknownLabel {
            label_id: input.label_id.clone(),
            known: known_labels(schema),
        })?;

    check_target(label, &input.target, bounds)?;
    check_value(label, &input.value)?;

    if let Some(comment) = &input.comment {
        let chars = comment.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(AnnotationError::CommentTooLong { chars });
        }
    }
    Ok(())
}

/// Returns the ids of required labels that none of `annotations` sets, in schema order.
pub fn missing_required(schema: &Schema, annotations: &[AnnotationInput]) -> Vec<String> {
    schema
        .labels
        .iter()
        .filter(|label| label.required)
        .filter(|label| {
            !annotations
                .iter()
                .any(|annotation| annotation.label_id == label.id)
        })
        .map(|label| label.id.clone())
        .collect()
}

fn check_target(
    label: &Label,
    target: &Target,
    bounds: &CallBounds,
) -> Result<(), AnnotationError> {
    let kind = target.kind();
    if !label.targets.contains(&kind) {
        return Err(AnnotationError::TargetNotAllowed {
            label_id: label.id.clone(),
            target: target_name(kind).to_string(),
            allowed: label
                .targets
                .iter()
                .map(|kind| target_name(*kind))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }

    match *target {
        Target::Call => Ok(()),
        Target::Utterance { index } => {
            if bounds.utterance_indices.contains(&index) {
                Ok(())
            } else {
                Err(AnnotationError::UtteranceNotFound {
                    index,
                    available: describe_utterances(bounds),
                })
            }
        }
        Target::TimeRange { start_ms, end_ms } => check_range(start_ms, end_ms, bounds),
        Target::ChannelRange {
            channel,
            start_ms,
            end_ms,
        } => {
            if channel >= bounds.channels {
                let available = match bounds.channels {
                    0 => "the call has no recording, so use a time range instead".to_string(),
                    1 => "the recording has one channel, 0".to_string(),
                    channels => format!("the recording has channels 0 to {}", channels - 1),
                };
                return Err(AnnotationError::ChannelNotFound { channel, available });
            }
            check_range(start_ms, end_ms, bounds)
        }
    }
}

fn check_range(start_ms: i64, end_ms: i64, bounds: &CallBounds) -> Result<(), AnnotationError> {
    if 0 <= start_ms && start_ms < end_ms && end_ms <= bounds.duration_ms {
        Ok(())
    } else {
        Err(AnnotationError::InvalidRange {
            start_ms,
            end_ms,
            duration_ms: bounds.duration_ms,
        })
    }
}

fn check_value(label: &Label, value: &LabelValue) -> Result<(), AnnotationError> {
    let invalid = |allowed: String| AnnotationError::InvalidValue {
        label_id: label.id.clone(),
        value: serde_json::to_string(value).expect("a label value serialises"),
        allowed,
    };

    match (&label.kind, value) {
        (LabelKind::Boolean, LabelValue::Boolean(_)) => Ok(()),
        (LabelKind::Boolean, _) => Err(invalid(
            "the label is boolean, so send true or false".into(),
        )),

        (LabelKind::Categorical { options }, LabelValue::Text(option))
            if options.contains(option) =>
        {
            Ok(())
        }
        (LabelKind::Categorical { options }, _) => {
            let quoted: Vec<String> = options
                .iter()
                .map(|option| format!("\"{option}\""))
                .collect();
            Err(invalid(format!(
                "the label is categorical, so send one of {}",
                quoted.join(", ")
            )))
        }

        (LabelKind::Numeric { min, max }, LabelValue::Numeric(number))
            if number.is_finite() && min <= number && number <= max =>
        {
            Ok(())
        }
        (LabelKind::Numeric { min, max }, _) => Err(invalid(format!(
            "the label is numeric, so send a number from {min} to {max}"
        ))),

        (LabelKind::FreeText, LabelValue::Text(text)) => {
            let chars = text.chars().count();
            if text.trim().is_empty() {
                Err(invalid(
                    "the text is empty, so write some text or delete the annotation".into(),
                ))
            } else if chars > MAX_TEXT_CHARS {
                Err(invalid(format!(
                    "the text has {chars} characters, so shorten it to at most {MAX_TEXT_CHARS}"
                )))
            } else {
                Ok(())
            }
        }
        (LabelKind::FreeText, _) => Err(invalid("the label is free text, so send a string".into())),
    }
}

fn target_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Call => "call",
        TargetKind::Utterance => "utterance",
        TargetKind::TimeRange => "time-range",
        TargetKind::ChannelRange => "channel-range",
    }
}

fn known_labels(schema: &Schema) -> String {
    if schema.labels.is_empty() {
        return "none: the schema has no labels".to_string();
    }
    schema
        .labels
        .iter()
        .map(|label| format!("\"{}\"", label.id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_utterances(bounds: &CallBounds) -> String {
    let indices = &bounds.utterance_indices;
    let (Some(first), Some(last)) = (indices.iter().min(), indices.iter().max()) else {
        return "the call has no utterances".to_string();
    };
    let contiguous = usize::try_from(last - first).is_ok_and(|span| span + 1 == indices.len());
    if contiguous {
        format!("the call has utterances {first} to {last}")
    } else {
        format!(
            "the call has {} utterances between {first} and {last}",
            indices.len()
        )
    }
}
