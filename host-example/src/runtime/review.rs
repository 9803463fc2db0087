//! Calls into the component's `policy`, `redaction` and `annotation` interfaces, and
//! the conversions between their WIT types and the shared review types.

use callscope_api_types as api;

use super::bindings::exports::callscope::plugin::annotation as wit;
use super::bindings::exports::callscope::plugin::policy as wit_policy;
use super::bindings::exports::callscope::plugin::redaction as wit_redaction;
use super::{ComponentError, ComponentRuntime, RejectedInput, convert};

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
        let (mut store, plugin) = self.instantiate()?;
        let result = plugin.callscope_plugin_policy().call_parse_role_map(&mut store, json);
        let grants = result.map_err(|e| self.classify(&store, e))?.map_err(|message| {
            ComponentError::Rejected(RejectedInput::InvalidConfig(format!("role map: {message}")))
        })?;
        Ok(grants.into_iter().map(role_grant).collect())
    }

    /// Returns what the roles grant together under `role_map`.
    pub fn permissions_of(&self, role_map: &[api::RoleGrant], roles: &[String]) -> Result<Vec<api::Permission>, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let role_map: Vec<_> = role_map.iter().map(role_grant_to_wit).collect();
        let result = plugin.callscope_plugin_policy().call_permissions_of(&mut store, &role_map, roles);
        Ok(result.map_err(|e| self.classify(&store, e))?.into_iter().map(permission).collect())
    }

    /// Redacts personal data in each text.
    pub fn redact_texts(&self, texts: &[String]) -> Result<Vec<api::RedactedText>, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let result = plugin.callscope_plugin_redaction().call_redact_texts(&mut store, texts);
        Ok(result
            .map_err(|e| self.classify(&store, e))?
            .into_iter()
            .map(|redacted| api::RedactedText { text: redacted.text, marks: redacted.marks.into_iter().map(mark).collect() })
            .collect())
    }

    /// Redacts personal data in every string value of a JSON document.
    pub fn redact_json(&self, json: &str) -> Result<String, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let result = plugin.callscope_plugin_redaction().call_redact_json(&mut store, json);
        result
            .map_err(|e| self.classify(&store, e))?
            .map_err(|message| ComponentError::Rejected(RejectedInput::InvalidJson(message)))
    }

    /// Redacts utterance texts and the words inside redacted spans.
    pub fn redact_utterances(&self, utterances: &[api::Utterance]) -> Result<Vec<(api::Utterance, Vec<api::RedactionMark>)>, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let input: Vec<_> = utterances.iter().map(convert::utterance_to_wit).collect();
        let result = plugin.callscope_plugin_redaction().call_redact_utterances(&mut store, &input);
        Ok(result
            .map_err(|e| self.classify(&store, e))?
            .into_iter()
            .map(|(utterance, marks)| (convert::utterance(utterance), marks.into_iter().map(mark).collect()))
            .collect())
    }

    /// Parses and checks an annotation schema; the error lists every problem.
    pub fn parse_schema(&self, json: &str) -> Result<api::Schema, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let result = plugin.callscope_plugin_annotation().call_parse_schema(&mut store, json);
        let schema = result.map_err(|e| self.classify(&store, e))?.map_err(|problems| {
            ComponentError::Rejected(RejectedInput::InvalidConfig(format!("annotation schema: {}", problems.join("; "))))
        })?;
        Ok(schema_from_wit(schema))
    }

    /// Checks one annotation against the schema and the call.
    pub fn validate_annotation(
        &self,
        schema: &api::Schema,
        input: &api::AnnotationInput,
        bounds: &CallBounds,
    ) -> Result<(), ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let wit_schema = schema_to_wit(schema);
        let wit_input = annotation_to_wit(schema, input);
        let wit_bounds = wit::CallBounds {
            duration_ms: bounds.duration_ms,
            utterance_indices: bounds.utterance_indices.clone(),
            channels: bounds.channels,
        };
        let result = plugin.callscope_plugin_annotation().call_validate_annotation(&mut store, &wit_schema, &wit_input, &wit_bounds);
        result
            .map_err(|e| self.classify(&store, e))?
            .map_err(|message| ComponentError::Rejected(RejectedInput::InvalidAnnotation(message)))
    }

    /// Returns the required labels none of `annotations` sets.
    pub fn missing_required(&self, schema: &api::Schema, annotations: &[api::AnnotationInput]) -> Result<Vec<String>, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let wit_schema = schema_to_wit(schema);
        let inputs: Vec<_> = annotations.iter().map(|input| annotation_to_wit(schema, input)).collect();
        let result = plugin.callscope_plugin_annotation().call_missing_required(&mut store, &wit_schema, &inputs);
        result.map_err(|e| self.classify(&store, e))
    }

    /// Ranks calls for review: flagged ones by their flags, plus a sample of the rest.
    pub fn review_queue(&self, candidates: &[QueueCandidate], sample_per_mille: u32, seed: u64) -> Result<Vec<RankedCall>, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let input: Vec<_> = candidates
            .iter()
            .map(|c| wit::QueueCandidate {
                call_id: c.call_id.clone(),
                flag_codes: c.flag_codes.clone(),
                max_latency_ms: c.max_latency_ms,
            })
            .collect();
        let result = plugin.callscope_plugin_annotation().call_review_queue(&mut store, &input, sample_per_mille, seed);
        Ok(result
            .map_err(|e| self.classify(&store, e))?
            .into_iter()
            .map(|entry| RankedCall { call_id: entry.call_id, priority: entry.priority, reason: entry.reason })
            .collect())
    }

    /// Computes agreement between annotators on one label.
    pub fn compute_agreement(
        &self,
        label_id: &str,
        ratings: &[(String, String, String)],
        level: MeasurementLevel,
    ) -> Result<api::LabelAgreement, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let input: Vec<_> = ratings
            .iter()
            .map(|(item, annotator, value)| wit::Rating { item: item.clone(), annotator: annotator.clone(), value: value.clone() })
            .collect();
        let level = match level {
            MeasurementLevel::Nominal => wit::MeasurementLevel::Nominal,
            MeasurementLevel::Interval => wit::MeasurementLevel::Interval,
        };
        let result = plugin.callscope_plugin_annotation().call_compute_agreement(&mut store, &input, level);
        let agreement = result.map_err(|e| self.classify(&store, e))?;
        Ok(api::LabelAgreement {
            label_id: label_id.to_owned(),
            annotators: agreement.annotators,
            items: agreement.items,
            cohen_kappa: agreement.cohen_kappa,
            krippendorff_alpha: agreement.krippendorff_alpha,
            observed_agreement: agreement.observed_agreement,
        })
    }

    /// Serialises export rows as JSONL or CSV, redacting personal data when asked.
    pub fn export_rows(&self, rows: &[ExportRow], format: ExportFormat, redact: bool) -> Result<String, ComponentError> {
        let (mut store, plugin) = self.instantiate()?;
        let input: Vec<_> = rows
            .iter()
            .map(|row| wit::ExportRow {
                call_id: row.call_id.clone(),
                target: target_to_wit(row.target),
                speaker: row.speaker.clone(),
                text: row.text.clone(),
                start_ms: row.start_ms,
                end_ms: row.end_ms,
                labels: row.labels.clone(),
                comments: row.comments.clone(),
                annotators: row.annotators.clone(),
            })
            .collect();
        let format = match format {
            ExportFormat::Jsonl => wit::ExportFormat::Jsonl,
            ExportFormat::Csv => wit::ExportFormat::Csv,
        };
        let result = plugin.callscope_plugin_annotation().call_export_rows(&mut store, &input, format, redact);
        result.map_err(|e| self.classify(&store, e))
    }
}

