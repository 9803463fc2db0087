//! Parsing and checking of annotation schemas: a valid schema parses into the shared
//! types, and an invalid one lists every problem, each naming the label and field.

use callscope_api_types::{LabelKind, TargetKind};
use callscope_component::annotation::{SchemaError, parse_schema};

const VALID: &str = r#"{
  "labels": [
    {"id": "wrong-answer", "name": "Wrong answer", "kind": {"type": "boolean"},
     "targets": ["utterance", "time-range"], "required": true, "shortcut": "w"},
    {"id": "tone", "name": "Tone", "kind": {"type": "categorical", "options": ["calm", "rude"]},
     "targets": ["call"], "shortcut": "t"},
    {"id": "latency-score", "name": "Latency score", "kind": {"type": "numeric", "min": 1, "max": 5},
     "targets": ["channel-range"]},
    {"id": "note", "name": "Note", "kind": {"type": "free-text"}, "targets": ["call", "utterance"]}
  ]
}"#;

fn problems(json: &str) -> Vec<String> {
    parse_schema(json)
        .expect_err("the schema is invalid")
        .problems
}

#[test]
fn valid_schema_parses() {
    let schema = parse_schema(VALID).unwrap();

    assert_eq!(schema.labels.len(), 4);
    assert_eq!(schema.labels[0].id, "wrong-answer");
    assert!(schema.labels[0].required);
    assert_eq!(schema.labels[0].shortcut.as_deref(), Some("w"));
    assert_eq!(
        schema.labels[0].targets,
        [TargetKind::Utterance, TargetKind::TimeRange]
    );
    assert_eq!(
        schema.labels[1].kind,
        LabelKind::Categorical {
            options: vec!["calm".into(), "rude".into()]
        }
    );
    assert!(!schema.labels[1].required);
    assert_eq!(
        schema.labels[2].kind,
        LabelKind::Numeric { min: 1.0, max: 5.0 }
    );
    assert_eq!(schema.labels[2].shortcut, None);
    assert_eq!(schema.labels[3].kind, LabelKind::FreeText);
}

#[test]
fn empty_label_list_is_valid() {
    assert!(parse_schema(r#"{"labels": []}"#).unwrap().labels.is_empty());
}

#[test]
fn every_problem_is_listed() {
    let json = r#"{
      "labels": [
        {"id": "Bad_ID", "name": " ", "kind": {"type": "boolean"}, "targets": [], "shortcut": "ab"},
        {"id": "tone", "name": "Tone", "kind": {"type": "categorical", "options": []}, "targets": ["call"], "shortcut": "t"},
        {"id": "tone", "name": "Tone again", "kind": {"type": "categorical", "options": ["a", "a", ""]},
         "targets": ["call", "call"], "shortcut": "t"},
        {"id": "score", "name": "Score", "kind": {"type": "numeric", "min": 5, "max": 5}, "targets": ["call"],
         "shortcut": " "},
        {"id": "weird", "name": "Weird", "kind": {"type": "colour"}, "targets": ["call"]},
        {"id": "typo", "name": "Typo", "kind": {"type": "boolean"}, "targets": ["call"], "shorcut": "y"}
      ]
    }"#;

    assert_eq!(
        problems(json),
        [
            "label \"weird\": unknown variant `colour`, expected one of `boolean`, `categorical`, `numeric`, `free-text`",
            "label \"typo\": unknown field \"shorcut\"; a label has id, name, kind, targets, required, shortcut",
            "label \"Bad_ID\": id \"Bad_ID\" is invalid; use lower-case letters, digits and '-' only",
            "label \"Bad_ID\": name is empty; give the label a name to show",
            "label \"Bad_ID\": targets are empty; list at least one of call, utterance, time-range, channel-range",
            "label \"Bad_ID\": shortcut \"ab\" is invalid; use one printable character such as \"b\"",
            "label \"tone\": options are empty; a categorical label needs at least one option",
            "label \"tone\": id \"tone\" is also used by the label at position 1; give each label its own id",
            "label \"tone\": option \"a\" is listed twice; list each option once",
            "label \"tone\": options contain an empty option; give every option a name",
            "label \"tone\": target \"call\" is listed twice; list each target once",
            "label \"tone\": shortcut \"t\" is also the shortcut of label \"tone\"; give each label its own key",
            "label \"score\": range min 5 is not below max 5; make min smaller than max",
            "label \"score\": shortcut \" \" is invalid; use one printable character such as \"b\"",
        ]
    );
}

#[test]
fn missing_field_names_label() {
    let json = r#"{"labels": [{"id": "tone", "kind": {"type": "boolean"}, "targets": ["call"]}]}"#;

    assert_eq!(problems(json), ["label \"tone\": missing field `name`"]);
}

#[test]
fn label_without_id_is_named_by_position() {
    let json =
        r#"{"labels": [{"name": "Tone", "kind": {"type": "boolean"}, "targets": ["call"]}]}"#;

    assert_eq!(problems(json), ["label at position 0: missing field `id`"]);
}

#[test]
fn unknown_target_is_reported() {
    let json = r#"{"labels": [{"id": "a", "name": "A", "kind": {"type": "boolean"}, "targets": ["word"]}]}"#;

    let problems = problems(json);

    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("label \"a\": unknown variant `word`"),
        "{}",
        problems[0]
    );
}

#[test]
fn control_character_shortcut_is_invalid() {
    let json = r#"{"labels": [{"id": "a", "name": "A", "kind": {"type": "boolean"}, "targets": ["call"], "shortcut": "\u0007"}]}"#;

    assert_eq!(
        problems(json),
        ["label \"a\": shortcut \"\\u{7}\" is invalid; use one printable character such as \"b\""]
    );
}

#[test]
fn unknown_top_level_key_is_reported() {
    assert_eq!(
        problems(r#"{"labels": [], "lables": []}"#),
        ["unknown key \"lables\" at the top level; a schema has only \"labels\""]
    );
}

#[test]
fn document_shape_errors() {
    assert_eq!(
        problems("[]"),
        ["expected a JSON object with a \"labels\" list, found a list"]
    );
    assert_eq!(
        problems("{}"),
        ["missing \"labels\": give a list of labels, possibly empty"]
    );
    assert_eq!(
        problems(r#"{"labels": {}}"#),
        ["\"labels\" must be a list of labels, found an object"]
    );
}

#[test]
fn invalid_json_is_one_problem() {
    let problems = problems("{\"labels\": [");

    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("not valid JSON: "),
        "{}",
        problems[0]
    );
}

#[test]
fn error_display_joins_problems() {
    let error = SchemaError {
        problems: vec!["first".into(), "second".into()],
    };

    assert_eq!(
        error.to_string(),
        "invalid annotation schema: first; second"
    );
}
