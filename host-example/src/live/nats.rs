//! The NATS JetStream consumer: a durable pull consumer on a configured subject that
//! stores each batch through the component and acknowledges it only after the write
//! commits. It fetches the next batch only when the previous one is stored, so a slow
//! database slows the consumer instead of filling memory.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, consumer::AckPolicy, consumer::pull};
use futures::StreamExt;

use crate::app::AppState;

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
    /// Events fetched and stored per transaction. 500 amortises the commit while
    /// keeping one batch far below a megabyte for typical events.
    pub batch_size: usize,
    /// Unacknowledged events the server may have delivered at once. Twice the batch
    /// size lets the next fetch be in flight while a batch commits.
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
            batch_size: 500,
            max_in_flight: 1000,
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

    loop {
        let mut messages = consumer
            .fetch()
            .max_messages(config.batch_size)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .context("fetching a batch from JetStream")?;

        let mut batch = Vec::with_capacity(config.batch_size);
        let mut received = Vec::with_capacity(config.batch_size);
        while let Some(message) = messages.next().await {
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, "reading a JetStream message failed; it will be redelivered");
                    continue;
                }
            };
            let sequence = message.info().map(|i| i.stream_sequence).unwrap_or_default();
            batch.push((format!("nats:{} #{sequence}", message.subject), message.payload.to_vec()));
            received.push(message);
        }
        if batch.is_empty() {
            continue;
        }

        // A failed store leaves the batch unacknowledged, so JetStream redelivers it
        // after `ack_wait`; the loop then goes on with the next fetch.
        match super::store_batch(&state, batch).await {
            Ok(outcome) => {
                tracing::debug!(events = received.len(), duplicates = outcome.duplicates, rejected = outcome.rejected, "batch stored");
                for message in &received {
                    if let Err(error) = message.ack().await {
                        tracing::warn!(%error, "acknowledging a stored event failed; it will be redelivered and skipped");
                    }
                }
                client.flush().await.ok();
            }
            Err(error) => {
                tracing::error!(%error, events = received.len(), "storing a batch failed; it will be redelivered");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
