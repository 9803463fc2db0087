//! Demo tooling: publishes a recorded native event stream to NATS at the pace the
//! events happened, so a newcomer can watch a call arrive live. It reads the
//! project's own sample file, not untrusted input.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

/// Publishes every line of `file` to `subject_prefix.<call_id>`, waiting between
/// events so that one second of call time takes `1 / speed` seconds. The call id of
/// each event gets `suffix` appended, so repeated demo runs show a new call.
pub async fn replay(nats_url: &str, stream: &str, subject_prefix: &str, file: &Path, speed: f64, suffix: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let client = async_nats::connect(nats_url).await.with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let context = async_nats::jetstream::new(client);
    context
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: stream.to_owned(),
            subjects: vec![format!("{subject_prefix}.>")],
            ..Default::default()
        })
        .await
        .with_context(|| format!("opening JetStream stream {stream}"))?;

    let speed = if speed > 0.0 { speed } else { 1.0 };
    let mut clock_ms = 0i64;
    let mut published = 0usize;
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut event: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("line {} of {} is not JSON", number + 1, file.display()))?;
        let at_ms = event.get("end_ms").and_then(|v| v.as_i64()).unwrap_or(clock_ms);
        if at_ms > clock_ms {
            tokio::time::sleep(Duration::from_secs_f64((at_ms - clock_ms) as f64 / 1000.0 / speed)).await;
            clock_ms = at_ms;
        }

        for key in ["call_id", "id"] {
            if let Some(value) = event.get(key).and_then(|v| v.as_str()).map(|v| format!("{v}{suffix}")) {
                event[key] = serde_json::Value::String(value);
            }
        }
        let call_id = event["call_id"].as_str().unwrap_or("unknown").to_owned();
        context
            .publish(format!("{subject_prefix}.{call_id}"), event.to_string().into())
            .await?
            .await
            .context("JetStream did not confirm a replayed event")?;
        published += 1;
    }
    tracing::info!(published, file = %file.display(), "event stream replayed");
    Ok(())
}
