//! The annotating state of one open call and the requests that change its
//! annotations: the selected target, the value being entered, a version conflict
//! waiting for the user's decision, and the last outcome. The call view owns it, so
//! that both the annotation panel and the call view's keyboard shortcuts act on it.

use callscope_api_types::{Annotation, AnnotationEdit, AnnotationInput, LabelKind, LabelValue, Schema, Target, VersionConflict};
use yew::prelude::*;

use crate::annotate::{self, label_name, target_for_label};
use crate::api::{Api, ApiFailure};
use crate::shared::Shared;

/// A label value being entered, for a new annotation or an edit.
#[derive(Debug, Clone, PartialEq)]
pub struct Editor {
    pub label_id: String,
    pub target: Target,
    /// The annotation being edited and the version the edit is based on; `None`
    /// creates a new annotation.
    pub editing: Option<(String, u32)>,
    /// Text of the value field, as [`annotate::parse_value`] reads it.
    pub value: String,
    pub comment: String,
    /// Reason the last attempt to save was not sent.
    pub problem: Option<String>,
}

/// The change that met a newer version.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Edit { annotation_id: String, input: AnnotationInput },
    Delete { annotation_id: String },
}

/// A change the host rejected with 409 because someone changed the annotation first.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub attempt: Attempt,
    /// The stored version; `None` when the annotation was deleted.
    pub current: Option<Annotation>,
    pub message: String,
}

/// Outcome of the last annotation request.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Saved(String),
    Failed(String),
}

/// The annotating state of one call; see the module documentation.
#[derive(Clone, PartialEq)]
pub struct Annotator {
    api: Api,
    call_id: String,
    pub schema: Shared<Schema>,
    /// Reads the call's annotations again after a change.
    reload: Callback<()>,
    pub selection: UseStateHandle<Option<Target>>,
    pub editor: UseStateHandle<Option<Editor>>,
    pub conflict: UseStateHandle<Option<Conflict>>,
    pub notice: UseStateHandle<Option<Notice>>,
    /// Comment for the next new annotation.
    pub comment: UseStateHandle<String>,
    /// Name of each channel's waveform lane, for describing channel ranges.
    pub channel_names: Shared<Vec<String>>,
}

#[hook]
pub fn use_annotator(
    api: Api,
    call_id: String,
    schema: Shared<Schema>,
    reload: Callback<()>,
    channel_names: Shared<Vec<String>>,
) -> Annotator {
    Annotator {
        api,
        call_id,
        schema,
        reload,
        channel_names,
        selection: use_state(|| None),
        editor: use_state(|| None),
        conflict: use_state(|| None),
        notice: use_state(|| None),
        comment: use_state(String::new),
    }
}

impl Annotator {
    /// Selects a target; a new selection closes an open new-annotation editor,
    /// whose target it would otherwise silently keep.
    pub fn select(&self, target: Option<Target>) {
        if self.editor.as_ref().is_some_and(|editor| editor.editing.is_none()) {
            self.editor.set(None);
        }
        // A "Saved … on <target>" line would read as if it were about the new target.
        if *self.selection != target && matches!(*self.notice, Some(Notice::Saved(_))) {
            self.notice.set(None);
        }
        self.selection.set(target);
    }

    /// Applies label `label_id` to the selection: a boolean label is saved as `yes`
    /// at once, any other kind opens the value editor.
    pub fn apply_label(&self, label_id: &str) {
        let Some(label) = self.schema.labels.iter().find(|label| label.id == label_id) else {
            self.notice.set(Some(Notice::Failed(format!("label {label_id} is not in the annotation schema; reload the page"))));
            return;
        };
        let target = match target_for_label(label, self.selection.as_ref()) {
            Ok(target) => target,
            Err(mismatch) => {
                self.notice.set(Some(Notice::Failed(mismatch.to_string())));
                return;
            }
        };

        let comment = (*self.comment).clone();
        if label.kind == LabelKind::Boolean {
            let input = AnnotationInput { label_id: label.id.clone(), target, value: LabelValue::Boolean(true), comment: non_empty(&comment) };
            self.create(input);
            return;
        }
        self.editor.set(Some(Editor { label_id: label.id.clone(), target, editing: None, value: String::new(), comment, problem: None }));
        self.notice.set(None);
    }

    /// Opens the editor on an existing annotation of the signed-in user.
    pub fn start_edit(&self, annotation: &Annotation) {
        self.editor.set(Some(Editor {
            label_id: annotation.input.label_id.clone(),
            target: annotation.input.target,
            editing: Some((annotation.id.clone(), annotation.version)),
            value: annotate::value_input(&annotation.input.value),
            comment: annotation.input.comment.clone().unwrap_or_default(),
            problem: None,
        }));
        self.notice.set(None);
    }

