//! Parsing and checking of the annotation schema from configuration.

use std::collections::HashMap;

use callscope_api_types::{Label, LabelKind, Schema};
use serde_json::Value;

/// Keys a label object may have; any other key is reported, because serde would
/// silently drop a misspelt `shortcut` or `required`.
const LABEL_KEYS: [&str; 6] = ["id", "name", "kind", "targets", "required", "shortcut"];

/// Error returned when a schema is invalid: every problem found, each naming the label
/// and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid annotation schema: {}", .problems.join("; "))]
pub struct SchemaError {
    pub problems: Vec<String>,
}

/// Parses a schema from JSON (`{"labels": [...]}`, each label as
/// [`Label`] serialises) and checks it with [`check_schema`].
pub fn parse_schema(json: &str) -> Result<Schema, SchemaError> {
    let fail = |problem: String| SchemaError {
        problems: vec![problem],
    };

    let document: Value =
        serde_json::from_str(json).map_err(|error| fail(format!("not valid JSON: {error}")))?;
    let Value::Object(mut root) = document else {
        let found = json_type(&document);
        return Err(fail(format!(
            "expected a JSON object with a \"labels\" list, found {found}"
        )));
    };

    let mut problems = Vec::new();
    let labels_value = root.remove("labels");
    for key in root.keys() {
        problems.push(format!(
            "unknown key \"{key}\" at the top level; a schema has only \"labels\""
        ));
    }
    let entries = match labels_value {
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            let found = json_type(&other);
            return Err(fail(format!(
                "\"labels\" must be a list of labels, found {found}"
            )));
        }
        None => {
            return Err(fail(
                "missing \"labels\": give a list of labels, possibly empty".into(),
            ));
        }
    };

    let mut labels = Vec::with_capacity(entries.len());
    for (position, entry) in entries.into_iter().enumerate() {
        let who = match entry.get("id").and_then(Value::as_str) {
            Some(id) => format!("label \"{id}\""),
            None => format!("label at position {position}"),
        };
        if let Value::Object(fields) = &entry {
            for key in fields
                .keys()
                .filter(|key| !LABEL_KEYS.contains(&key.as_str()))
            {
                problems.push(format!(
                    "{who}: unknown field \"{key}\"; a label has {}",
                    LABEL_KEYS.join(", ")
                ));
            }
        }
        match serde_json::from_value::<Label>(entry) {
            Ok(label) => labels.push(label),
            Err(error) => problems.push(format!("{who}: {error}")),
        }
    }

    let schema = Schema { labels };
    problems.extend(check_schema(&schema));
    if problems.is_empty() {
        Ok(schema)
    } else {
        Err(SchemaError { problems })
    }
}

/// Lists every problem of a schema. It checks that ids are `[a-z0-9-]+` and unique,
/// names are not empty, and categorical labels have options, none empty or repeated.
/// Numeric ranges must be finite with `min` below `max`. Targets must be listed, each
/// once, and a shortcut must be one printable character used by no other label.
pub fn check_schema(schema: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut shortcuts: HashMap<&str, &str> = HashMap::new();

    for (position, label) in schema.labels.iter().enumerate() {
        let who = if label.id.is_empty() {
            format!("label at position {position}")
        } else {
            format!("label \"{}\"", label.id)
        };

        if !is_valid_id(&label.id) {
            problems.push(format!(
                "{who}: id \"{}\" is invalid; use lower-case letters, digits and '-' only",
                label.id
            ));
        }
        if let Some(first) = ids.insert(&label.id, position) {
            problems.push(format!(
                "{who}: id \"{}\" is also used by the label at position {first}; give each label its own id",
                label.id
            ));
        }
        if label.name.trim().is_empty() {
            problems.push(format!(
                "{who}: name is empty; give the label a name to show"
            ));
        }

        check_kind(&who, &label.kind, &mut problems);
        check_targets(&who, label, &mut problems);

        if let Some(shortcut) = &label.shortcut {
            if !is_printable_character(shortcut) {
                problems.push(format!(
                    "{who}: shortcut \"{}\" is invalid; use one printable character such as \"b\"",
                    shortcut.escape_debug()
                ));
            } else if let Some(other) = shortcuts.insert(shortcut, &label.id) {
                problems.push(format!(
                    "{who}: shortcut \"{shortcut}\" is also the shortcut of label \"{other}\"; give each label its own key"
                ));
            }
        }
    }

    problems
}

fn check_kind(who: &str, kind: &LabelKind, problems: &mut Vec<String>) {
    match kind {
        LabelKind::Categorical { options } => {
            if options.is_empty() {
                problems.push(format!(
                    "{who}: options are empty; a categorical label needs at least one option"
                ));
            }
            let mut seen = Vec::with_capacity(options.len());
            for option in options {
                if option.trim().is_empty() {
                    problems.push(format!(
                        "{who}: options contain an empty option; give every option a name"
                    ));
                } else if seen.contains(&option) {
                    problems.push(format!(
                        "{who}: option \"{option}\" is listed twice; list each option once"
                    ));
                }
                seen.push(option);
            }
        }
        LabelKind::Numeric { min, max } => {
            if !min.is_finite() || !max.is_finite() {
                problems.push(format!(
                    "{who}: range {min}..{max} is not finite; give finite numbers"
                ));
            } else if min >= max {
                problems.push(format!(
                    "{who}: range min {min} is not below max {max}; make min smaller than max"
                ));
            }
        }
        LabelKind::Boolean | LabelKind::FreeText => {}
    }
}

fn check_targets(who: &str, label: &Label, problems: &mut Vec<String>) {
    if label.targets.is_empty() {
        problems.push(format!(
            "{who}: targets are empty; list at least one of call, utterance, time-range, channel-range"
        ));
    }
    for (position, target) in label.targets.iter().enumerate() {
        if label.targets[..position].contains(target) {
            let name = serde_json::to_string(target).expect("a target kind serialises");
            problems.push(format!(
                "{who}: target {name} is listed twice; list each target once"
            ));
        }
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

/// Checks for one character that shows a glyph: not a control character and not
/// whitespace.
fn is_printable_character(key: &str) -> bool {
    let mut characters = key.chars();
    match (characters.next(), characters.next()) {
        (Some(c), None) => !c.is_control() && !c.is_whitespace(),
        _ => false,
    }
}
