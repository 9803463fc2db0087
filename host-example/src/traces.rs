//! Storing OTLP trace spans: filed per conversation, then the conversation's call is
//! normalised again from all of its spans, whatever order they arrived in.

use std::collections::BTreeMap;

use crate::app::AppState;
use crate::import::{ImportError, ingest_event, vendor_key};
use crate::runtime::OtlpSpan;

/// Stores the spans of one OTLP request and updates the call of every conversation
/// they belong to. Returns `(call id, created)` per conversation.
pub async fn store_spans(state: &AppState, spans: Vec<OtlpSpan>) -> Result<Vec<(String, bool)>, ImportError> {
    let mut by_conversation: BTreeMap<String, Vec<OtlpSpan>> = BTreeMap::new();
    for span in spans {
        by_conversation.entry(span.conversation_id.clone()).or_default().push(span);
    }

    let mut stored = Vec::new();
    for (conversation_id, spans) in by_conversation {
        let (all, placeholders) = state.storage.add_spans(conversation_id.clone(), spans).await?;

        let runtime = state.runtime();
        let call = tokio::task::spawn_blocking(move || runtime.normalize_spans(&all))
            .await
            .map_err(|e| ImportError::Task(e.to_string()))??;

        // A call made earlier from spans that named no conversation is now part of this one.
        for placeholder in placeholders {
            let stale = vendor_key(&api_call_with_id(&call, &placeholder));
            if let Some(stale) = stale
                && state.storage.delete_by_vendor_key(stale.clone()).await?
            {
                tracing::info!(vendor_key = %stale, %conversation_id, "placeholder trace call merged into its conversation");
            }
        }

        // The raw spans stay in `otlp_spans`, so the call stores no copy of them.
        let (call_id, created) =
            ingest_event(state.runtime(), &state.storage, state.settings.clone(), Vec::new(), call).await?;
        tracing::info!(%call_id, %conversation_id, created, "trace spans stored");
        stored.push((call_id, created));
    }
    Ok(stored)
}

/// Returns a copy of `call` carrying `vendor_call_id`, to compute another call's key.
fn api_call_with_id(call: &callscope_api_types::NormalizedCall, vendor_call_id: &str) -> callscope_api_types::NormalizedCall {
    callscope_api_types::NormalizedCall { vendor_call_id: Some(vendor_call_id.to_owned()), ..call.clone() }
}
