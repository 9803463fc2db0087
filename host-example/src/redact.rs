//! What of a call a user may read. Without `view-transcript` the transcript and vendor
//! data are left out. Without `view-personal-data` the component replaces personal
//! data in them with markers before they leave the host.

use callscope_api_types as api;

use crate::app::{AppState, Caller};
use crate::auth::Permission;
use crate::http_error::HttpError;

/// Returns the call as the caller may see it, whether it was redacted, and whether the
/// transcript was left out.
pub async fn call_for(state: &AppState, caller: &Caller, mut call: api::NormalizedCall) -> Result<(api::NormalizedCall, bool, bool), HttpError> {
    if !caller.may(Permission::ViewTranscript) {
        call.utterances.clear();
        call.unknown_fields = "{}".into();
        call.vendor_analysis = "{}".into();
        for span in &mut call.spans {
            span.text = None;
            span.original = "{}".into();
        }
        return Ok((call, false, true));
    }
    if caller.may(Permission::ViewPersonalData) {
        return Ok((call, false, false));
    }

    let runtime = state.runtime();
    let call = runtime
        .run_blocking(move |runtime| {
            let redacted = runtime.redact_utterances(&call.utterances)?;
            call.utterances = redacted.into_iter().map(|(utterance, _)| utterance).collect();

            let span_texts: Vec<String> = call.spans.iter().map(|span| span.text.clone().unwrap_or_default()).collect();
            let texts = runtime.redact_texts(&span_texts)?;
            for (span, text) in call.spans.iter_mut().zip(texts) {
                if span.text.is_some() {
                    span.text = Some(text.text);
                }
            }

            // One call for every JSON document of the call: an array of them.
            let mut documents = vec![call.unknown_fields.clone(), call.vendor_analysis.clone()];
            documents.extend(call.spans.iter().map(|span| span.original.clone()));
            let array = format!("[{}]", documents.iter().map(|d| if d.trim().is_empty() { "null" } else { d.as_str() }).collect::<Vec<_>>().join(","));
            let redacted = runtime.redact_json(&array)?;
            // Fails closed: without a usable result the documents are dropped, never
            // shown as they were.
            let mut values = match serde_json::from_str::<serde_json::Value>(&redacted) {
                Ok(serde_json::Value::Array(values)) if values.len() == documents.len() => {
                    values.into_iter().map(|value| value.to_string()).collect::<Vec<_>>().into_iter()
                }
                _ => {
                    tracing::warn!(vendor_call_id = ?call.vendor_call_id, "the component's redaction of the call's JSON documents was unusable; leaving them out");
                    vec![String::from("{}"); documents.len()].into_iter()
                }
            };
            call.unknown_fields = values.next().unwrap_or_else(|| "{}".into());
            call.vendor_analysis = values.next().unwrap_or_else(|| "{}".into());
            for (span, value) in call.spans.iter_mut().zip(values) {
                span.original = value;
            }
            Ok(call)
        })
        .await?;
    Ok((call, true, false))
}

/// Returns `text` redacted unless the caller may see personal data.
pub async fn texts_for(state: &AppState, caller: &Caller, texts: Vec<String>) -> Result<Vec<String>, HttpError> {
    if caller.may(Permission::ViewPersonalData) {
        return Ok(texts);
    }
    let runtime = state.runtime();
    let redacted = runtime.run_blocking(move |runtime| runtime.redact_texts(&texts)).await?;
    Ok(redacted.into_iter().map(|r| r.text).collect())
}
