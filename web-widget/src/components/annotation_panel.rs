//! The annotation panel of a call: the labels still required, the controls that
//! apply labels to the selected target (for users who may annotate), a value
//! editor, a version conflict to resolve, and everyone's annotations with their
//! history. The state lives in [`Annotator`], which the call view owns.

use callscope_api_types::{Annotation, CallAnnotations, Label, LabelKind, Target, Utterance};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::access::Access;
use crate::annotate::{self, annotation_title, chip_text, describe_target, label_name, target_for_label, value_text};
use crate::api::Api;
use crate::components::annotator::{Annotator, Attempt, Conflict, Editor, Notice};
use crate::components::load::{FailureNotice, Load, use_load};
use crate::components::transcript::speaker_name;
use crate::format;
use crate::shared::Shared;

#[derive(Properties, PartialEq)]
pub struct AnnotationPanelProps {
    pub api: Api,
    pub annotator: Annotator,
    pub annotations: Load<CallAnnotations>,
    pub access: Shared<Access>,
    pub utterances: Shared<Vec<Utterance>>,
    /// Whether the user may annotate: the controls show only then.
    pub can_annotate: bool,
    /// Whether the call has a waveform to drag a range on.
    pub has_waveform: bool,
}

#[component]
pub fn AnnotationPanel(props: &AnnotationPanelProps) -> Html {
    let annotator = &props.annotator;
    let list = match &props.annotations {
        Load::Loading => html! { <p class="callscope-muted">{ "Loading annotations…" }</p> },
        Load::Failed(failure) => html! { <FailureNotice failure={failure.clone()} /> },
        Load::Loaded(annotations) => html! {
            <>
                if props.can_annotate {
                    { missing_required(annotations, &annotator.schema.labels) }
                }
                <AnnotationList api={props.api.clone()} annotations={annotations.clone()} annotator={annotator.clone()}
                    user={props.access.user.clone()} can_annotate={props.can_annotate} />
            </>
        },
    };

    html! {
        <section class="callscope-annotations" data-testid="annotation-panel" aria-label="Annotations">
            <h3 class="callscope-section-heading">{ "Annotations" }</h3>
            if props.can_annotate {
                <div class="callscope-annotate" data-testid="annotation-controls">
                    { selection_line(annotator, &props.utterances, props.has_waveform) }
                    { label_buttons(annotator) }
                    // An open value editor has its own comment field.
                    if annotator.editor.is_none() {
                        { comment_field(annotator) }
                    }
                    if let Some(editor) = (*annotator.editor).clone() {
                        <ValueEditor annotator={annotator.clone()} {editor} />
                    }
                    if let Some(conflict) = (*annotator.conflict).clone() {
                        { conflict_box(annotator, &conflict) }
                    }
                    { notice_line(annotator.notice.as_ref()) }
                </div>
            }
            { list }
        </section>
    }
}

fn missing_required(annotations: &CallAnnotations, labels: &[Label]) -> Html {
    let has_required = labels.iter().any(|label| label.required);
    if !has_required {
        return html! {};
    }
    if annotations.missing_required.is_empty() {
        return html! { <p class="callscope-required callscope-required--done" data-testid="required-done">{ "All required labels are set." }</p> };
    }
    let names: Vec<&str> = annotations
        .missing_required
        .iter()
        .map(|id| labels.iter().find(|label| &label.id == id).map_or(id.as_str(), |label| label.name.as_str()))
        .collect();
    html! {
        <p class="callscope-required" data-testid="missing-required" data-label-ids={annotations.missing_required.join(",")}>
            <strong>{ "Required labels not set yet: " }</strong>{ names.join(", ") }
        </p>
    }
}

