//! The NATS JetStream consumer: a durable pull consumer on a configured subject that
//! stores each batch through the component and acknowledges it only after the write
//! commits. It fetches the next batch while one is stored, but never more than one
//! batch ahead, so a slow database slows the consumer instead of filling memory.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, consumer::AckPolicy, consumer::PullConsumer, consumer::pull};
use futures::StreamExt;

use crate::app::AppState;

/// Default [`NatsConfig::batch_size`].
pub const DEFAULT_BATCH_SIZE: usize = 2000;

/// Default [`NatsConfig::max_in_flight`]: twice the batch size.
pub const DEFAULT_MAX_IN_FLIGHT: i64 = 4000;

/// Consumer settings; every default is stated with its reason.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// Server URL, for example `nats://127.0.0.1:4222`.
    pub url: String,
    /// JetStream stream, created with `subject` when missing.
    pub stream: String,
    /// Subject filter the stream captures and the consumer reads.
    pub subject: String,
    /// Durable consumer name; a restarted host resumes where it stopped.
    pub consumer: String,
    /// Events fetched and stored per transaction, by default
    /// [`DEFAULT_BATCH_SIZE`]. 2000 spreads the commit, the fetch request and the
    /// call into the component over many events, while a batch of events of a few
    /// hundred bytes each stays under a megabyte.
    pub batch_size: usize,
    /// Unacknowledged events the server may have delivered at once, by default
    /// [`DEFAULT_MAX_IN_FLIGHT`]. Twice the batch size lets the next batch arrive in
    /// full while one commits; a smaller value makes that fetch return fewer events.
    pub max_in_flight: i64,
    /// Time the server waits for an acknowledgement before redelivering. 30 s covers
    /// a slow commit; redelivery is harmless because events are stored by id.
    pub ack_wait: Duration,
}

impl NatsConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: "CALLSCOPE_EVENTS".into(),
            subject: "callscope.events.>".into(),
            consumer: "callscope-host".into(),
            batch_size: DEFAULT_BATCH_SIZE,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// Consumes events until the connection fails for good; returns the error then.
pub async fn run(state: AppState, config: NatsConfig) -> anyhow::Result<()> {
    let client = async_nats::connect(&config.url).await.with_context(|| format!("connecting to NATS at {}", config.url))?;
    let context = jetstream::new(client.clone());
    let stream = context
        .get_or_create_stream(jetstream::stream::Config {
            name: config.stream.clone(),
            subjects: vec![config.subject.clone()],
            ..Default::default()
        })
        .await
        .with_context(|| format!("opening JetStream stream {}", config.stream))?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            &config.consumer,
            pull::Config {
                durable_name: Some(config.consumer.clone()),
                filter_subject: config.subject.clone(),
                ack_policy: AckPolicy::Explicit,
                max_ack_pending: config.max_in_flight,
                ack_wait: config.ack_wait,
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("opening durable consumer {}", config.consumer))?;
    tracing::info!(stream = %config.stream, subject = %config.subject, consumer = %config.consumer, "NATS consumer started");

    // The next batch is fetched while the current one is validated and committed, so
    // waiting for JetStream overlaps that work. `join!` waits for both, so the
    // consumer is never more than one batch ahead of what it has stored.
    let mut fetched = fetch_batch(&consumer, config.batch_size).await?;
    loop {
        let batch = std::mem::take(&mut fetched);
        let ((), next) = tokio::join!(store_and_ack(&state, &client, batch), fetch_batch(&consumer, config.batch_size));
        fetched = next?;
    }
}

/// Fetches up to `batch_size` events: those available at once, or when there are
/// none, the first to arrive within a second.
async fn fetch_batch(consumer: &PullConsumer, batch_size: usize) -> anyhow::Result<Vec<jetstream::Message>> {
    let mut messages = consumer
        .fetch()
        .max_messages(batch_size)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .context("fetching a batch from JetStream")?;

    let mut received = Vec::with_capacity(batch_size);
    while let Some(message) = messages.next().await {
        match message {
            Ok(message) => received.push(message),
            Err(error) => tracing::warn!(%error, "reading a JetStream message failed; it will be redelivered"),
        }
    }
    Ok(received)
}

/// Stores a batch and acknowledges each of its events once the transaction commits.
async fn store_and_ack(state: &AppState, client: &async_nats::Client, received: Vec<jetstream::Message>) {
    if received.is_empty() {
        return;
    }
    let payloads = received.iter().map(|message| message.payload.to_vec()).collect();
    // Only a rejected event needs its origin, so the text is built for those alone.
    let source = |index: usize| {
        let message: &jetstream::Message = &received[index];
        let sequence = message.info().map(|info| info.stream_sequence).unwrap_or_default();
        format!("nats:{} #{sequence}", message.subject)
    };

    // A failed store leaves the batch unacknowledged, so JetStream redelivers it
    // after `ack_wait`. The consumer meanwhile goes on with the next batch.
    match super::store_events(state, payloads, source).await {
        Ok(outcome) => {
            tracing::debug!(events = received.len(), duplicates = outcome.duplicates, rejected = outcome.rejected, "batch stored");
            // Each event gets its own acknowledgement, because an `AckAll` on the last
            // one would also acknowledge every earlier delivery still pending, such as
            // a batch whose store failed, and those events would never be redelivered.
            for message in &received {
                if let Err(error) = message.ack().await {
                    tracing::warn!(%error, "acknowledging a stored event failed; it will be redelivered and skipped");
                }
            }
            if let Err(error) = client.flush().await {
                tracing::warn!(%error, "flushing acknowledgements failed; unsent ones will be redelivered and skipped");
            }
        }
        Err(error) => {
            tracing::error!(%error, events = received.len(), "storing a batch failed; it will be redelivered");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
