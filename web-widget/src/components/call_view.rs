//! One call: header with its numbers, audio player, waveform and transcript.

use callscope_api_types::CallDetail;
use yew::prelude::*;

use crate::api::Api;
use crate::components::load::{FailureNotice, Load, use_load};
use crate::components::transcript::{Transcript, utterance_at};
use crate::components::waveform::{Waveform, latency_class};
use crate::format;
use crate::shared::Shared;

#[derive(Properties, PartialEq)]
pub struct CallViewProps {
    pub api: Api,
    pub call_id: String,
    pub on_back: Callback<()>,
}

#[component]
pub fn CallView(props: &CallViewProps) -> Html {
    let detail = use_load((props.api.clone(), props.call_id.clone()), |(api, id)| async move { api.call(&id).await });

    let back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };

    let body = match &detail {
        Load::Loading => html! { <p class="callscope-muted callscope-empty">{ "Loading call…" }</p> },
        Load::Failed(failure) => html! { <FailureNotice failure={failure.clone()} /> },
        Load::Loaded(detail) => html! { <CallBody api={props.api.clone()} call_id={props.call_id.clone()} detail={detail.clone()} /> },
    };

    html! {
        <section class="callscope-call" data-testid="call-view" data-call-id={props.call_id.clone()}>
            <header class="callscope-toolbar">
                <button type="button" class="callscope-button callscope-back" onclick={back}>{ "← All calls" }</button>
                if let Load::Loaded(detail) = &detail {
                    <h2 class="callscope-heading">{ &detail.summary.title }</h2>
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
}

#[component]
fn CallBody(props: &CallBodyProps) -> Html {
    let audio_ref = use_node_ref();
    let active = use_state_eq(|| None::<usize>);
    let utterances = use_memo(props.detail.clone(), |detail| Shared::new(detail.call.utterances.clone()));

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
    let media = match &detail.recording {
        Some(recording) => {
            let src = props.api.url(&recording.audio_url);
            html! {
                <>
                    <audio class="callscope-audio" data-testid="audio" controls=true preload="metadata" {src} ref={audio_ref.clone()} />
                    <Waveform api={props.api.clone()} call_id={props.call_id.clone()} detail={detail.clone()} audio={audio_ref.clone()} {on_seek} {on_time} />
                </>
            }
        }
        None => html! { <p class="callscope-notice">{ "This call has no recording, so there is no audio or waveform. The transcript and numbers come from the call's events." }</p> },
    };

    html! {
        <>
            { numbers(detail) }
            { media }
            <Transcript utterances={(*utterances).clone()} active={*active} {on_select} playable={detail.recording.is_some()} />
        </>
    }
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

fn numbers(detail: &CallDetail) -> Html {
    let summary = &detail.summary;
    let fact = |label: &'static str, value: String, class: Option<&'static str>| {
        html! {
            <div class="callscope-fact">
                <span class="callscope-fact-label">{ label }</span>
                <span class={classes!("callscope-fact-value", class)}>{ value }</span>
            </div>
        }
    };
    let recording = match &detail.recording {
        Some(recording) => format!("{} Hz, {} ch", recording.format.sample_rate, recording.format.channels),
        None => String::from("none"),
    };
    html! {
        <div class="callscope-facts">
            { fact("Format", summary.format.clone(), None) }
            { fact("Duration", summary.duration_ms.map(format::duration).unwrap_or_else(|| "–".into()), None) }
            { fact("Utterances", summary.utterance_count.to_string(), None) }
            { fact("Max latency", summary.max_latency_ms.map(format::seconds).unwrap_or_else(|| "–".into()), summary.max_latency_ms.map(latency_class)) }
            { fact("Pauses", summary.pause_count.to_string(), None) }
            { fact("Overlaps", summary.overlap_count.to_string(), None) }
            { fact("Recording", recording, None) }
            { fact("Findings", (detail.call.findings.len() + detail.analysis.findings.len()).to_string(), None) }
        </div>
    }
}