/// Names the selected target and offers the whole call as a target.
fn selection_line(annotator: &Annotator, utterances: &[Utterance], has_waveform: bool) -> Html {
    let text = match annotator.selection.as_ref() {
        None if has_waveform => String::from(
            "Nothing selected. Drag on the waveform to select a range, pick an utterance with its Select button, or choose the whole call.",
        ),
        None => String::from("Nothing selected. Pick an utterance with its Select button, or choose the whole call."),
        Some(Target::Utterance { index }) => match utterances.iter().find(|utterance| utterance.index == *index) {
            Some(utterance) => format!("Utterance {index}: {} at {}", speaker_name(utterance.speaker), format::clock(utterance.start_ms)),
            None => format!("Utterance {index}"),
        },
        Some(target) => describe_target(target, &annotator.channel_names),
    };
    let whole_call = {
        let annotator = annotator.clone();
        Callback::from(move |_: MouseEvent| annotator.select(Some(Target::Call)))
    };
    let clear = {
        let annotator = annotator.clone();
        Callback::from(move |_: MouseEvent| annotator.select(None))
    };
    let kind = annotator.selection.as_ref().map(|target| target.kind());
    html! {
        <div class="callscope-selection-line">
            <span class="callscope-fact-label">{ "Target" }</span>
            <span data-testid="selected-target" data-kind={kind.map(|kind| format!("{kind:?}"))}>{ text }</span>
            <button type="button" class="callscope-button callscope-button--small" data-testid="target-call"
                aria-pressed={(kind == Some(callscope_api_types::TargetKind::Call)).to_string()} onclick={whole_call}>{ "Whole call" }</button>
            if annotator.selection.is_some() {
                <button type="button" class="callscope-button callscope-button--small" data-testid="clear-selection" onclick={clear}>{ "Clear" }</button>
            }
        </div>
    }
}

/// Renders one button per label. A label that does not apply to the selection is
/// disabled, and its hover text gives the reason.
fn label_buttons(annotator: &Annotator) -> Html {
    let buttons = annotator.schema.labels.iter().map(|label| {
        let fit = target_for_label(label, annotator.selection.as_ref());
        let title = match &fit {
            Ok(target) => format!("Apply \"{}\" to {}", label.name, describe_target(target, &annotator.channel_names).to_lowercase()),
            Err(mismatch) => mismatch.to_string(),
        };
        let onclick = {
            let annotator = annotator.clone();
            let id = label.id.clone();
            Callback::from(move |_: MouseEvent| annotator.apply_label(&id))
        };
        html! {
            <button type="button" class={classes!("callscope-button", "callscope-label-button", label.required.then_some("callscope-label-button--required"))}
                data-testid="label-button" data-label-id={label.id.clone()} disabled={fit.is_err()} {title} {onclick}>
                { &label.name }
                if let Some(key) = &label.shortcut {
                    <kbd class="callscope-kbd">{ key }</kbd>
                }
            </button>
        }
    });
    html! { <div class="callscope-label-buttons" role="group" aria-label="Labels">{ for buttons }</div> }
}

fn comment_field(annotator: &Annotator) -> Html {
    let oninput = {
        let comment = annotator.comment.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            comment.set(input.value());
        })
    };
    html! {
        <label class="callscope-field">
            <span class="callscope-fact-label">{ "Comment for the next label (optional)" }</span>
            <input type="text" class="callscope-input" data-testid="annotation-comment" value={(*annotator.comment).clone()} {oninput} />
        </label>
    }
}

fn notice_line(notice: Option<&Notice>) -> Html {
    match notice {
        None => html! {},
        Some(Notice::Saved(text)) => html! { <p class="callscope-notice-line" data-testid="annotation-notice" data-kind="saved" role="status">{ text }</p> },
        Some(Notice::Failed(text)) => html! {
            <p class="callscope-notice-line callscope-notice-line--error" data-testid="annotation-notice" data-kind="error" role="alert">{ text }</p>
        },
    }
}

#[derive(Properties, PartialEq)]
struct ValueEditorProps {
    annotator: Annotator,
    editor: Editor,
}