fn permission(value: wit_policy::Permission) -> api::Permission {
    use wit_policy::Permission as W;
    match value {
        W::ViewCalls => api::Permission::ViewCalls,
        W::ViewTranscript => api::Permission::ViewTranscript,
        W::ViewPersonalData => api::Permission::ViewPersonalData,
        W::Listen => api::Permission::Listen,
        W::Annotate => api::Permission::Annotate,
        W::Review => api::Permission::Review,
        W::Export => api::Permission::Export,
        W::ManageSchema => api::Permission::ManageSchema,
        W::ManageComponent => api::Permission::ManageComponent,
        W::ImportCalls => api::Permission::ImportCalls,
    }
}

fn permission_to_wit(value: api::Permission) -> wit_policy::Permission {
    use wit_policy::Permission as W;
    match value {
        api::Permission::ViewCalls => W::ViewCalls,
        api::Permission::ViewTranscript => W::ViewTranscript,
        api::Permission::ViewPersonalData => W::ViewPersonalData,
        api::Permission::Listen => W::Listen,
        api::Permission::Annotate => W::Annotate,
        api::Permission::Review => W::Review,
        api::Permission::Export => W::Export,
        api::Permission::ManageSchema => W::ManageSchema,
        api::Permission::ManageComponent => W::ManageComponent,
        api::Permission::ImportCalls => W::ImportCalls,
    }
}

fn role_grant(grant: wit_policy::RoleGrant) -> api::RoleGrant {
    api::RoleGrant { role: grant.role, permissions: grant.permissions.into_iter().map(permission).collect() }
}

