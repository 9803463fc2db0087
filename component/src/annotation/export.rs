//! Export of annotated calls as JSONL or CSV.

use callscope_api_types::Target;
use serde::Serialize;

use crate::redaction::redact_text;

/// One exported line: an utterance, a range or the call, with its labels and text.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub call_id: String,
    pub target: Target,
    pub speaker: Option<String>,
    pub text: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Label id and value as text, for every annotation on this target.
    pub labels: Vec<(String, String)>,
    pub comments: Vec<String>,
    pub annotators: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line, each line ending in `\n`.
    Jsonl,
    /// RFC 4180: a header row, fields quoted when needed, lines ending in CRLF.
    Csv,
}

/// Column names of the CSV export, in order.
pub const CSV_COLUMNS: [&str; 11] = [
    "call_id",
    "target",
    "utterance_index",
    "channel",
    "speaker",
    "start_ms",
    "end_ms",
    "text",
    "labels",
    "comments",
    "annotators",
];

/// Serialises `rows` in `format`. With `redact`, personal data is replaced by markers
/// in the text, the comments and the label values (free-text labels can hold it too).
///
/// In CSV, the labels are joined as `id=value` with `;`, and comments and annotators
/// with `;`. A `;` or `\` inside a value is escaped with `\`. A text cell that starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so that a
/// spreadsheet shows it as text instead of running it as a formula.
pub fn export_rows(rows: &[ExportRow], format: ExportFormat, redact: bool) -> String {
    let rows: Vec<ExportRow> = if redact {
        rows.iter().map(redacted).collect()
    } else {
        rows.to_vec()
    };
    match format {
        ExportFormat::Jsonl => to_jsonl(&rows),
        ExportFormat::Csv => to_csv(&rows),
    }
}

fn redacted(row: &ExportRow) -> ExportRow {
    let redact = |text: &String| redact_text(text).text;
    ExportRow {
        text: row.text.as_ref().map(redact),
        labels: row
            .labels
            .iter()
            .map(|(id, value)| (id.clone(), redact(value)))
            .collect(),
        comments: row.comments.iter().map(redact).collect(),
        ..row.clone()
    }
}

/// One JSONL line. `target` keeps the tagged form of the API (`{"type": "utterance", "index": 3}`).
#[derive(Serialize)]
struct JsonlRow<'a> {
    call_id: &'a str,
    target: &'a Target,
    speaker: Option<&'a str>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    text: Option<&'a str>,
    labels: Vec<JsonlLabel<'a>>,
    comments: &'a [String],
    annotators: &'a [String],
}

#[derive(Serialize)]
struct JsonlLabel<'a> {
    label_id: &'a str,
    value: &'a str,
}

fn to_jsonl(rows: &[ExportRow]) -> String {
    let mut output = String::new();
    for row in rows {
        let line = JsonlRow {
            call_id: &row.call_id,
            target: &row.target,
            speaker: row.speaker.as_deref(),
            start_ms: row.start_ms,
            end_ms: row.end_ms,
            text: row.text.as_deref(),
            labels: row
                .labels
                .iter()
                .map(|(label_id, value)| JsonlLabel { label_id, value })
                .collect(),
            comments: &row.comments,
            annotators: &row.annotators,
        };
        output.push_str(&serde_json::to_string(&line).expect("an export row serialises"));
        output.push('\n');
    }
    output
}

fn to_csv(rows: &[ExportRow]) -> String {
    let mut output = String::new();
    write_record(&mut output, CSV_COLUMNS.iter().map(|name| name.to_string()));

    for row in rows {
        let (target, utterance_index, channel) = match row.target {
            Target::Call => ("call", None, None),
            Target::Utterance { index } => ("utterance", Some(index), None),
            Target::TimeRange { .. } => ("time-range", None, None),
            Target::ChannelRange { channel, .. } => ("channel-range", None, Some(channel)),
        };
        let labels = row
            .labels
            .iter()
            .map(|(id, value)| format!("{id}={}", escape_list_item(value)));

        write_record(
            &mut output,
            [
                text_cell(&row.call_id),
                target.to_string(),
                number_cell(utterance_index),
                number_cell(channel),
                text_cell(row.speaker.as_deref().unwrap_or("")),
                number_cell(row.start_ms),
                number_cell(row.end_ms),
                text_cell(row.text.as_deref().unwrap_or("")),
                text_cell(&labels.collect::<Vec<_>>().join(";")),
                text_cell(&join_list(&row.comments)),
                text_cell(&join_list(&row.annotators)),
            ],
        );
    }
    output
}

fn write_record(output: &mut String, fields: impl IntoIterator<Item = String>) {
    for (index, field) in fields.into_iter().enumerate() {
        if index > 0 {
            output.push(',');
        }
        output.push_str(&quote(&field));
    }
    output.push_str("\r\n");
}

/// Quotes a field as RFC 4180 requires when it contains a comma, quote or line break,
/// doubling the quotes inside.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn text_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn number_cell<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

fn join_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| escape_list_item(item))
        .collect::<Vec<_>>()
        .join(";")
}

fn escape_list_item(item: &str) -> String {
    item.replace('\\', "\\\\").replace(';', "\\;")
}