/// Entry of a label's value: option buttons for categorical and boolean labels, a
/// number or text field with Save for the others, and the comment.
#[component]
fn ValueEditor(props: &ValueEditorProps) -> Html {
    let value_ref = use_node_ref();
    let comment_ref = use_node_ref();
    let annotator = &props.annotator;
    let editor = &props.editor;
    let Some(label) = annotator.schema.labels.iter().find(|label| label.id == editor.label_id) else { return html! {} };

    {
        // Puts the cursor in the value field, so a shortcut can be followed by typing.
        let value_ref = value_ref.clone();
        use_effect_with(editor.label_id.clone(), move |_| {
            if let Some(input) = value_ref.cast::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
        });
    }

    let comment_now = {
        let comment_ref = comment_ref.clone();
        let fallback = editor.comment.clone();
        move || comment_ref.cast::<HtmlInputElement>().map_or(fallback.clone(), |input| input.value())
    };
    let save_with = |value: String| {
        let annotator = annotator.clone();
        let editor = editor.clone();
        let comment_now = comment_now.clone();
        Callback::from(move |_: MouseEvent| annotator.save(Editor { comment: comment_now(), ..editor.clone() }, value.clone()))
    };
    let save_field = {
        let annotator = annotator.clone();
        let editor = editor.clone();
        let value_ref = value_ref.clone();
        let comment_now = comment_now.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let value = value_ref.cast::<HtmlInputElement>().map(|input| input.value()).unwrap_or_default();
            annotator.save(Editor { comment: comment_now(), ..editor.clone() }, value);
        })
    };
    let cancel = {
        let annotator = annotator.clone();
        Callback::from(move |_: MouseEvent| annotator.cancel_edit())
    };

    let options: Option<Vec<(String, String)>> = match &label.kind {
        LabelKind::Categorical { options } => Some(options.iter().map(|option| (option.clone(), option.clone())).collect()),
        LabelKind::Boolean => Some(vec![(String::from("true"), String::from("yes")), (String::from("false"), String::from("no"))]),
        LabelKind::Numeric { .. } | LabelKind::FreeText => None,
    };
    let entry = match (&options, &label.kind) {
        (Some(options), _) => {
            let buttons = options.iter().enumerate().map(|(index, (value, text))| {
                let current = editor.value == *value;
                // The first option takes the focus when the editor opens.
                let node = if index == 0 { value_ref.clone() } else { NodeRef::default() };
                html! {
                    <button type="button" class={classes!("callscope-button", current.then_some("callscope-toggle-button--on"))}
                        data-testid="label-option" data-option={value.clone()} ref={node} onclick={save_with(value.clone())}>{ text }</button>
                }
            });
            html! { <div class="callscope-button-group callscope-options">{ for buttons }</div> }
        }
        (None, LabelKind::Numeric { min, max }) => html! {
            <input type="number" class="callscope-input callscope-input--number" data-testid="label-value" min={min.to_string()} max={max.to_string()}
                step="any" value={editor.value.clone()} placeholder={format!("{min} to {max}")} ref={value_ref.clone()} />
        },
        (None, _) => html! {
            <input type="text" class="callscope-input" data-testid="label-value" value={editor.value.clone()} ref={value_ref.clone()} />
        },
    };

    let verb = if editor.editing.is_some() { "Edit" } else { "New" };
    html! {
        <form class="callscope-editor" data-testid="value-editor" data-label-id={label.id.clone()} onsubmit={save_field}>
            <div class="callscope-editor-title">
                { format!("{verb} \"{}\" on {}", label.name, describe_target(&editor.target, &annotator.channel_names).to_lowercase()) }
            </div>
            { entry }
            <label class="callscope-field">
                <span class="callscope-fact-label">{ "Comment (optional)" }</span>
                <input type="text" class="callscope-input" data-testid="editor-comment" value={editor.comment.clone()} ref={comment_ref} />
            </label>
            <div class="callscope-button-group">
                if options.is_none() {
                    <button type="submit" class="callscope-button callscope-button--primary" data-testid="save-annotation">{ "Save" }</button>
                }
                <button type="button" class="callscope-button" data-testid="cancel-annotation" onclick={cancel}>{ "Cancel" }</button>
            </div>
            if let Some(problem) = &editor.problem {
                <p class="callscope-notice-line callscope-notice-line--error" data-testid="value-problem" role="alert">{ problem }</p>
            }
        </form>
    }
}

