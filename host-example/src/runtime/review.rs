//! Calls into the component's `policy`, `redaction` and `annotation` interfaces, and
//! the review types they take and return.

use callscope_api_types as api;

use super::{ComponentError, ComponentRuntime};

/// Bounds an annotation is checked against: the call's length, its utterances and its
/// recording's channels.
#[derive(Debug, Clone)]
pub struct CallBounds {
    pub duration_ms: i64,
    pub utterance_indices: Vec<u32>,
    /// 0 when the call has no recording.
    pub channels: u16,
}

/// A call the review queue may list, with the flags that rank it.
#[derive(Debug, Clone)]
pub struct QueueCandidate {
    pub call_id: String,
    pub flag_codes: Vec<String>,
    pub max_latency_ms: Option<i64>,
}

/// A ranked review-queue entry as the component ordered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankedCall {
    pub call_id: String,
    pub priority: u32,
    pub reason: String,
}

/// Scale on which agreement compares values of one label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasurementLevel {
    Nominal,
    Interval,
}

/// One exported line, before serialisation.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub call_id: String,
    pub target: api::Target,
    pub speaker: Option<String>,
    pub text: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub labels: Vec<(String, String)>,
    pub comments: Vec<String>,
    pub annotators: Vec<String>,
}

/// File format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

impl ComponentRuntime {
    /// Parses and checks a role map given as JSON.
    pub fn parse_role_map(&self, json: &str) -> Result<Vec<api::RoleGrant>, ComponentError> {
        self.call(|guest, store| guest.parse_role_map(store, json))
    }

    /// Returns what the roles grant together under `role_map`.
    pub fn permissions_of(&self, role_map: &[api::RoleGrant], roles: &[String]) -> Result<Vec<api::Permission>, ComponentError> {
        self.call(|guest, store| guest.permissions_of(store, role_map, roles))
    }

    /// Redacts personal data in each text.
    pub fn redact_texts(&self, texts: &[String]) -> Result<Vec<api::RedactedText>, ComponentError> {
        self.call(|guest, store| guest.redact_texts(store, texts))
    }

    /// Redacts personal data in every string value of a JSON document.
    pub fn redact_json(&self, json: &str) -> Result<String, ComponentError> {
        self.call(|guest, store| guest.redact_json(store, json))
    }

    /// Redacts utterance texts and the words inside redacted spans.
    pub fn redact_utterances(&self, utterances: &[api::Utterance]) -> Result<Vec<(api::Utterance, Vec<api::RedactionMark>)>, ComponentError> {
        self.call(|guest, store| guest.redact_utterances(store, utterances))
    }

    /// Parses and checks an annotation schema; the error lists every problem.
    pub fn parse_schema(&self, json: &str) -> Result<api::Schema, ComponentError> {
        self.call(|guest, store| guest.parse_schema(store, json))
    }

    /// Checks one annotation against the schema and the call.
    pub fn validate_annotation(
        &self,
        schema: &api::Schema,
        input: &api::AnnotationInput,
        bounds: &CallBounds,
    ) -> Result<(), ComponentError> {
        self.call(|guest, store| guest.validate_annotation(store, schema, input, bounds))
    }

    /// Returns the required labels none of `annotations` sets.
    pub fn missing_required(&self, schema: &api::Schema, annotations: &[api::AnnotationInput]) -> Result<Vec<String>, ComponentError> {
        self.call(|guest, store| guest.missing_required(store, schema, annotations))
    }

    /// Ranks calls for review: flagged ones by their flags, plus a sample of the rest.
    pub fn review_queue(&self, candidates: &[QueueCandidate], sample_per_mille: u32, seed: u64) -> Result<Vec<RankedCall>, ComponentError> {
        self.call(|guest, store| guest.review_queue(store, candidates, sample_per_mille, seed))
    }

    /// Computes agreement between annotators on one label. At the interval level a
    /// component of interface 0.2 rejects a value that is not a number. One of 0.1
    /// traps on it instead, so the request fails as a component fault.
    pub fn compute_agreement(
        &self,
        label_id: &str,
        ratings: &[(String, String, String)],
        level: MeasurementLevel,
    ) -> Result<api::LabelAgreement, ComponentError> {
        self.call(|guest, store| guest.compute_agreement(store, label_id, ratings, level))
    }

    /// Serialises export rows as JSONL or CSV, redacting personal data when asked.
    pub fn export_rows(&self, rows: &[ExportRow], format: ExportFormat, redact: bool) -> Result<String, ComponentError> {
        self.call(|guest, store| guest.export_rows(store, rows, format, redact))
    }
}
