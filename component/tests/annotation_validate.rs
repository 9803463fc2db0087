//! Checking annotations against the schema and the call: each rule rejects one bad
//! input with an error naming the field, the value and what is allowed.

use callscope_api_types::{AnnotationInput, LabelValue, Schema, Target};
use callscope_component::annotation::{
    AnnotationError, CallBounds, MAX_TEXT_CHARS, missing_required, parse_schema,
    validate_annotation,
};

fn schema() -> Schema {
    parse_schema(
        r#"{
          "labels": [
            {"id": "wrong-answer", "name": "Wrong answer", "kind": {"type": "boolean"},
             "targets": ["utterance", "time-range", "channel-range"], "required": true},
            {"id": "tone", "name": "Tone", "kind": {"type": "categorical", "options": ["calm", "rude"]},
             "targets": ["call"], "required": true},
            {"id": "score", "name": "Score", "kind": {"type": "numeric", "min": 1, "max": 5},
             "targets": ["call"]},
            {"id": "note", "name": "Note", "kind": {"type": "free-text"}, "targets": ["call"]}
          ]
        }"#,
    )
    .expect("the test schema is valid")
}

/// A 60 s stereo call with utterances 0 to 9.
fn bounds() -> CallBounds {
    CallBounds {
        duration_ms: 60_000,
        utterance_indices: (0..10).collect(),
        channels: 2,
    }
}

fn input(label_id: &str, target: Target, value: LabelValue) -> AnnotationInput {
    AnnotationInput {
        label_id: label_id.into(),
        target,
        value,
        comment: None,
    }
}

fn check(input: &AnnotationInput) -> Result<(), AnnotationError> {
    validate_annotation(&schema(), input, &bounds())
}

#[test]
fn valid_annotations_pass() {
    let cases = [
        input(
            "wrong-answer",
            Target::Utterance { index: 9 },
            LabelValue::Boolean(true),
        ),
        input(
            "wrong-answer",
            Target::TimeRange {
                start_ms: 0,
                end_ms: 60_000,
            },
            LabelValue::Boolean(false),
        ),
        input(
            "wrong-answer",
            Target::ChannelRange {
                channel: 1,
                start_ms: 100,
                end_ms: 200,
            },
            LabelValue::Boolean(true),
        ),
        input("tone", Target::Call, LabelValue::Text("rude".into())),
        input("score", Target::Call, LabelValue::Numeric(1.0)),
        input("score", Target::Call, LabelValue::Numeric(5.0)),
        input("note", Target::Call, LabelValue::Text("asked twice".into())),
    ];
    for case in cases {
        assert_eq!(check(&case), Ok(()), "{case:?}");
    }
}

#[test]
fn unknown_label_lists_labels() {
    let error = check(&input("rudeness", Target::Call, LabelValue::Boolean(true))).unwrap_err();

    assert_eq!(
        error.to_string(),
        "label_id: no label \"rudeness\" in the schema; use one of \"wrong-answer\", \"tone\", \"score\", \"note\""
    );
}

#[test]
fn target_kind_not_allowed() {
    let error = check(&input(
        "tone",
        Target::Utterance { index: 1 },
        LabelValue::Text("calm".into()),
    ))
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "target: label \"tone\" does not apply to utterance; it applies to call"
    );
}

#[test]
fn utterance_must_exist() {
    let error = check(&input(
        "wrong-answer",
        Target::Utterance { index: 10 },
        LabelValue::Boolean(true),
    ))
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "target: utterance 10 does not exist; the call has utterances 0 to 9"
    );
}

#[test]
fn utterance_gap_is_described() {
    let bounds = CallBounds {
        duration_ms: 1000,
        utterance_indices: vec![0, 2, 5],
        channels: 0,
    };
    let annotation = input(
        "wrong-answer",
        Target::Utterance { index: 1 },
        LabelValue::Boolean(true),
    );

    let error = validate_annotation(&schema(), &annotation, &bounds).unwrap_err();

    assert_eq!(
        error.to_string(),
        "target: utterance 1 does not exist; the call has 3 utterances between 0 and 5"
    );
}

#[test]
fn ranges_must_lie_in_call() {
    let cases = [(-1, 100), (100, 100), (200, 100), (59_000, 60_001)];
    for (start_ms, end_ms) in cases {
        let error = check(&input(
            "wrong-answer",
            Target::TimeRange { start_ms, end_ms },
            LabelValue::Boolean(true),
        ))
        .unwrap_err();

        assert_eq!(
            error,
            AnnotationError::InvalidRange {
                start_ms,
                end_ms,
                duration_ms: 60_000
            }
        );
    }
}

#[test]
fn range_message_names_bounds() {
    let error = check(&input(
        "wrong-answer",
        Target::TimeRange {
            start_ms: 500,
            end_ms: 61_000,
        },
        LabelValue::Boolean(true),
    ))
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "target: range 500..61000 ms is invalid; a range must start before it ends and lie within the call, 0..60000 ms"
    );
}