/// Shows the stored version next to the change the user tried, with the choice to
/// apply the change on top of it or keep it.
fn conflict_box(annotator: &Annotator, conflict: &Conflict) -> Html {
    let schema = &annotator.schema;
    let tried = match &conflict.attempt {
        Attempt::Edit { input, .. } => {
            let name = label_name(schema, &input.label_id);
            format!("Your change: \"{name}\" = {} on {}", value_text(&input.value), describe_target(&input.target, &annotator.channel_names).to_lowercase())
        }
        Attempt::Delete { .. } => String::from("Your change: delete the annotation"),
    };
    let current = match &conflict.current {
        Some(current) => format!(
            "Current version {} by {} at {}: {}{}",
            current.version,
            current.author,
            current.updated_at,
            chip_text(current, schema),
            current.input.comment.as_deref().map(|comment| format!(" ({comment})")).unwrap_or_default(),
        ),
        None => String::from("The annotation was deleted meanwhile."),
    };
    let reapply_text = match (&conflict.attempt, &conflict.current) {
        (Attempt::Edit { .. }, None) => "Create it again",
        (Attempt::Delete { .. }, None) => "OK",
        _ => "Re-apply my change",
    };
    let reapply = {
        let annotator = annotator.clone();
        Callback::from(move |_: MouseEvent| annotator.reapply())
    };
    let dismiss = {
        let annotator = annotator.clone();
        Callback::from(move |_: MouseEvent| annotator.dismiss_conflict())
    };
    html! {
        <div class="callscope-notice callscope-notice--error callscope-conflict" data-testid="annotation-conflict" role="alert">
            <strong>{ "Someone changed this annotation first. " }</strong>{ &conflict.message }
            <div data-testid="conflict-current">{ current }</div>
            <div>{ tried }</div>
            <div class="callscope-button-group">
                <button type="button" class="callscope-button callscope-button--primary" data-testid="reapply" onclick={reapply}>{ reapply_text }</button>
                if conflict.current.is_some() {
                    <button type="button" class="callscope-button" data-testid="dismiss-conflict" onclick={dismiss}>{ "Keep the current version" }</button>
                }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct AnnotationListProps {
    api: Api,
    annotations: Shared<CallAnnotations>,
    annotator: Annotator,
    user: String,
    can_annotate: bool,
}

/// Lists every annotation of the call: the whole call first, then utterances by
/// index, then ranges by start.
#[component]
fn AnnotationList(props: &AnnotationListProps) -> Html {
    let open_history = use_state(|| None::<String>);
    let mut annotations: Vec<&Annotation> = props.annotations.annotations.iter().collect();
    annotations.sort_by_key(|annotation| order_key(&annotation.input.target));

    if annotations.is_empty() {
        return html! { <p class="callscope-muted" data-testid="annotation-list-empty">{ "No annotations yet." }</p> };
    }

    let schema = &props.annotator.schema;
    let rows = annotations.into_iter().map(|annotation| {
        let own = annotation.author == props.user;
        let history_open = open_history.as_deref() == Some(annotation.id.as_str());
        let toggle_history = {
            let open_history = open_history.clone();
            let id = annotation.id.clone();
            Callback::from(move |_: MouseEvent| open_history.set(if history_open { None } else { Some(id.clone()) }))
        };
        let edit = {
            let annotator = props.annotator.clone();
            let annotation = annotation.clone();
            Callback::from(move |_: MouseEvent| annotator.start_edit(&annotation))
        };
        let delete = {
            let annotator = props.annotator.clone();
            let annotation = annotation.clone();
            Callback::from(move |_: MouseEvent| annotator.delete(&annotation))
        };
        let select = {
            let annotator = props.annotator.clone();
            let target = annotation.input.target;
            Callback::from(move |_: MouseEvent| annotator.select(Some(target)))
        };
        html! {
            <li key={annotation.id.clone()} class={classes!("callscope-annotation", own.then_some("callscope-annotation--own"))}
                data-testid="annotation-item" data-annotation-id={annotation.id.clone()} data-label-id={annotation.input.label_id.clone()}
                data-version={annotation.version.to_string()} title={annotation_title(annotation, schema)}>
                <span class="callscope-annotation-label">{ chip_text(annotation, schema) }</span>
                if props.can_annotate {
                    <button type="button" class="callscope-link-button callscope-annotation-target" data-testid="annotation-target"
                        title="Select this target" onclick={select}>{ describe_target(&annotation.input.target, &props.annotator.channel_names) }</button>
                } else {
                    <span class="callscope-annotation-target" data-testid="annotation-target">{ describe_target(&annotation.input.target, &props.annotator.channel_names) }</span>
                }
                <span class="callscope-muted">{ format!("{} · v{}", annotation.author, annotation.version) }</span>
                if let Some(comment) = &annotation.input.comment {
                    <span class="callscope-annotation-comment">{ comment }</span>
                }
                <span class="callscope-button-group callscope-annotation-actions">
                    if own && props.can_annotate {
                        <button type="button" class="callscope-button callscope-button--small" data-testid="edit-annotation" onclick={edit}>{ "Edit" }</button>
                        <button type="button" class="callscope-button callscope-button--small" data-testid="delete-annotation" onclick={delete}>{ "Delete" }</button>
                    }
                    <button type="button" class="callscope-button callscope-button--small" data-testid="annotation-history-toggle"
                        aria-expanded={history_open.to_string()} onclick={toggle_history}>{ "History" }</button>
                </span>
                if history_open {
                    <History api={props.api.clone()} annotation_id={annotation.id.clone()} version={annotation.version} schema={schema.clone()} />
                }
            </li>
        }
    });

    html! { <ul class="callscope-annotation-list" data-testid="annotation-list">{ for rows }</ul> }
}

/// Sort key of the list: the whole call, then utterances, then ranges by time.
fn order_key(target: &Target) -> (u8, i64) {
    match *target {
        Target::Call => (0, 0),
        Target::Utterance { index } => (1, i64::from(index)),
        _ => (2, annotate::target_start_ms(target).unwrap_or(0)),
    }
}

#[derive(Properties, PartialEq)]
struct HistoryProps {
    api: Api,
    annotation_id: String,
    /// Current version, so the history reloads after an edit.
    version: u32,
    schema: Shared<callscope_api_types::Schema>,
}

#[component]
fn History(props: &HistoryProps) -> Html {
    let history = use_load((props.api.clone(), props.annotation_id.clone(), props.version), |(api, id, _)| async move {
        api.annotation_history(&id).await
    });
    let versions = match &history {
        Load::Loading => return html! { <p class="callscope-muted">{ "Loading history…" }</p> },
        Load::Failed(failure) => return html! { <FailureNotice failure={failure.clone()} /> },
        Load::Loaded(versions) => versions.clone(),
    };
    let rows = versions.iter().map(|version| {
        let content = match &version.content {
            Some(input) => format!(
                "{} = {}{}",
                label_name(&props.schema, &input.label_id),
                value_text(&input.value),
                input.comment.as_deref().map(|comment| format!(" ({comment})")).unwrap_or_default()
            ),
            None => String::from("deleted"),
        };
        html! {
            <li data-testid="history-entry" data-version={version.version.to_string()}>
                { format!("v{} {} by {} at {}: {content}", version.version, version.action, version.user, version.at) }
            </li>
        }
    });
    html! { <ol class="callscope-history" data-testid="annotation-history">{ for rows }</ol> }
}
