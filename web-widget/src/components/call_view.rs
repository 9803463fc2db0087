//! One call: header with its numbers and flags, audio player, waveform, transcript
//! with per-turn latency, and the raw vendor data. A call in progress is re-read on
//! each live notice for it, so its transcript grows in place. Until a recording
//! is attached, the view shows the transcript without audio or waveform.

use callscope_api_types::{CallDetail, MeasureSource};
use yew::prelude::*;

use crate::api::Api;
use crate::api::live::LiveEvent;
use crate::components::call_header::CallHeader;
use crate::components::load::{FailureNotice, Load, use_live_events, use_reloadable_load};
use crate::components::raw_data::RawData;
use crate::components::transcript::{Transcript, utterance_at};
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
            <CallBody key={props.call_id.clone()} api={props.api.clone()} call_id={props.call_id.clone()} detail={detail.clone()} />
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
}

#[component]
fn CallBody(props: &CallBodyProps) -> Html {
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
    let media = match &detail.recording {
        Some(recording) => {
            let src = props.api.url(&recording.audio_url);
            html! {
                <>
                    <audio class="callscope-audio" data-testid="audio" controls=true preload="metadata" {src} ref={audio_ref.clone()} />
                    <Waveform api={props.api.clone()} call_id={props.call_id.clone()} detail={detail.clone()} audio={audio_ref.clone()}
                        on_seek={on_seek.clone()} {on_time} source={*source} {on_source} />
                </>
            }
        }
        None if detail.summary.live => html! {
            <p class="callscope-notice" data-testid="no-recording">{ "This call is in progress and has no recording yet, so there is no audio or waveform. The transcript grows as the call's events arrive." }</p>
        },
        None => html! { <p class="callscope-notice" data-testid="no-recording">{ "This call has no recording, so there is no audio or waveform. The transcript and numbers come from the call's events." }</p> },
    };

    html! {
        <>
            <CallHeader detail={detail.clone()} source={*source} on_seek={detail.recording.is_some().then_some(on_seek)} />
            { media }
            <Transcript utterances={(*utterances).clone()} active={*active} {on_select} playable={detail.recording.is_some()}
                latencies={(*latencies).clone()} />
            <RawData call={(*call).clone()} />
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
