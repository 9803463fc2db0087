//! Annotation: the schema of labels, annotations checked against the schema and the
//! call, the review queue, agreement between annotators and export.
//!
//! The types shared with the host and the widget (`Schema`, `Label`, `Target`,
//! `LabelValue`, `AnnotationInput`) live in `callscope_api_types`. The types defined
//! here are the inputs and results of this library's functions.

mod agreement;
mod export;
mod queue;
mod schema;
mod validate;

pub use agreement::{Agreement, AgreementError, MeasurementLevel, Rating, compute_agreement};
pub use export::{CSV_COLUMNS, ExportFormat, ExportRow, export_rows};
pub use queue::{QueueCandidate, QueueEntry, QueueReason, review_queue};
pub use schema::{SchemaError, check_schema, parse_schema};
pub use validate::{
    AnnotationError, CallBounds, MAX_TEXT_CHARS, missing_required, validate_annotation,
};
