//! The `policy`, `redaction` and `annotation` exports: conversions between their WIT
//! types and the library's, and nothing else. Decisions are made in
//! [`crate::policy`], [`crate::redaction`] and [`crate::annotation`].

use callscope_api_types as api;

use super::exports::callscope::plugin::annotation as wit_annotation;
use super::exports::callscope::plugin::policy as wit_policy;
use super::exports::callscope::plugin::redaction as wit_redaction;
use super::exports::callscope::plugin::types as wit;
use super::{Component, utterance_from_wit, utterance_to_wit};
use crate::{annotation, policy, redaction};

impl wit_policy::Guest for Component {
    fn parse_role_map(json: String) -> Result<Vec<wit_policy::RoleGrant>, String> {
        let grants = policy::parse_role_map(&json).map_err(|error| error.to_string())?;
        Ok(grants.into_iter().map(role_grant_to_wit).collect())
    }

    fn permissions_of(
        role_map: Vec<wit_policy::RoleGrant>,
        roles: Vec<String>,
    ) -> Vec<wit_policy::Permission> {
        let role_map: Vec<api::RoleGrant> = role_map.into_iter().map(role_grant_from_wit).collect();
        policy::permissions_of(&role_map, &roles)
            .into_iter()
            .map(permission_to_wit)
            .collect()
    }
}

fn role_grant_to_wit(grant: api::RoleGrant) -> wit_policy::RoleGrant {
    wit_policy::RoleGrant {
        role: grant.role,
        permissions: grant
            .permissions
            .into_iter()
            .map(permission_to_wit)
            .collect(),
    }
}

fn role_grant_from_wit(grant: wit_policy::RoleGrant) -> api::RoleGrant {
    api::RoleGrant {
        role: grant.role,
        permissions: grant
            .permissions
            .into_iter()
            .map(permission_from_wit)
            .collect(),
    }
}

fn permission_to_wit(permission: api::Permission) -> wit_policy::Permission {
    match permission {
        api::Permission::ViewCalls => wit_policy::Permission::ViewCalls,
        api::Permission::ViewTranscript => wit_policy::Permission::ViewTranscript,
        api::Permission::ViewPersonalData => wit_policy::Permission::ViewPersonalData,
        api::Permission::Listen => wit_policy::Permission::Listen,
        api::Permission::Annotate => wit_policy::Permission::Annotate,
        api::Permission::Review => wit_policy::Permission::Review,
        api::Permission::Export => wit_policy::Permission::Export,
        api::Permission::ManageSchema => wit_policy::Permission::ManageSchema,
        api::Permission::ManageComponent => wit_policy::Permission::ManageComponent,
        api::Permission::ImportCalls => wit_policy::Permission::ImportCalls,
    }
}

fn permission_from_wit(permission: wit_policy::Permission) -> api::Permission {
    match permission {
        wit_policy::Permission::ViewCalls => api::Permission::ViewCalls,
        wit_policy::Permission::ViewTranscript => api::Permission::ViewTranscript,
        wit_policy::Permission::ViewPersonalData => api::Permission::ViewPersonalData,
        wit_policy::Permission::Listen => api::Permission::Listen,
        wit_policy::Permission::Annotate => api::Permission::Annotate,
        wit_policy::Permission::Review => api::Permission::Review,
        wit_policy::Permission::Export => api::Permission::Export,
        wit_policy::Permission::ManageSchema => api::Permission::ManageSchema,
        wit_policy::Permission::ManageComponent => api::Permission::ManageComponent,
        wit_policy::Permission::ImportCalls => api::Permission::ImportCalls,
    }
}

impl wit_redaction::Guest for Component {
    fn redact_texts(texts: Vec<String>) -> Vec<wit_redaction::RedactedText> {
        redaction::redact_texts(&texts)
            .into_iter()
            .map(|redacted| wit_redaction::RedactedText {
                text: redacted.text,
                marks: redacted.marks.into_iter().map(mark_to_wit).collect(),
            })
            .collect()
    }

    fn redact_json(json: String) -> Result<String, String> {
        redaction::redact_json(&json).map_err(|error| error.to_string())
    }

    fn redact_utterances(
        utterances: Vec<wit::Utterance>,
    ) -> Vec<(wit::Utterance, Vec<wit_redaction::RedactionMark>)> {
        let utterances = utterances.into_iter().map(utterance_from_wit).collect();
        redaction::redact_utterances(utterances)
            .into_iter()
            .map(|(utterance, marks)| {
                (
                    utterance_to_wit(utterance),
                    marks.into_iter().map(mark_to_wit).collect(),
                )
            })
            .collect()
    }
}