#[test]
fn channel_must_exist() {
    let target = Target::ChannelRange {
        channel: 2,
        start_ms: 0,
        end_ms: 100,
    };

    let error = check(&input("wrong-answer", target, LabelValue::Boolean(true))).unwrap_err();

    assert_eq!(
        error.to_string(),
        "target: channel 2 does not exist; the recording has channels 0 to 1"
    );
}

#[test]
fn channel_range_needs_recording() {
    let bounds = CallBounds {
        duration_ms: 60_000,
        utterance_indices: vec![],
        channels: 0,
    };
    let target = Target::ChannelRange {
        channel: 0,
        start_ms: 0,
        end_ms: 100,
    };

    let error = validate_annotation(
        &schema(),
        &input("wrong-answer", target, LabelValue::Boolean(true)),
        &bounds,
    )
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "target: channel 0 does not exist; the call has no recording, so use a time range instead"
    );
}

#[test]
fn channel_range_checks_times() {
    let target = Target::ChannelRange {
        channel: 0,
        start_ms: 300,
        end_ms: 200,
    };

    let error = check(&input("wrong-answer", target, LabelValue::Boolean(true))).unwrap_err();

    assert_eq!(
        error,
        AnnotationError::InvalidRange {
            start_ms: 300,
            end_ms: 200,
            duration_ms: 60_000
        }
    );
}

#[test]
fn boolean_needs_boolean() {
    let error = check(&input(
        "wrong-answer",
        Target::Utterance { index: 0 },
        LabelValue::Text("yes".into()),
    ))
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "value: \"yes\" is invalid for label \"wrong-answer\"; the label is boolean, so send true or false"
    );
}

#[test]
fn categorical_needs_listed_option() {
    let error = check(&input(
        "tone",
        Target::Call,
        LabelValue::Text("Rude".into()),
    ))
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "value: \"Rude\" is invalid for label \"tone\"; the label is categorical, so send one of \"calm\", \"rude\""
    );
}

#[test]
fn numeric_must_be_in_range() {
    let error = check(&input("score", Target::Call, LabelValue::Numeric(5.5))).unwrap_err();

    assert_eq!(
        error.to_string(),
        "value: 5.5 is invalid for label \"score\"; the label is numeric, so send a number from 1 to 5"
    );
}

#[test]
fn numeric_must_be_finite() {
    let error = check(&input("score", Target::Call, LabelValue::Numeric(f64::NAN))).unwrap_err();

    assert!(
        matches!(error, AnnotationError::InvalidValue { .. }),
        "{error:?}"
    );
}

#[test]
fn numeric_rejects_text() {
    let error = check(&input("score", Target::Call, LabelValue::Text("3".into()))).unwrap_err();

    assert!(
        matches!(error, AnnotationError::InvalidValue { .. }),
        "{error:?}"
    );
}

#[test]
fn free_text_must_not_be_blank() {
    let error = check(&input("note", Target::Call, LabelValue::Text("  ".into()))).unwrap_err();

    assert_eq!(
        error.to_string(),
        "value: \"  \" is invalid for label \"note\"; the text is empty, so write some text or delete the annotation"
    );
}

#[test]
fn free_text_length_counts_characters() {
    // 2000 two-byte characters are 4000 bytes but within the limit.
    let at_limit = "é".repeat(MAX_TEXT_CHARS);
    let over_limit = "é".repeat(MAX_TEXT_CHARS + 1);

    assert_eq!(
        check(&input("note", Target::Call, LabelValue::Text(at_limit))),
        Ok(())
    );
    let error = check(&input("note", Target::Call, LabelValue::Text(over_limit))).unwrap_err();
    assert!(
        error.to_string().contains("the text has 2001 characters"),
        "{error}"
    );
}

#[test]
fn comment_length_is_limited() {
    let mut annotation = input("tone", Target::Call, LabelValue::Text("calm".into()));
    annotation.comment = Some("x".repeat(MAX_TEXT_CHARS + 1));

    let error = check(&annotation).unwrap_err();

    assert_eq!(
        error.to_string(),
        "comment: 2001 characters is too long; shorten it to at most 2000"
    );
}

#[test]
fn missing_required_lists_unset_labels() {
    let annotations = [input("score", Target::Call, LabelValue::Numeric(2.0))];

    assert_eq!(
        missing_required(&schema(), &annotations),
        ["wrong-answer", "tone"]
    );
}

#[test]
fn missing_required_counts_false_as_set() {
    let annotations = [
        input(
            "wrong-answer",
            Target::Utterance { index: 0 },
            LabelValue::Boolean(false),
        ),
        input("tone", Target::Call, LabelValue::Text("calm".into())),
    ];

    assert!(missing_required(&schema(), &annotations).is_empty());
}
