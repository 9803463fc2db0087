//! Permissions, personal-data redaction, annotation schemas, annotations, the review
//! queue, agreement and export: the types of QA review, shared by the component library
//! (which decides and validates), the host (which stores and enforces) and the widget.

use serde::{Deserialize, Serialize};

/// An action a user may take in callscope. Role names of the backoffice map to these through a
/// role map in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// See the calls list, call headers, analysis and waveforms.
    ViewCalls,
    /// Read transcripts, vendor summaries and raw payloads.
    ViewTranscript,
    /// See personal data in them; without it, it is redacted.
    ViewPersonalData,
    /// Play recordings.
    Listen,
    /// Create, edit and delete one's own annotations.
    Annotate,
    /// Use the review queue and the agreement page; assign calls.
    Review,
    /// Download annotated calls as JSONL or CSV.
    Export,
    /// Change the annotation schema.
    ManageSchema,
    /// Install, roll back and inspect components; read the audit log.
    ManageComponent,
    /// Upload payloads and recordings.
    ImportCalls,
}

impl Permission {
    /// Every permission, in declaration order.
    pub const ALL: [Permission; 10] = [
        Permission::ViewCalls,
        Permission::ViewTranscript,
        Permission::ViewPersonalData,
        Permission::Listen,
        Permission::Annotate,
        Permission::Review,
        Permission::Export,
        Permission::ManageSchema,
        Permission::ManageComponent,
        Permission::ImportCalls,
    ];

    /// Returns the kebab-case name used in role maps and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewCalls => "view-calls",
            Permission::ViewTranscript => "view-transcript",
            Permission::ViewPersonalData => "view-personal-data",
            Permission::Listen => "listen",
            Permission::Annotate => "annotate",
            Permission::Review => "review",
            Permission::Export => "export",
            Permission::ManageSchema => "manage-schema",
            Permission::ManageComponent => "manage-component",
            Permission::ImportCalls => "import-calls",
        }
    }

    /// Parses a kebab-case name.
    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|permission| permission.as_str() == name)
    }
}

/// One backoffice role and the permissions it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrant {
    pub role: String,
    pub permissions: Vec<Permission>,
}

/// Kind of personal data a redaction removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PiiKind {
    Phone,
    Email,
    PaymentCard,
    NationalId,
}

impl PiiKind {
    /// Returns the marker that replaces the data in redacted text, e.g. `[phone]`.
    pub fn marker(self) -> &'static str {
        match self {
            PiiKind::Phone => "[phone]",
            PiiKind::Email => "[email]",
            PiiKind::PaymentCard => "[payment-card]",
            PiiKind::NationalId => "[national-id]",
        }
    }
}

/// One redacted span: byte offsets of the marker in the redacted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactionMark {
    pub kind: PiiKind,
    pub start: u32,
    pub end: u32,
}

/// A text after redaction, with where each marker sits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RedactedText {
    pub text: String,
    pub marks: Vec<RedactionMark>,
}

/// Kind of target an annotation is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Call,
    Utterance,
    TimeRange,
    ChannelRange,
}

/// The values a label takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum LabelKind {
    Boolean,
    Categorical { options: Vec<String> },
    Numeric { min: f64, max: f64 },
    FreeText,
}

/// One label of the annotation schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Stable identifier, `[a-z0-9-]+`.
    pub id: String,
    pub name: String,
    pub kind: LabelKind,
    pub targets: Vec<TargetKind>,
    #[serde(default)]
    pub required: bool,
    /// One printable key, unique in the schema.
    #[serde(default)]
    pub shortcut: Option<String>,
}

/// The annotation schema from configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Schema {
    pub labels: Vec<Label>,
}

/// Place of an annotation on a call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Target {
    Call,
    Utterance { index: u32 },
    TimeRange { start_ms: i64, end_ms: i64 },
    ChannelRange { channel: u16, start_ms: i64, end_ms: i64 },
}

impl Target {
    pub fn kind(&self) -> TargetKind {
        match self {
            Target::Call => TargetKind::Call,
            Target::Utterance { .. } => TargetKind::Utterance,
            Target::TimeRange { .. } => TargetKind::TimeRange,
            Target::ChannelRange { .. } => TargetKind::ChannelRange,
        }
    }
}

/// The value an annotation sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelValue {
    Boolean(bool),
    Numeric(f64),
    /// A categorical option or free text; the label's kind decides which.
    Text(String),
}

impl LabelValue {
    /// Returns the value as export and agreement compare it.
    pub fn to_text(&self) -> String {
        match self {
            LabelValue::Boolean(value) => value.to_string(),
            LabelValue::Numeric(value) => value.to_string(),
            LabelValue::Text(value) => value.clone(),
        }
    }
}

/// Body of a request that creates or edits an annotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationInput {
    pub label_id: String,
    pub target: Target,
    pub value: LabelValue,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Body of an edit: the new content and the version it was based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationEdit {
    #[serde(flatten)]
    pub input: AnnotationInput,
    /// The version the editor saw; a newer stored version refuses the edit with 409.
    pub base_version: u32,
}

/// The current version of an annotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub id: String,
    pub call_id: String,
    /// Starts at 1; every edit and the deletion add one.
    pub version: u32,
    pub author: String,
    /// When this version was written, RFC 3339.
    pub updated_at: String,
    #[serde(flatten)]
    pub input: AnnotationInput,
}

/// One entry of an annotation's append-only history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationVersion {
    pub annotation_id: String,
    pub version: u32,
    pub previous_version: Option<u32>,
    /// `create`, `edit` or `delete`.
    pub action: String,
    pub user: String,
    pub at: String,
    /// The content of this version; `None` for a deletion.
    pub content: Option<AnnotationInput>,
}

/// Body of a 409 response: the edit was based on an old version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionConflict {
    pub error: String,
    pub message: String,
    /// The stored version; `None` when the annotation was deleted.
    pub current: Option<Annotation>,
}

/// The annotations of one call, with what the schema still requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallAnnotations {
    pub annotations: Vec<Annotation>,
    /// Ids of required labels no annotation of the call sets yet.
    pub missing_required: Vec<String>,
}

/// One row of the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub call_id: String,
    pub title: String,
    /// Higher comes first.
    pub priority: u32,
    /// `flagged` or `sampled`.
    pub reason: String,
    pub flag_codes: Vec<String>,
    pub assignee: Option<String>,
    /// All required labels are set.
    pub done: bool,
}

/// Agreement between annotators on one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelAgreement {
    pub label_id: String,
    pub annotators: u32,
    /// Items rated by at least two annotators.
    pub items: u32,
    pub cohen_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
    pub observed_agreement: Option<f64>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub user: Option<String>,
    /// For example `annotation.create`, `export`, `refused`.
    pub action: String,
    /// Object of the action, such as a call or annotation id, or the refused path.
    pub subject: String,
    pub detail: String,
}
