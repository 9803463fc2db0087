//! One call: header with its numbers and flags, audio player, waveform, transcript
//! with per-turn latency, annotations, and the raw vendor data. A call in progress is
//! re-read on each live notice for it, so its transcript grows in place. Until a
//! recording is attached, the view shows the transcript without audio or waveform.
//! Parts the user's permissions do not cover (audio, transcript, annotation
//! controls) are left out.

use std::collections::BTreeMap;

use callscope_api_types::{CallAnnotations, CallDetail, MeasureSource, Permission, Schema, Target};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::access::Access;
use crate::annotate::{self, label_for_key};
use crate::api::Api;
use crate::api::live::LiveEvent;
use crate::components::annotation_panel::AnnotationPanel;
use crate::components::annotator::{Annotator, use_annotator};
use crate::components::call_header::CallHeader;
use crate::components::load::{FailureNotice, Load, use_live_events, use_reloadable_load};
use crate::components::raw_data::RawData;
use crate::components::transcript::{Chip, Transcript, utterance_at};
use crate::components::waveform::Waveform;
use crate::latency::turn_latencies;
use crate::shared::Shared;
use crate::source::default_source;

#[derive(Properties, PartialEq)]
pub struct CallViewProps {
    pub api: Api,
    pub call_id: String,
    pub on_back: Callback<()>,
    /// Latest live-call event; notices for other calls are ignored.
    pub live_event: Option<Shared<LiveEvent>>,
    pub access: Shared<Access>,
    /// The annotation schema; annotations are not shown until it loads.
    pub schema: Load<Schema>,
}

