//! Export rows as JSONL and CSV, with and without redaction.

use callscope_api_types::Target;
use callscope_component::annotation::{CSV_COLUMNS, ExportFormat, ExportRow, export_rows};

fn rows() -> Vec<ExportRow> {
    vec![
        ExportRow {
            call_id: "c-1".into(),
            target: Target::Utterance { index: 3 },
            speaker: Some("user".into()),
            text: Some("Call me at 415-555-0199, please".into()),
            start_ms: Some(1000),
            end_ms: Some(2500),
            labels: vec![
                ("wrong-answer".into(), "true".into()),
                ("note".into(), "said \"hi\"; then, left".into()),
            ],
            comments: vec!["mail jane@example.com".into(), "second".into()],
            annotators: vec!["ana".into(), "ben".into()],
        },
        ExportRow {
            call_id: "c-1".into(),
            target: Target::ChannelRange {
                channel: 1,
                start_ms: 5000,
                end_ms: 7000,
            },
            speaker: None,
            text: None,
            start_ms: Some(5000),
            end_ms: Some(7000),
            labels: vec![("dead-air".into(), "true".into())],
            comments: vec![],
            annotators: vec!["ana".into()],
        },
        ExportRow {
            call_id: "c-2".into(),
            target: Target::Call,
            speaker: None,
            text: None,
            start_ms: None,
            end_ms: None,
            labels: vec![("tone".into(), "rude".into())],
            comments: vec!["=HYPERLINK(\"x\")".into()],
            annotators: vec!["ben".into()],
        },
    ]
}

#[test]
fn jsonl_one_object_per_row() {
    let jsonl = export_rows(&rows(), ExportFormat::Jsonl, false);

    let lines: Vec<&str> = jsonl.split_terminator('\n').collect();
    assert_eq!(lines.len(), 3);
    assert!(jsonl.ends_with('\n'));
    assert_eq!(
        lines[0],
        r#"{"call_id":"c-1","target":{"type":"utterance","index":3},"speaker":"user","start_ms":1000,"end_ms":2500,"text":"Call me at 415-555-0199, please","labels":[{"label_id":"wrong-answer","value":"true"},{"label_id":"note","value":"said \"hi\"; then, left"}],"comments":["mail jane@example.com","second"],"annotators":["ana","ben"]}"#
    );
    assert_eq!(
        lines[1],
        r#"{"call_id":"c-1","target":{"type":"channel-range","channel":1,"start_ms":5000,"end_ms":7000},"speaker":null,"start_ms":5000,"end_ms":7000,"text":null,"labels":[{"label_id":"dead-air","value":"true"}],"comments":[],"annotators":["ana"]}"#
    );
    assert_eq!(
        lines[2],
        r#"{"call_id":"c-2","target":{"type":"call"},"speaker":null,"start_ms":null,"end_ms":null,"text":null,"labels":[{"label_id":"tone","value":"rude"}],"comments":["=HYPERLINK(\"x\")"],"annotators":["ben"]}"#
    );
}

#[test]
fn jsonl_lines_parse_as_objects() {
    let jsonl = export_rows(&rows(), ExportFormat::Jsonl, false);

    for line in jsonl.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(value.is_object(), "{line}");
    }
}

#[test]
fn csv_header_and_quoting() {
    let csv = export_rows(&rows(), ExportFormat::Csv, false);

    let records: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[0],
        "call_id,target,utterance_index,channel,speaker,start_ms,end_ms,text,labels,comments,annotators"
    );
    assert_eq!(records[0].split(',').count(), CSV_COLUMNS.len());
    // The text contains a comma and is quoted. The note label contains quotes (doubled), a
    // semicolon (escaped with a backslash, as list items are) and a comma.
    assert_eq!(
        records[1],
        r#"c-1,utterance,3,,user,1000,2500,"Call me at 415-555-0199, please","wrong-answer=true;note=said ""hi""\; then, left",mail jane@example.com;second,ana;ben"#
    );
    assert_eq!(
        records[2],
        "c-1,channel-range,,1,,5000,7000,,dead-air=true,,ana"
    );
    // A comment that starts with `=` gets a leading apostrophe so that a spreadsheet
    // does not run it as a formula.
    assert_eq!(
        records[3],
        r#"c-2,call,,,,,,,tone=rude,"'=HYPERLINK(""x"")",ben"#
    );
}

#[test]
fn csv_of_no_rows_is_header_only() {
    let csv = export_rows(&[], ExportFormat::Csv, false);

    assert_eq!(
        csv,
        "call_id,target,utterance_index,channel,speaker,start_ms,end_ms,text,labels,comments,annotators\r\n"
    );
}

#[test]
fn jsonl_of_no_rows_is_empty() {
    assert_eq!(export_rows(&[], ExportFormat::Jsonl, false), "");
}

#[test]
fn redaction_removes_phone_and_email() {
    for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
        let exported = export_rows(&rows(), format, true);

        assert!(!exported.contains("415-555-0199"), "{format:?}: {exported}");
        assert!(
            !exported.contains("jane@example.com"),
            "{format:?}: {exported}"
        );
        assert!(
            exported.contains("Call me at [phone], please"),
            "{format:?}: {exported}"
        );
        assert!(exported.contains("mail [email]"), "{format:?}: {exported}");
    }
}

#[test]
fn redaction_covers_label_values() {
    let mut row = rows().remove(2);
    row.labels = vec![("note".into(), "customer gave 4111 1111 1111 1111".into())];

    let exported = export_rows(&[row], ExportFormat::Jsonl, true);

    assert!(
        exported.contains(r#""value":"customer gave [payment-card]""#),
        "{exported}"
    );
}

#[test]
fn without_redaction_data_is_kept() {
    let exported = export_rows(&rows(), ExportFormat::Jsonl, false);

    assert!(exported.contains("415-555-0199"));
    assert!(exported.contains("jane@example.com"));
}