    pub fn cancel_edit(&self) {
        self.editor.set(None);
    }

    /// Saves `editor` with `value` as the entered value: creates or edits. A value
    /// the label does not accept stays in the editor with the reason.
    pub fn save(&self, editor: Editor, value: String) {
        let Some(label) = self.schema.labels.iter().find(|label| label.id == editor.label_id) else { return };
        let parsed = match annotate::parse_value(&label.kind, &value) {
            Ok(parsed) => parsed,
            Err(problem) => {
                self.editor.set(Some(Editor { value, problem: Some(problem), ..editor }));
                return;
            }
        };
        let input = AnnotationInput { label_id: editor.label_id.clone(), target: editor.target, value: parsed, comment: non_empty(&editor.comment) };
        match editor.editing {
            Some((annotation_id, base_version)) => self.edit(annotation_id, input, base_version),
            None => self.create(input),
        }
    }

    /// Deletes an annotation of the signed-in user, based on the version shown.
    pub fn delete(&self, annotation: &Annotation) {
        self.send_delete(annotation.id.clone(), annotation.version, label_name(&self.schema, &annotation.input.label_id).to_owned());
    }

    /// Sends the change that met a conflict again, now based on the current version.
    /// An edit of an annotation deleted meanwhile creates it anew.
    pub fn reapply(&self) {
        let Some(conflict) = (*self.conflict).clone() else { return };
        self.conflict.set(None);
        match (conflict.attempt, conflict.current) {
            (Attempt::Edit { annotation_id, input }, Some(current)) => self.edit(annotation_id, input, current.version),
            (Attempt::Edit { input, .. }, None) => self.create(input),
            (Attempt::Delete { annotation_id }, Some(current)) => {
                let name = label_name(&self.schema, &current.input.label_id).to_owned();
                self.send_delete(annotation_id, current.version, name);
            }
            (Attempt::Delete { .. }, None) => {
                self.notice.set(Some(Notice::Saved(String::from("The annotation was already deleted."))));
                self.reload.emit(());
            }
        }
    }

    /// Drops the change that met a conflict and keeps the stored version.
    pub fn dismiss_conflict(&self) {
        self.conflict.set(None);
        self.reload.emit(());
    }

    fn create(&self, input: AnnotationInput) {
        let this = self.clone();
        let name = label_name(&self.schema, &input.label_id).to_owned();
        yew::platform::spawn_local(async move {
            let result = this.api.create_annotation(&this.call_id, &input).await;
            match result {
                Ok(_) => {
                    this.comment.set(String::new());
                    this.finish(format!("Saved \"{name}\" on {}.", annotate::describe_target(&input.target, &this.channel_names).to_lowercase()));
                }
                Err(failure) => this.fail(failure, None),
            }
        });
    }

    fn edit(&self, annotation_id: String, input: AnnotationInput, base_version: u32) {
        let this = self.clone();
        let name = label_name(&self.schema, &input.label_id).to_owned();
        yew::platform::spawn_local(async move {
            let edit = AnnotationEdit { input, base_version };
            let result = this.api.edit_annotation(&annotation_id, &edit).await;
            match result {
                Ok(saved) => this.finish(format!("Saved \"{name}\" as version {}.", saved.version)),
                Err(failure) => this.fail(failure, Some(Attempt::Edit { annotation_id, input: edit.input })),
            }
        });
    }

    fn send_delete(&self, annotation_id: String, base_version: u32, name: String) {
        let this = self.clone();
        yew::platform::spawn_local(async move {
            let result = this.api.delete_annotation(&annotation_id, base_version).await;
            match result {
                Ok(()) => this.finish(format!("Deleted \"{name}\".")),
                Err(failure) => this.fail(failure, Some(Attempt::Delete { annotation_id })),
            }
        });
    }

    fn finish(&self, message: String) {
        self.editor.set(None);
        self.notice.set(Some(Notice::Saved(message)));
        self.reload.emit(());
    }

    /// Shows a failed request: a conflict waits for the user's decision, any other
    /// failure is shown as a message and keeps the editor open.
    fn fail(&self, failure: ApiFailure, attempt: Option<Attempt>) {
        match (failure, attempt) {
            (ApiFailure::Conflict { conflict, .. }, Some(attempt)) => {
                let VersionConflict { message, current, .. } = *conflict;
                self.editor.set(None);
                self.notice.set(None);
                self.conflict.set(Some(Conflict { attempt, current, message }));
                self.reload.emit(());
            }
            (failure, _) => self.notice.set(Some(Notice::Failed(failure.to_string()))),
        }
    }
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}