#[component]
pub fn CallView(props: &CallViewProps) -> Html {
    let (detail, reload) = use_reloadable_load((props.api.clone(), props.call_id.clone()), |(api, id)| async move { api.call(&id).await });
    {
        let call_id = props.call_id.clone();
        use_live_events(props.live_event.clone(), move |event| {
            let concerns_call = match event {
                LiveEvent::Notice(notice) => notice.call_id == call_id,
                LiveEvent::Resync => true,
            };
            if concerns_call {
                reload.emit(());
            }
        });
    }

    let back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };

    let body = match &detail {
        Load::Loading => html! { <p class="callscope-muted callscope-empty">{ "Loading call…" }</p> },
        Load::Failed(failure) => html! { <FailureNotice failure={failure.clone()} /> },
        Load::Loaded(detail) => html! {
            <CallBody key={props.call_id.clone()} api={props.api.clone()} call_id={props.call_id.clone()} detail={detail.clone()}
                access={props.access.clone()} schema={props.schema.clone()} />
        },
    };

    html! {
        <section class="callscope-call" data-testid="call-view" data-call-id={props.call_id.clone()}>
            <header class="callscope-toolbar">
                <button type="button" class="callscope-button callscope-back" onclick={back}>{ "← All calls" }</button>
                if let Load::Loaded(detail) = &detail {
                    <h2 class="callscope-heading">{ &detail.summary.title }</h2>
                    if detail.summary.live {
                        <span class="callscope-live callscope-live--call" data-testid="live-indicator"
                            title="The call is still in progress; the transcript grows as its events arrive">{ "LIVE" }</span>
                    }
                }
            </header>
            { body }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct CallBodyProps {
    api: Api,
    call_id: String,
    detail: Shared<CallDetail>,
    access: Shared<Access>,
    schema: Load<Schema>,
}

#[component]
fn CallBody(props: &CallBodyProps) -> Html {
    let body_ref = use_node_ref();
    let (annotations, reload_annotations) =
        use_reloadable_load((props.api.clone(), props.call_id.clone()), |(api, id)| async move { api.annotations(&id).await });
    let schema = match &props.schema {
        Load::Loaded(schema) => schema.clone(),
        _ => Shared::default(),
    };
    let channel_names = use_memo(props.detail.clone(), |detail| Shared::new(crate::components::waveform::channel_names(detail)));
    let annotator =
        use_annotator(props.api.clone(), props.call_id.clone(), schema.clone(), reload_annotations, (*channel_names).clone());
    let can_annotate = props.access.can(Permission::Annotate) && matches!(props.schema, Load::Loaded(_));
    let user = props.access.user.clone();
    let bands = use_memo((annotations.clone(), schema.clone(), user.clone()), |(annotations, schema, user)| match annotations {
        Load::Loaded(loaded) => Shared::new(annotate::range_bands(&loaded.annotations, schema, user)),
        _ => Shared::default(),
    });
    let chips = use_memo((annotations.clone(), schema.clone(), user), |(annotations, schema, user)| match annotations {
        Load::Loaded(loaded) => Shared::new(utterance_chips(loaded, schema, user)),
        _ => Shared::default(),
    });

    let on_range = can_annotate.then(|| {
        let annotator = annotator.clone();
        let body_ref = body_ref.clone();
        Callback::from(move |target: Target| {
            annotator.select(Some(target));
            // Shortcuts act while the call view has focus.
            focus_without_scroll(&body_ref);
        })
    });
    let on_pick = can_annotate.then(|| {
        let annotator = annotator.clone();
        Callback::from(move |index: u32| annotator.select(Some(Target::Utterance { index })))
    });
    let on_key = {
        let annotator = annotator.clone();
        Callback::from(move |event: KeyboardEvent| {
            if can_annotate {
                handle_shortcut(&annotator, &event);
            }
        })
    };

    let audio_ref = use_node_ref();
    let active = use_state_eq(|| None::<usize>);
    let utterances = use_memo(props.detail.clone(), |detail| Shared::new(detail.call.utterances.clone()));
    let latencies = use_memo(props.detail.clone(), |detail| Shared::new(turn_latencies(detail)));
    let call = use_memo(props.detail.clone(), |detail| Shared::new(detail.call.clone()));
    let source = use_state_eq(|| default_source(&props.detail));
    let on_source = {
        let source = source.clone();
        Callback::from(move |picked: MeasureSource| source.set(picked))
    };

    let on_time = {
        let active = active.clone();
        let utterances = (*utterances).clone();
        Callback::from(move |ms: i64| active.set(utterance_at(&utterances, ms)))
    };
    let on_seek = {
        let audio_ref = audio_ref.clone();
        Callback::from(move |ms: i64| {
            if let Some(audio) = audio_ref.cast::<web_sys::HtmlMediaElement>() {
                audio.set_current_time(ms as f64 / 1000.0);
            }
        })
    };
    let on_select = {
        let audio_ref = audio_ref.clone();
        Callback::from(move |ms: i64| {
            if let Some(audio) = audio_ref.cast::<web_sys::HtmlMediaElement>() {
                audio.set_current_time(ms.max(0) as f64 / 1000.0);
                play(&audio);
            }
        })
    };

    let detail = &props.detail;
    let listen = props.access.can(Permission::Listen);
    let selection = *annotator.selection;
    let selected_utterance = match selection {
        Some(Target::Utterance { index }) => Some(index),
        _ => None,
    };
    let media = match &detail.recording {
        Some(recording) => {
            let src = props.api.url(&recording.audio_url);
            html! {
                <>
                    if listen {
                        <audio class="callscope-audio" data-testid="audio" controls=true preload="metadata" {src} ref={audio_ref.clone()} />
                    }
                    <Waveform api={props.api.clone()} call_id={props.call_id.clone()} detail={detail.clone()} audio={audio_ref.clone()}
                        on_seek={on_seek.clone()} {on_time} source={*source} {on_source} bands={(*bands).clone()} {selection} {on_range} />
                </>
            }
        }
        None if detail.summary.live => html! {
            <p class="callscope-notice" data-testid="no-recording">{ "This call is in progress and has no recording yet, so there is no audio or waveform. The transcript grows as the call's events arrive." }</p>
        },
        None => {
            // A recording URL the server did not fetch leaves a finding with the reason.
            let unfetched = detail.call.findings.iter().find(|finding| finding.code.starts_with("recording-"));
            html! {
                <p class="callscope-notice" data-testid="no-recording">
                    { "This call has no recording, so there is no audio or waveform. The transcript and numbers come from the call's events." }
                    if let Some(finding) = unfetched {
                        <br />{ format!("Why: {}", finding.message) }
                    }
                </p>
            }
        }
    };

    let playable = detail.recording.is_some() && listen;
    let transcript = if detail.transcript_hidden {
        html! { <p class="callscope-notice" data-testid="transcript-hidden">{ "Your role may not read transcripts, so the transcript and the vendor's data are not shown." }</p> }
    } else {
        html! {
            <>
                if detail.redacted {
                    <p class="callscope-muted callscope-redaction-note" data-testid="redaction-note">
                        { "Personal data (phone numbers, e-mail addresses, payment cards, national ids) is redacted for your role." }
                    </p>
                }
                <Transcript utterances={(*utterances).clone()} active={*active} {on_select} {playable} latencies={(*latencies).clone()}
                    chips={(*chips).clone()} selected={selected_utterance} {on_pick} redacted={detail.redacted} />
            </>
        }
    };
    let panel = match &props.schema {
        Load::Loading => html! { <p class="callscope-muted">{ "Loading the annotation schema…" }</p> },
        Load::Failed(failure) => html! { <FailureNotice failure={failure.clone()} /> },
        Load::Loaded(_) => html! {
            <AnnotationPanel api={props.api.clone()} annotator={annotator.clone()} annotations={annotations.clone()} access={props.access.clone()}
                utterances={(*utterances).clone()} {can_annotate} has_waveform={detail.recording.is_some()} />
        },
    };

    html! {
        <div class="callscope-call-body" data-testid="call-body" tabindex="-1" ref={body_ref} onkeydown={on_key}>
            <CallHeader detail={detail.clone()} source={*source} on_seek={playable.then_some(on_seek)} />
            { media }
            <div class="callscope-call-columns">
                <div class="callscope-call-main">{ transcript }</div>
                { panel }
            </div>
            if !detail.transcript_hidden {
                <RawData call={(*call).clone()} />
            }
        </div>
    }
}

/// Groups the annotations on utterances by utterance index.
fn utterance_chips(annotations: &CallAnnotations, schema: &Schema, user: &str) -> BTreeMap<u32, Vec<Chip>> {
    let mut chips: BTreeMap<u32, Vec<Chip>> = BTreeMap::new();
    for annotation in &annotations.annotations {
        if let Target::Utterance { index } = annotation.input.target {
            chips.entry(index).or_default().push(Chip {
                annotation_id: annotation.id.clone(),
                label_id: annotation.input.label_id.clone(),
                text: annotate::chip_text(annotation, schema),
                title: annotate::annotation_title(annotation, schema),
                own: annotation.author == user,
            });
        }
    }
    chips
}

/// Applies the label whose shortcut was pressed, unless a text field has the focus
/// or a modifier other than Shift is held. Escape clears the selection.
fn handle_shortcut(annotator: &Annotator, event: &KeyboardEvent) {
    if event.ctrl_key() || event.meta_key() || event.alt_key() || event.repeat() || is_text_entry(event.target()) {
        return;
    }
    let key = event.key();
    if key == "Escape" {
        annotator.select(None);
        return;
    }
    if let Some(label) = label_for_key(&annotator.schema, &key) {
        event.prevent_default();
        annotator.apply_label(&label.id.clone());
    }
}

/// Returns whether `target` takes typed text: a text-like input, a text area, a select or
/// an editable element. Keys typed there are text, not shortcuts.
fn is_text_entry(target: Option<web_sys::EventTarget>) -> bool {
    let Some(element) = target.and_then(|target| target.dyn_into::<web_sys::HtmlElement>().ok()) else { return false };
    if element.is_content_editable() {
        return true;
    }
    match element.tag_name().as_str() {
        "TEXTAREA" | "SELECT" => true,
        "INPUT" => {
            let kind = element.get_attribute("type").unwrap_or_default().to_ascii_lowercase();
            !matches!(kind.as_str(), "button" | "submit" | "reset" | "checkbox" | "radio" | "range" | "color" | "file" | "image")
        }
        _ => false,
    }
}

/// Focuses the element without scrolling the host page.
fn focus_without_scroll(element: &NodeRef) {
    let Some(element) = element.cast::<web_sys::HtmlElement>() else { return };
    let options = web_sys::FocusOptions::new();
    options.set_prevent_scroll(true);
    let _ = element.focus_with_options(&options);
}

/// Starts playback. The browser may reject it (autoplay policy), and then the
/// returned promise rejects; the audio element's own controls still work, so the
/// rejection is only logged. An `AbortError` means a pause or unmount interrupted
/// the start, which is expected and not logged.
fn play(audio: &web_sys::HtmlMediaElement) {
    let Ok(promise) = audio.play() else { return };
    yew::platform::spawn_local(async move {
        let Err(error) = wasm_bindgen_futures::JsFuture::from(promise).await else { return };
        let name = js_sys::Reflect::get(&error, &"name".into()).ok().and_then(|name| name.as_string());
        if name.as_deref() != Some("AbortError") {
            web_sys::console::warn_2(&"callscope: audio playback did not start:".into(), &error);
        }
    });
}
