//! Requests of QA review: the annotation schema, a call's annotations and their
//! history, the review queue, agreement between annotators, export and the audit log.

use callscope_api_types::{
    Annotation, AnnotationEdit, AnnotationInput, AnnotationVersion, AuditEntry, CallAnnotations, LabelAgreement, QueueEntry, Schema,
};
use gloo_net::http::Method;
use serde::Serialize;

use super::{Api, ApiFailure, encode_segment};

/// File formats of the export download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per utterance or range, with labels and text.
    Jsonl,
    Csv,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        }
    }
}

/// Body of an assignment request; `None` removes the assignee.
#[derive(Serialize)]
struct Assignment<'a> {
    assignee: Option<&'a str>,
}

impl Api {
    pub async fn schema(&self) -> Result<Schema, ApiFailure> {
        self.get_json("schema").await
    }

    pub async fn annotations(&self, call_id: &str) -> Result<CallAnnotations, ApiFailure> {
        self.get_json(&annotations_path(call_id)).await
    }

    /// Creates an annotation on `call_id` and returns it at version 1.
    pub async fn create_annotation(&self, call_id: &str, input: &AnnotationInput) -> Result<Annotation, ApiFailure> {
        self.change_json(Method::POST, &annotations_path(call_id), Some(input)).await
    }

    /// Replaces an annotation's content. Fails with [`ApiFailure::Conflict`] when the
    /// stored version is newer than `edit.base_version`.
    pub async fn edit_annotation(&self, annotation_id: &str, edit: &AnnotationEdit) -> Result<Annotation, ApiFailure> {
        self.change_json(Method::PUT, &annotation_path(annotation_id), Some(edit)).await
    }

    /// Deletes an annotation. Fails with [`ApiFailure::Conflict`] when the stored
    /// version is newer than `base_version`.
    pub async fn delete_annotation(&self, annotation_id: &str, base_version: u32) -> Result<(), ApiFailure> {
        self.change_empty(Method::DELETE, &delete_path(annotation_id, base_version), None::<&()>).await
    }

    /// Returns every version of an annotation, oldest first.
    pub async fn annotation_history(&self, annotation_id: &str) -> Result<Vec<AnnotationVersion>, ApiFailure> {
        self.get_json(&format!("{}/history", annotation_path(annotation_id))).await
    }

    pub async fn review_queue(&self) -> Result<Vec<QueueEntry>, ApiFailure> {
        self.get_json("review/queue").await
    }

    /// Assigns `call_id` to `assignee`, or to nobody when it is `None`.
    pub async fn assign(&self, call_id: &str, assignee: Option<&str>) -> Result<(), ApiFailure> {
        let path = format!("review/assignments/{}", encode_segment(call_id));
        self.change_empty(Method::PUT, &path, Some(&Assignment { assignee })).await
    }

    pub async fn agreement(&self) -> Result<Vec<LabelAgreement>, ApiFailure> {
        self.get_json("review/agreement").await
    }

    pub async fn audit(&self) -> Result<Vec<AuditEntry>, ApiFailure> {
        self.get_json("audit").await
    }

    /// URL of the export download, for a plain link.
    pub fn export_url(&self, format: ExportFormat) -> String {
        self.url(&format!("export?format={}", format.as_str()))
    }
}

fn annotations_path(call_id: &str) -> String {
    format!("calls/{}/annotations", encode_segment(call_id))
}

fn annotation_path(annotation_id: &str) -> String {
    format!("annotations/{}", encode_segment(annotation_id))
}

fn delete_path(annotation_id: &str, base_version: u32) -> String {
    format!("{}?base_version={base_version}", annotation_path(annotation_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_path_encodes_call_id() {
        assert_eq!(annotations_path("a/b"), "calls/a%2Fb/annotations");
    }

    #[test]
    fn delete_path_sends_base_version() {
        assert_eq!(delete_path("ann 1", 4), "annotations/ann%201?base_version=4");
    }

    #[test]
    fn export_url_names_format() {
        let api = Api::new("/callscope/api");
        assert_eq!(api.export_url(ExportFormat::Jsonl), "/callscope/api/export?format=jsonl");
        assert_eq!(api.export_url(ExportFormat::Csv), "/callscope/api/export?format=csv");
    }

    #[test]
    fn assignment_body_null_unassigns() {
        assert_eq!(serde_json::to_string(&Assignment { assignee: None }).unwrap(), r#"{"assignee":null}"#);
        assert_eq!(serde_json::to_string(&Assignment { assignee: Some("ann") }).unwrap(), r#"{"assignee":"ann"}"#);
    }
}
