//! The self-test a component passes before it serves: a built-in call is normalised
//! and analysed, a role map decided, a phone number redacted and the example schema
//! read, and each result is compared with what the call is known to contain. A
//! component of interface 0.2 must also describe itself and refuse a bad agreement
//! input without trapping.

use callscope_api_types as api;

use crate::runtime::{ComponentError, ComponentRuntime, MeasurementLevel};

/// The built-in call: a Vapi end-of-call report (`config/self-test-call.json`, a copy
/// of `fixtures/payloads/vapi__end-of-call-report.complete.json`).
const CALL: &[u8] = include_bytes!("../../config/self-test-call.json");

/// Speakers and times of the built-in call's utterances, read off its payload: the
/// call starts at 15:02:11.000 and each message's `time` and `endTime` give the rest.
const EXPECTED_UTTERANCES: [(api::Speaker, i64, i64); 8] = [
    (api::Speaker::System, 0, 0),
    (api::Speaker::Bot, 500, 2500),
    (api::Speaker::User, 3000, 5000),
    (api::Speaker::Tool, 5600, 5600),
    (api::Speaker::Tool, 6000, 6000),
    (api::Speaker::Bot, 6200, 8200),
    (api::Speaker::User, 9000, 9600),
    (api::Speaker::Bot, 10400, 11000),
];

/// Response latencies of the call from its event times: the user stops at 5000 and
/// 9600 ms, the bot starts at 6200 and 10400 ms.
const EXPECTED_LATENCIES_MS: [i64; 2] = [1200, 800];

/// Runs the self-test. The error names the result that differed and how.
pub fn run(runtime: &ComponentRuntime) -> Result<(), String> {
    let failed = |step: &str, error: ComponentError| format!("{step} failed: {error}");

    let call = runtime.normalize(CALL).map_err(|e| failed("normalising the built-in call", e))?;
    let utterances: Vec<_> = call.utterances.iter().map(|u| (u.speaker, u.start_ms, u.end_ms)).collect();
    if utterances != EXPECTED_UTTERANCES {
        return Err(format!("the built-in call's utterances came out as {utterances:?}, expected {EXPECTED_UTTERANCES:?}"));
    }

    let settings = api::AnalysisSettings::default();
    let analysis = runtime
        .analyze(&call.utterances, &[], api::ChannelLayout::Mixed, &settings)
        .map_err(|e| failed("analysing the built-in call", e))?;
    let latencies: Vec<i64> = analysis.latencies.iter().map(|l| l.latency_ms).collect();
    if latencies != EXPECTED_LATENCIES_MS {
        return Err(format!("the built-in call's response latencies came out as {latencies:?} ms, expected {EXPECTED_LATENCIES_MS:?}"));
    }

    let grants = runtime.parse_role_map(r#"{"qa": ["view-calls", "annotate"]}"#).map_err(|e| failed("reading a role map", e))?;
    let granted = runtime.permissions_of(&grants, &["qa".to_owned(), "unknown".to_owned()]).map_err(|e| failed("deciding permissions", e))?;
    if granted != [api::Permission::ViewCalls, api::Permission::Annotate] {
        return Err(format!("role qa was granted {granted:?}, expected view-calls and annotate"));
    }

    let redacted = runtime
        .redact_texts(&["call me on 415-555-0142 please".to_owned()])
        .map_err(|e| failed("redacting a phone number", e))?;
    let text = redacted.first().map(|r| r.text.as_str()).unwrap_or_default();
    if text != "call me on [phone] please" {
        return Err(format!("redacting a phone number gave {text:?}, expected \"call me on [phone] please\""));
    }

    let schema = runtime.parse_schema(crate::auth::DEMO_SCHEMA).map_err(|e| failed("reading the example schema", e))?;
    if schema.labels.len() != 6 {
        return Err(format!("the example schema came out with {} labels, expected 6", schema.labels.len()));
    }

    if runtime.interface_version().starts_with("0.1.") {
        return Ok(());
    }
    let info = runtime.describe().map_err(|e| failed("asking the component to describe itself", e))?;
    match info {
        Some(info) if !info.name.is_empty() && !info.version.is_empty() => {}
        other => return Err(format!("the component described itself as {other:?}; a name and a version are needed")),
    }
    let ratings = [("item".to_owned(), "ann".to_owned(), "loud".to_owned())];
    match runtime.compute_agreement("score", &ratings, MeasurementLevel::Interval) {
        Err(ComponentError::Rejected(_)) => Ok(()),
        other => Err(format!("an interval rating \"loud\" gave {other:?}; interface 0.2 refuses it with an error")),
    }
}