fn mark_to_wit(mark: api::RedactionMark) -> wit_redaction::RedactionMark {
    wit_redaction::RedactionMark {
        kind: match mark.kind {
            api::PiiKind::Phone => wit_redaction::PiiKind::Phone,
            api::PiiKind::Email => wit_redaction::PiiKind::Email,
            api::PiiKind::PaymentCard => wit_redaction::PiiKind::PaymentCard,
            api::PiiKind::NationalId => wit_redaction::PiiKind::NationalId,
        },
        start: mark.start,
        end: mark.end,
    }
}

impl wit_annotation::Guest for Component {
    fn parse_schema(json: String) -> Result<wit_annotation::Schema, Vec<String>> {
        annotation::parse_schema(&json)
            .map(schema_to_wit)
            .map_err(|error| error.problems)
    }

    fn validate_annotation(
        schema: wit_annotation::Schema,
        input: wit_annotation::AnnotationInput,
        bounds: wit_annotation::CallBounds,
    ) -> Result<(), String> {
        let bounds = annotation::CallBounds {
            duration_ms: bounds.duration_ms,
            utterance_indices: bounds.utterance_indices,
            channels: bounds.channels,
        };
        annotation::validate_annotation(&schema_from_wit(schema), &input_from_wit(input), &bounds)
            .map_err(|error| error.to_string())
    }

    fn missing_required(
        schema: wit_annotation::Schema,
        annotations: Vec<wit_annotation::AnnotationInput>,
    ) -> Vec<String> {
        let annotations: Vec<api::AnnotationInput> =
            annotations.into_iter().map(input_from_wit).collect();
        annotation::missing_required(&schema_from_wit(schema), &annotations)
    }

    fn review_queue(
        candidates: Vec<wit_annotation::QueueCandidate>,
        sample_per_mille: u32,
        seed: u64,
    ) -> Vec<wit_annotation::QueueEntry> {
        let candidates: Vec<annotation::QueueCandidate> = candidates
            .into_iter()
            .map(|candidate| annotation::QueueCandidate {
                call_id: candidate.call_id,
                flag_codes: candidate.flag_codes,
                max_latency_ms: candidate.max_latency_ms,
            })
            .collect();
        annotation::review_queue(&candidates, sample_per_mille, seed)
            .into_iter()
            .map(|entry| wit_annotation::QueueEntry {
                call_id: entry.call_id,
                priority: entry.priority,
                reason: entry.reason.as_str().to_string(),
            })
            .collect()
    }

    #[cfg(not(feature = "interface-0-1"))]
    fn compute_agreement(
        ratings: Vec<wit_annotation::Rating>,
        level: wit_annotation::MeasurementLevel,
    ) -> Result<wit_annotation::Agreement, String> {
        agreement(ratings, level).map_err(|error| error.to_string())
    }

    #[cfg(feature = "interface-0-1")]
    fn compute_agreement(
        ratings: Vec<wit_annotation::Rating>,
        level: wit_annotation::MeasurementLevel,
    ) -> wit_annotation::Agreement {
        // NOTE: Interface 0.1.0 returns no error, so a value that is not a number at the
        // interval level traps, which the host reports as a failed request.
        agreement(ratings, level).unwrap_or_else(|error| panic!("compute-agreement: {error}"))
    }

    fn export_rows(
        rows: Vec<wit_annotation::ExportRow>,
        format: wit_annotation::ExportFormat,
        redact: bool,
    ) -> String {
        let rows: Vec<annotation::ExportRow> = rows
            .into_iter()
            .map(|row| annotation::ExportRow {
                call_id: row.call_id,
                target: target_from_wit(row.target),
                speaker: row.speaker,
                text: row.text,
                start_ms: row.start_ms,
                end_ms: row.end_ms,
                labels: row.labels,
                comments: row.comments,
                annotators: row.annotators,
            })
            .collect();
        let format = match format {
            wit_annotation::ExportFormat::Jsonl => annotation::ExportFormat::Jsonl,
            wit_annotation::ExportFormat::Csv => annotation::ExportFormat::Csv,
        };
        annotation::export_rows(&rows, format, redact)
    }
}

fn schema_to_wit(schema: api::Schema) -> wit_annotation::Schema {
    wit_annotation::Schema {
        labels: schema
            .labels
            .into_iter()
            .map(|label| wit_annotation::Label {
                id: label.id,
                name: label.name,
                kind: match label.kind {
                    api::LabelKind::Boolean => wit_annotation::LabelKind::Boolean,
                    api::LabelKind::Categorical { options } => {
                        wit_annotation::LabelKind::Categorical(options)
                    }
                    api::LabelKind::Numeric { min, max } => {
                        wit_annotation::LabelKind::Numeric(wit_annotation::NumericRange {
                            min,
                            max,
                        })
                    }
                    api::LabelKind::FreeText => wit_annotation::LabelKind::FreeText,
                },
                targets: label.targets.into_iter().map(target_kind_to_wit).collect(),
                required: label.required,
                shortcut: label.shortcut,
            })
            .collect(),
    }
}

