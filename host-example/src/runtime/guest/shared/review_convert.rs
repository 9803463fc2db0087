//! Conversions between the generated WIT types of the `policy`, `redaction` and
//! `annotation` interfaces of one version and the shared review types.

use callscope_api_types as api;

use super::bindings::exports::callscope::plugin::annotation as wit;
use super::bindings::exports::callscope::plugin::policy as wit_policy;
use super::bindings::exports::callscope::plugin::redaction as wit_redaction;
use crate::runtime::{ExportFormat, ExportRow, MeasurementLevel, QueueCandidate};

pub fn permission(value: wit_policy::Permission) -> api::Permission {
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

pub fn role_grant(grant: wit_policy::RoleGrant) -> api::RoleGrant {
    api::RoleGrant { role: grant.role, permissions: grant.permissions.into_iter().map(permission).collect() }
}

pub fn role_grant_to_wit(grant: &api::RoleGrant) -> wit_policy::RoleGrant {
    wit_policy::RoleGrant {
        role: grant.role.clone(),
        permissions: grant.permissions.iter().copied().map(permission_to_wit).collect(),
    }
}

pub fn mark(value: wit_redaction::RedactionMark) -> api::RedactionMark {
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

pub fn schema_from_wit(schema: wit::Schema) -> api::Schema {
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

pub fn schema_to_wit(schema: &api::Schema) -> wit::Schema {
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

/// Converts an annotation. A text value becomes a categorical option or free text, as
/// the label's kind defines. With an unknown label it stays text, which validation rejects.
pub fn annotation_to_wit(schema: &api::Schema, input: &api::AnnotationInput) -> wit::AnnotationInput {
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

pub fn measurement_level_to_wit(level: MeasurementLevel) -> wit::MeasurementLevel {
    match level {
        MeasurementLevel::Nominal => wit::MeasurementLevel::Nominal,
        MeasurementLevel::Interval => wit::MeasurementLevel::Interval,
    }
}

pub fn queue_candidate_to_wit(candidate: &QueueCandidate) -> wit::QueueCandidate {
    wit::QueueCandidate {
        call_id: candidate.call_id.clone(),
        flag_codes: candidate.flag_codes.clone(),
        max_latency_ms: candidate.max_latency_ms,
    }
}

pub fn export_row_to_wit(row: &ExportRow) -> wit::ExportRow {
    wit::ExportRow {
        call_id: row.call_id.clone(),
        target: target_to_wit(row.target),
        speaker: row.speaker.clone(),
        text: row.text.clone(),
        start_ms: row.start_ms,
        end_ms: row.end_ms,
        labels: row.labels.clone(),
        comments: row.comments.clone(),
        annotators: row.annotators.clone(),
    }
}

pub fn export_format_to_wit(format: ExportFormat) -> wit::ExportFormat {
    match format {
        ExportFormat::Jsonl => wit::ExportFormat::Jsonl,
        ExportFormat::Csv => wit::ExportFormat::Csv,
    }
}