fn role_grant_to_wit(grant: &api::RoleGrant) -> wit_policy::RoleGrant {
    wit_policy::RoleGrant {
        role: grant.role.clone(),
        permissions: grant.permissions.iter().copied().map(permission_to_wit).collect(),
    }
}

fn mark(value: wit_redaction::RedactionMark) -> api::RedactionMark {
    let kind = match value.kind {
        wit_redaction::PiiKind::Phone => api::PiiKind::Phone,
        wit_redaction::PiiKind::Email => api::PiiKind::Email,
        wit_redaction::PiiKind::PaymentCard => api::PiiKind::PaymentCard,
        wit_redaction::PiiKind::NationalId => api::PiiKind::NationalId,
    };
    api::RedactionMark { kind, start: value.start, end: value.end }
}

fn target_kind(value: wit::TargetKind) -> api::TargetKind {
    match value {
        wit::TargetKind::Call => api::TargetKind::Call,
        wit::TargetKind::Utterance => api::TargetKind::Utterance,
        wit::TargetKind::TimeRange => api::TargetKind::TimeRange,
        wit::TargetKind::ChannelRange => api::TargetKind::ChannelRange,
    }
}

fn target_kind_to_wit(value: api::TargetKind) -> wit::TargetKind {
    match value {
        api::TargetKind::Call => wit::TargetKind::Call,
        api::TargetKind::Utterance => wit::TargetKind::Utterance,
        api::TargetKind::TimeRange => wit::TargetKind::TimeRange,
        api::TargetKind::ChannelRange => wit::TargetKind::ChannelRange,
    }
}

fn schema_from_wit(schema: wit::Schema) -> api::Schema {
    let labels = schema
        .labels
        .into_iter()
        .map(|label| api::Label {
            id: label.id,
            name: label.name,
            kind: match label.kind {
                wit::LabelKind::Boolean => api::LabelKind::Boolean,
                wit::LabelKind::Categorical(options) => api::LabelKind::Categorical { options },
                wit::LabelKind::Numeric(range) => api::LabelKind::Numeric { min: range.min, max: range.max },
                wit::LabelKind::FreeText => api::LabelKind::FreeText,
            },
            targets: label.targets.into_iter().map(target_kind).collect(),
            required: label.required,
            shortcut: label.shortcut,
        })
        .collect();
    api::Schema { labels }
}

fn schema_to_wit(schema: &api::Schema) -> wit::Schema {
    let labels = schema
        .labels
        .iter()
        .map(|label| wit::Label {
            id: label.id.clone(),
            name: label.name.clone(),
            kind: match &label.kind {
                api::LabelKind::Boolean => wit::LabelKind::Boolean,
                api::LabelKind::Categorical { options } => wit::LabelKind::Categorical(options.clone()),
                api::LabelKind::Numeric { min, max } => wit::LabelKind::Numeric(wit::NumericRange { min: *min, max: *max }),
                api::LabelKind::FreeText => wit::LabelKind::FreeText,
            },
            targets: label.targets.iter().copied().map(target_kind_to_wit).collect(),
            required: label.required,
            shortcut: label.shortcut.clone(),
        })
        .collect();
    wit::Schema { labels }
}

fn target_to_wit(target: api::Target) -> wit::Target {
    match target {
        api::Target::Call => wit::Target::Call,
        api::Target::Utterance { index } => wit::Target::Utterance(index),
        api::Target::TimeRange { start_ms, end_ms } => wit::Target::TimeRange(wit::TimeRange { start_ms, end_ms }),
        api::Target::ChannelRange { channel, start_ms, end_ms } => {
            wit::Target::ChannelRange(wit::ChannelRange { channel, start_ms, end_ms })
        }
    }
}

/// Converts an annotation; a text value is a categorical option or free text, as the
/// label's kind defines (an unknown label keeps it as text, and validation refuses it).
fn annotation_to_wit(schema: &api::Schema, input: &api::AnnotationInput) -> wit::AnnotationInput {
    let categorical = schema
        .labels
        .iter()
        .any(|label| label.id == input.label_id && matches!(label.kind, api::LabelKind::Categorical { .. }));
    let value = match &input.value {
        api::LabelValue::Boolean(value) => wit::LabelValue::Boolean(*value),
        api::LabelValue::Numeric(value) => wit::LabelValue::Numeric(*value),
        api::LabelValue::Text(text) if categorical => wit::LabelValue::Categorical(text.clone()),
        api::LabelValue::Text(text) => wit::LabelValue::Text(text.clone()),
    };
    wit::AnnotationInput {
        label_id: input.label_id.clone(),
        target: target_to_wit(input.target),
        value,
        comment: input.comment.clone(),
    }
}