fn schema_from_wit(schema: wit_annotation::Schema) -> api::Schema {
    api::Schema {
        labels: schema
            .labels
            .into_iter()
            .map(|label| api::Label {
                id: label.id,
                name: label.name,
                kind: match label.kind {
                    wit_annotation::LabelKind::Boolean => api::LabelKind::Boolean,
                    wit_annotation::LabelKind::Categorical(options) => {
                        api::LabelKind::Categorical { options }
                    }
                    wit_annotation::LabelKind::Numeric(range) => api::LabelKind::Numeric {
                        min: range.min,
                        max: range.max,
                    },
                    wit_annotation::LabelKind::FreeText => api::LabelKind::FreeText,
                },
                targets: label
                    .targets
                    .into_iter()
                    .map(target_kind_from_wit)
                    .collect(),
                required: label.required,
                shortcut: label.shortcut,
            })
            .collect(),
    }
}

fn target_kind_to_wit(kind: api::TargetKind) -> wit_annotation::TargetKind {
    match kind {
        api::TargetKind::Call => wit_annotation::TargetKind::Call,
        api::TargetKind::Utterance => wit_annotation::TargetKind::Utterance,
        api::TargetKind::TimeRange => wit_annotation::TargetKind::TimeRange,
        api::TargetKind::ChannelRange => wit_annotation::TargetKind::ChannelRange,
    }
}

fn target_kind_from_wit(kind: wit_annotation::TargetKind) -> api::TargetKind {
    match kind {
        wit_annotation::TargetKind::Call => api::TargetKind::Call,
        wit_annotation::TargetKind::Utterance => api::TargetKind::Utterance,
        wit_annotation::TargetKind::TimeRange => api::TargetKind::TimeRange,
        wit_annotation::TargetKind::ChannelRange => api::TargetKind::ChannelRange,
    }
}

fn target_from_wit(target: wit_annotation::Target) -> api::Target {
    match target {
        wit_annotation::Target::Call => api::Target::Call,
        wit_annotation::Target::Utterance(index) => api::Target::Utterance { index },
        wit_annotation::Target::TimeRange(range) => api::Target::TimeRange {
            start_ms: range.start_ms,
            end_ms: range.end_ms,
        },
        wit_annotation::Target::ChannelRange(range) => api::Target::ChannelRange {
            channel: range.channel,
            start_ms: range.start_ms,
            end_ms: range.end_ms,
        },
    }
}

/// The library keeps categorical options and free text in one `Text` variant, because
/// the label's kind tells them apart.
fn input_from_wit(input: wit_annotation::AnnotationInput) -> api::AnnotationInput {
    api::AnnotationInput {
        label_id: input.label_id,
        target: target_from_wit(input.target),
        value: match input.value {
            wit_annotation::LabelValue::Boolean(value) => api::LabelValue::Boolean(value),
            wit_annotation::LabelValue::Categorical(option) => api::LabelValue::Text(option),
            wit_annotation::LabelValue::Numeric(value) => api::LabelValue::Numeric(value),
            wit_annotation::LabelValue::Text(text) => api::LabelValue::Text(text),
        },
        comment: input.comment,
    }
}

fn agreement(
    ratings: Vec<wit_annotation::Rating>,
    level: wit_annotation::MeasurementLevel,
) -> Result<wit_annotation::Agreement, annotation::AgreementError> {
    let ratings: Vec<annotation::Rating> = ratings
        .into_iter()
        .map(|rating| annotation::Rating {
            item: rating.item,
            annotator: rating.annotator,
            value: rating.value,
        })
        .collect();
    let level = match level {
        wit_annotation::MeasurementLevel::Nominal => annotation::MeasurementLevel::Nominal,
        wit_annotation::MeasurementLevel::Interval => annotation::MeasurementLevel::Interval,
    };
    let agreement = annotation::compute_agreement(&ratings, level)?;
    Ok(wit_annotation::Agreement {
        annotators: agreement.annotators,
        items: agreement.items,
        cohen_kappa: agreement.cohen_kappa,
        krippendorff_alpha: agreement.krippendorff_alpha,
        observed_agreement: agreement.observed_agreement,
    })
}
