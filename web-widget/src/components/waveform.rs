//! The waveform: one canvas per channel drawn from peaks of the visible range, with
//! speech shading, pauses and their lengths, overlaps coloured by kind, response
//! latency bars and a playhead that follows the audio element. Pauses, overlaps and
//! latency bars come from one measurement source at a time, which a toggle in the
//! toolbar switches. Annotations on time ranges show as bands. A user who may
//! annotate drags across a canvas to select a range, and a click without a drag
//! seeks.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use callscope_api_types::{CallAnalysis, CallDetail, ChannelLayout, MeasureSource, PeaksWindow, Speaker, Target};
use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::annotate::{RangeBand, lane_shows, range_from_drag, range_target};
use crate::api::{Api, ApiFailure};
use crate::components::load::FailureNotice;
use crate::components::transcript::speaker_name;
use crate::draw::{self, Band, ChannelScene, LatencyGrade, OverlapBand, Palette, SpeechBand, TimeScale};
use crate::format;
use crate::shared::Shared;
use crate::source::{OVERLAP_KINDS, overlap_kind_description, overlap_kind_key, overlap_kind_name, source_name};

/// Height of one channel's canvas, in CSS pixels.
const LANE_HEIGHT_PX: f64 = 84.0;
/// Rows available for pause labels above the canvases.
const LABEL_LANES: usize = 2;
/// Rows available for overlap labels below the canvases. A barge-in often follows
/// a backchannel or a false interruption within a second or two, so two rows keep
/// such pairs readable at the whole-call zoom.
const OVERLAP_LABEL_LANES: usize = 2;
/// Height of one row of pause labels, in CSS pixels.
const LABEL_ROW_PX: f64 = 18.0;
/// Narrowest view the zoom buttons reach, in milliseconds.
const MIN_VIEW_MS: i64 = 2_000;
/// Smallest distance between two time axis ticks, in CSS pixels.
const TICK_SPACING_PX: f64 = 90.0;
/// Distance from either end of the axis within which a tick label is aligned
/// inwards instead of centred, in CSS pixels.
const TICK_EDGE_PX: f64 = 24.0;

/// One canvas: the channels it draws and what it shades.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// Value of the canvas's `data-channel` attribute: the channel number, or the
    /// merged channel numbers joined by commas for a mixed recording (`0` when mono).
    pub key: String,
    pub name: String,
    pub channels: Vec<u16>,
    /// Speaker on this channel, or `None` for a mixed recording.
    pub speaker: Option<Speaker>,
    pub speech: Vec<SpeechBand>,
    /// Whether response latency bars are drawn on this canvas.
    pub shows_latency: bool,
}

/// Returns the name of each channel's lane, indexed by channel: empty for a mixed
/// recording, whose one lane covers every channel.
pub fn channel_names(detail: &CallDetail) -> Vec<String> {
    let mut names = Vec::new();
    for lane in lanes(detail) {
        if let [channel] = lane.channels[..] {
            let channel = usize::from(channel);
            if names.len() <= channel {
                names.resize(channel + 1, String::new());
            }
            names[channel] = lane.name.clone();
        }
    }
    names
}

/// Builds the canvases for a call's recording: one per channel when user and bot
/// are on separate channels, one for all channels merged when they are mixed.
/// A mixed recording is shaded by the transcript's speakers because its speech
/// activity cannot tell them apart.
pub fn lanes(detail: &CallDetail) -> Vec<Shared<Lane>> {
    let Some(recording) = &detail.recording else { return Vec::new() };
    let channel_count = recording.format.channels.max(1);

    match recording.layout {
        ChannelLayout::Mixed => {
            let channels: Vec<u16> = (0..channel_count).collect();
            let speech = detail
                .call
                .utterances
                .iter()
                .filter(|utterance| utterance.speaker.is_audible() && utterance.end_ms > utterance.start_ms)
                .map(|utterance| SpeechBand { start_ms: utterance.start_ms, end_ms: utterance.end_ms, speaker: Some(utterance.speaker) })
                .collect();
            let key = channels.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
            vec![Shared::new(Lane { key, name: String::from("Mixed"), channels, speaker: None, speech, shows_latency: true })]
        }
        ChannelLayout::Separate { user_channel, bot_channel } => (0..channel_count)
            .map(|channel| {
                let speaker = if channel == user_channel {
                    Some(Speaker::User)
                } else if channel == bot_channel {
                    Some(Speaker::Bot)
                } else {
                    None
                };
                let name = match speaker {
                    Some(speaker) => speaker_name(speaker).to_owned(),
                    None => format!("Channel {channel}"),
                };
                let speech = recording
                    .activity
                    .iter()
                    .filter(|activity| activity.channel == channel)
                    .flat_map(|activity| activity.speech.iter())
                    .map(|segment| SpeechBand { start_ms: segment.start_ms, end_ms: segment.end_ms, speaker })
                    .collect();
                Shared::new(Lane {
                    key: channel.to_string(),
                    name,
                    channels: vec![channel],
                    speaker,
                    speech,
                    shows_latency: speaker == Some(Speaker::Bot),
                })
            })
            .collect(),
    }
}

/// Analysis results of one measurement source, marked on every canvas.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Marks {
    pub pauses: Vec<Band>,
    /// Label text of each pause, in the order of `pauses`.
    pub pause_labels: Vec<String>,
    pub overlaps: Vec<OverlapBand>,
    /// Label text of each overlap, in the order of `overlaps`.
    pub overlap_labels: Vec<String>,
    /// Hover text of each overlap, in the order of `overlaps`.
    pub overlap_titles: Vec<String>,
    /// Response latencies as `(user_end_ms, bot_start_ms, latency_ms)`.
    pub latencies: Vec<(i64, i64, i64)>,
}

/// Collects the pauses, overlaps and response latencies that `source` measured.
pub fn marks(analysis: &CallAnalysis, source: MeasureSource) -> Marks {
    let pauses: Vec<_> = analysis.pauses.iter().filter(|pause| pause.source == source).collect();
    let overlaps: Vec<_> = analysis.overlaps.iter().filter(|overlap| overlap.source == source).collect();
    Marks {
        pauses: pauses.iter().map(|pause| Band { start_ms: pause.start_ms, end_ms: pause.end_ms }).collect(),
        pause_labels: pauses.iter().map(|pause| format::seconds(pause.duration_ms)).collect(),
        overlaps: overlaps.iter().map(|overlap| OverlapBand { start_ms: overlap.start_ms, end_ms: overlap.end_ms, kind: overlap.kind }).collect(),
        overlap_labels: overlaps
            .iter()
            .map(|overlap| format!("{} {}", overlap_kind_key(overlap.kind), format::seconds(overlap.duration_ms)))
            .collect(),
        overlap_titles: overlaps
            .iter()
            .map(|overlap| {
                format!(
                    "{} by the {} from {} to {} ({}): {}",
                    overlap_kind_name(overlap.kind),
                    overlap.interrupter.as_str(),
                    format::clock(overlap.start_ms),
                    format::clock(overlap.end_ms),
                    source_name(overlap.source),
                    overlap_kind_description(overlap.kind),
                )
            })
            .collect(),
        latencies: analysis
            .latencies
            .iter()
            .filter(|latency| latency.source == source)
            .map(|latency| (latency.user_end_ms, latency.bot_start_ms, latency.latency_ms))
            .collect(),
    }
}

/// Zooms `view` by `factor` (below 1 zooms in) around `centre_ms`, keeping the
/// result inside `0..duration_ms` and no narrower than [`MIN_VIEW_MS`].
pub fn zoom(view: (i64, i64), factor: f64, centre_ms: i64, duration_ms: i64) -> (i64, i64) {
    let span = (view.1 - view.0).max(1) as f64;
    let new_span = ((span * factor).round() as i64).clamp(MIN_VIEW_MS.min(duration_ms), duration_ms.max(1));
    let centre = centre_ms.clamp(view.0, view.1);
    let share = (centre - view.0) as f64 / span;
    let start = centre - (new_span as f64 * share).round() as i64;
    page_at(start, new_span, duration_ms)
}

/// Returns the view of `span_ms` starting at `start_ms`, moved back inside
/// `0..duration_ms`.
pub fn page_at(start_ms: i64, span_ms: i64, duration_ms: i64) -> (i64, i64) {
    let start = start_ms.clamp(0, (duration_ms - span_ms).max(0));
    (start, start + span_ms)
}

#[derive(Properties, PartialEq)]
pub struct WaveformProps {
    pub api: Api,
    pub call_id: String,
    pub detail: Shared<CallDetail>,
    /// The call view's `<audio>` element.
    pub audio: NodeRef,
    /// Called with a time when the user clicks the waveform.
    pub on_seek: Callback<i64>,
    /// Called with the playback time on every animation frame while playing and
    /// after every seek.
    pub on_time: Callback<i64>,
    /// Source of the pauses, overlaps and latency bars shown.
    pub source: MeasureSource,
    /// Called with the source the user picks in the toolbar.
    pub on_source: Callback<MeasureSource>,
    /// Annotations on time ranges, drawn as bands.
    #[prop_or_default]
    pub bands: Shared<Vec<RangeBand>>,
    /// The annotation target; a range is drawn as the selection.
    #[prop_or_default]
    pub selection: Option<Target>,
    /// Called with the range a drag selects; `None` turns drags into clicks, for
    /// users who may not annotate.
    #[prop_or_default]
    pub on_range: Option<Callback<Target>>,
}

/// A drag in progress on the waveform.
#[derive(Debug, Clone, Copy)]
struct Drag {
    pointer_id: i32,
    /// Start position, in CSS pixels from the left of the canvases.
    from_x: f64,
    /// Index of the canvas it started on, `None` outside every canvas.
    lane: Option<usize>,
}

#[component]
pub fn Waveform(props: &WaveformProps) -> Html {
    let duration_ms = props.detail.recording.as_ref().map(|r| r.format.duration_ms).unwrap_or(0).max(1);
    let lanes = use_memo(props.detail.clone(), |detail| lanes(detail));
    let marks = use_memo((props.detail.clone(), props.source), |(detail, source)| Shared::new(marks(&detail.analysis, *source)));

    let stack_ref = use_node_ref();
    let playhead_ref = use_node_ref();
    let width = use_state_eq(|| 0.0_f64);
    let view = use_state_eq(|| (0_i64, duration_ms));
    let peaks = use_state(|| None::<Shared<PeaksWindow>>);
    let peaks_failure = use_state(|| None::<ApiFailure>);

    let pixel_ratio = web_sys::window().map(|window| window.device_pixel_ratio()).unwrap_or(1.0).max(1.0);
    let scale = TimeScale::new(view.0, view.1, *width);
    let scale_cell = use_mut_ref(|| scale);
    *scale_cell.borrow_mut() = scale;

    use_width_of(&stack_ref, width.setter());

    let pixels = (*width * pixel_ratio).round() as u32;
    {
        let peaks = peaks.clone();
        let peaks_failure = peaks_failure.clone();
        let deps = (props.api.clone(), props.call_id.clone(), *view, pixels);
        use_effect_with(deps, move |(api, call_id, (start_ms, end_ms), pixels)| {
            let cancelled = Rc::new(Cell::new(false));
            if *pixels > 0 {
                let (api, call_id, start_ms, end_ms, pixels) = (api.clone(), call_id.clone(), *start_ms, *end_ms, *pixels);
                let cancelled = Rc::clone(&cancelled);
                yew::platform::spawn_local(async move {
                    let result = api.peaks(&call_id, start_ms, end_ms, pixels).await;
                    if cancelled.get() {
                        return;
                    }
                    match result {
                        Ok(window) => {
                            peaks.set(Some(Shared::new(window)));
                            peaks_failure.set(None);
                        }
                        Err(failure) => peaks_failure.set(Some(failure)),
                    }
                });
            }
            move || cancelled.set(true)
        });
    }

    {
        let audio_ref = props.audio.clone();
        let playhead_ref = playhead_ref.clone();
        let scale_cell = scale_cell.clone();
        let view_setter = view.setter();
        let on_time = props.on_time.clone();
        use_effect_with(props.call_id.clone(), move |_| {
            let follower = match (audio_ref.cast::<web_sys::HtmlMediaElement>(), playhead_ref.cast::<web_sys::HtmlElement>()) {
                (Some(audio), Some(playhead)) => Some(PlayheadFollower::start(audio, playhead, scale_cell, view_setter, on_time, duration_ms)),
                _ => None,
            };
            move || {
                if let Some(follower) = follower {
                    follower.stop();
                }
            }
        });
    }

    {
        // Moves the playhead after the view or the width changed.
        let audio_ref = props.audio.clone();
        let playhead_ref = playhead_ref.clone();
        use_effect_with(scale, move |scale| {
            if let (Some(audio), Some(playhead)) = (audio_ref.cast::<web_sys::HtmlMediaElement>(), playhead_ref.cast::<web_sys::HtmlElement>()) {
                place_playhead(&playhead, scale, (audio.current_time() * 1000.0).round() as i64);
            }
        });
    }

    let drag = use_mut_ref(|| None::<Drag>);
    let preview = use_state_eq(|| None::<Target>);
    let layout = props.detail.recording.as_ref().map_or(ChannelLayout::Mixed, |recording| recording.layout);
    let x_of_event = {
        let stack_ref = stack_ref.clone();
        move |event: &PointerEvent| {
            let left = stack_ref.cast::<web_sys::Element>().map_or(0.0, |stack| stack.get_bounding_client_rect().left());
            f64::from(event.client_x()) - left
        }
    };
    let drag_target = {
        let lanes = lanes.clone();
        let annotating = props.on_range.is_some();
        move |drag: &Drag, to_x: f64| {
            let (start_ms, end_ms) = range_from_drag(&scale, drag.from_x, to_x).filter(|_| annotating)?;
            let channels = drag.lane.and_then(|index| lanes.get(index)).map(|lane| lane.channels.as_slice());
            Some(range_target(layout, channels, start_ms, end_ms))
        }
    };
    let on_pointer_down = {
        let stack_ref = stack_ref.clone();
        let drag = drag.clone();
        let x_of_event = x_of_event.clone();
        Callback::from(move |event: PointerEvent| {
            if event.button() != 0 {
                return;
            }
            if let Some(stack) = stack_ref.cast::<web_sys::Element>() {
                // Move and release events keep coming here when the pointer leaves the canvases.
                let _ = stack.set_pointer_capture(event.pointer_id());
            }
            let lane = lane_index_of(event.target());
            *drag.borrow_mut() = Some(Drag { pointer_id: event.pointer_id(), from_x: x_of_event(&event), lane });
        })
    };
    let on_pointer_move = {
        let drag = drag.clone();
        let preview = preview.clone();
        let x_of_event = x_of_event.clone();
        let drag_target = drag_target.clone();
        Callback::from(move |event: PointerEvent| {
            let Some(current) = *drag.borrow() else { return };
            if current.pointer_id == event.pointer_id() {
                preview.set(drag_target(&current, x_of_event(&event)));
            }
        })
    };
    let on_pointer_up = {
        let drag = drag.clone();
        let preview = preview.clone();
        let on_seek = props.on_seek.clone();
        let on_range = props.on_range.clone();
        Callback::from(move |event: PointerEvent| {
            let Some(finished) = drag.borrow_mut().take() else { return };
            preview.set(None);
            let x = x_of_event(&event);
            match (drag_target(&finished, x), &on_range) {
                (Some(target), Some(on_range)) => on_range.emit(target),
                _ => on_seek.emit(scale.ms_of(x)),
            }
        })
    };
    let on_pointer_cancel = {
        let drag = drag.clone();
        let preview = preview.clone();
        Callback::from(move |_: PointerEvent| {
            drag.borrow_mut().take();
            preview.set(None);
        })
    };
    let shown_selection = (*preview).or(props.selection);

    let audio_time = || props.audio.cast::<web_sys::HtmlMediaElement>().map(|audio| (audio.current_time() * 1000.0) as i64);
    let zoom_by = |factor: f64| {
        let view = view.clone();
        let centre = audio_time().filter(|ms| *ms >= view.0 && *ms <= view.1).unwrap_or((view.0 + view.1) / 2);
        let next = zoom(*view, factor, centre, duration_ms);
        Callback::from(move |_: MouseEvent| view.set(next))
    };
    let fit = {
        let view = view.clone();
        Callback::from(move |_: MouseEvent| view.set((0, duration_ms)))
    };
    let zoomed_in = view.1 - view.0 <= MIN_VIEW_MS.min(duration_ms);
    let whole_call = view.0 == 0 && view.1 == duration_ms;

    let canvases = lanes.iter().enumerate().map(|(index, lane)| {
        html! {
            <div class="callscope-lane" key={lane.key.clone()} data-lane={index.to_string()}>
                <ChannelCanvas lane={lane.clone()} peaks={(*peaks).clone()} {scale} marks={(*marks).clone()} {pixel_ratio} />
                <span class={classes!("callscope-lane-name", lane.speaker.map(|s| format!("callscope-speaker-{}", s.as_str())))}>{ &lane.name }</span>
                { annotation_bands(lane, &props.bands, &scale, index == 0) }
                { selection_band(lane, shown_selection.as_ref(), &scale) }
            </div>
        }
    });

    html! {
        <section class="callscope-waveform" aria-label="Waveform">
            <div class="callscope-waveform-toolbar">
                <div class="callscope-button-group">
                    <button type="button" class="callscope-button" title="Zoom in" disabled={zoomed_in} onclick={zoom_by(0.5)}>{ "+" }</button>
                    <button type="button" class="callscope-button" title="Zoom out" disabled={whole_call} onclick={zoom_by(2.0)}>{ "−" }</button>
                    <button type="button" class="callscope-button" title="Show the whole call" disabled={whole_call} onclick={fit}>{ "Whole call" }</button>
                </div>
                <span class="callscope-muted callscope-view-range">{ format!("{} – {}", format::clock(view.0), format::clock(view.1)) }</span>
                { source_toggle(props.source, &props.on_source) }
                { legend() }
            </div>
            <div class={classes!("callscope-stack", props.on_range.is_some().then_some("callscope-stack--annotating"))} data-testid="waveform-stack"
                ref={stack_ref} onpointerdown={on_pointer_down} onpointermove={on_pointer_move} onpointerup={on_pointer_up}
                onpointercancel={on_pointer_cancel}>
                { pause_labels(&marks, &scale) }
                { for canvases }
                if !props.detail.analysis.overlaps.is_empty() {
                    { overlap_labels(&marks, &scale) }
                }
                { axis(&scale) }
                <div class="callscope-playhead" data-testid="playhead" ref={playhead_ref} />
            </div>
            if let Some(failure) = (*peaks_failure).clone() {
                <FailureNotice {failure} />
            }
        </section>
    }
}

/// Returns the index of the canvas (lane) `target` sits in, from its `data-lane`.
fn lane_index_of(target: Option<web_sys::EventTarget>) -> Option<usize> {
    let element = target?.dyn_into::<web_sys::Element>().ok()?;
    let lane = element.closest(".callscope-lane").ok()??;
    lane.get_attribute("data-lane")?.parse().ok()
}

/// Bands of the annotations on the lane's channels. A time range spans every lane,
/// so only the first lane prints its text.
fn annotation_bands(lane: &Lane, bands: &[RangeBand], scale: &TimeScale, first_lane: bool) -> Html {
    let shown = bands.iter().filter(|band| lane_shows(band.channel, &lane.channels)).filter_map(|band| {
        let (left, right) = scale.visible_span(band.start_ms, band.end_ms)?;
        let style = format!("left:{left:.1}px;width:{:.1}px", (right - left).max(2.0));
        let text = (first_lane || band.channel.is_some()).then(|| band.text.clone());
        Some(html! {
            <div key={band.annotation_id.clone()} class={classes!("callscope-annotation-band", band.own.then_some("callscope-annotation-band--own"))}
                data-testid="annotation-band" data-annotation-id={band.annotation_id.clone()} data-label-id={band.label_id.clone()}
                data-start-ms={band.start_ms.to_string()} data-end-ms={band.end_ms.to_string()} {style} title={band.title.clone()}>
                if let Some(text) = text {
                    <span class="callscope-annotation-band-text">{ text }</span>
                }
            </div>
        })
    });
    html! { <>{ for shown }</> }
}

/// Renders the selected range on the lane, while dragging and after.
fn selection_band(lane: &Lane, selection: Option<&Target>, scale: &TimeScale) -> Html {
    let (channel, start_ms, end_ms) = match selection {
        Some(Target::TimeRange { start_ms, end_ms }) => (None, *start_ms, *end_ms),
        Some(Target::ChannelRange { channel, start_ms, end_ms }) => (Some(*channel), *start_ms, *end_ms),
        _ => return html! {},
    };
    if !lane_shows(channel, &lane.channels) {
        return html! {};
    }
    let Some((left, right)) = scale.visible_span(start_ms, end_ms) else { return html! {} };
    let style = format!("left:{left:.1}px;width:{:.1}px", right - left);
    html! {
        <div class="callscope-selection" data-testid="selection" data-start-ms={start_ms.to_string()} data-end-ms={end_ms.to_string()}
            data-channel={channel.map(|channel| channel.to_string())} {style} />
    }
}

/// Renders the "Events / Recording" switch for the source of pauses, overlaps and
/// latency bars.
fn source_toggle(current: MeasureSource, on_source: &Callback<MeasureSource>) -> Html {
    let button = |source: MeasureSource, text: &'static str, title: &'static str| {
        let on_source = on_source.clone();
        let pressed = source == current;
        html! {
            <button type="button" class={classes!("callscope-button", "callscope-toggle-button", pressed.then_some("callscope-toggle-button--on"))}
                data-source={source_name(source)} aria-pressed={pressed.to_string()} {title}
                onclick={Callback::from(move |_: MouseEvent| on_source.emit(source))}>
                { text }
            </button>
        }
    };
    html! {
        <div class="callscope-button-group callscope-toggle" role="group" aria-label="Source of pauses and overlaps" data-testid="source-toggle">
            { button(MeasureSource::Events, "Events", "Pauses, overlaps and latencies from the vendor's utterance times") }
            { button(MeasureSource::Audio, "Recording", "Pauses, overlaps and latencies measured on the recording") }
        </div>
    }
}

fn legend() -> Html {
    let item = |class: &'static str, text: &'static str| html! { <span class="callscope-legend-item"><i class={classes!("callscope-swatch", class)} />{ text }</span> };
    let kinds = OVERLAP_KINDS.iter().map(|&kind| {
        html! {
            <span class="callscope-legend-item" title={overlap_kind_description(kind)}>
                <i class={classes!("callscope-swatch", format!("callscope-overlap-{}", overlap_kind_key(kind)))} />{ overlap_kind_name(kind) }
            </span>
        }
    });
    html! {
        <div class="callscope-legend">
            { item("callscope-swatch-user", "User") }
            { item("callscope-swatch-bot", "Bot") }
            { item("callscope-swatch-pause", "Pause") }
            { for kinds }
            { item("callscope-swatch-fast", "Latency < 1 s") }
            { item("callscope-swatch-noticeable", "1–2 s") }
            { item("callscope-swatch-slow", "≥ 2 s") }
        </div>
    }
}

fn pause_labels(marks: &Marks, scale: &TimeScale) -> Html {
    let mut visible: Vec<(usize, f64, f64)> = marks
        .pauses
        .iter()
        .enumerate()
        .filter_map(|(index, band)| {
            let (left, right) = scale.visible_span(band.start_ms, band.end_ms)?;
            Some((index, (left + right) / 2.0, draw::label_width(&marks.pause_labels[index])))
        })
        .collect();
    // `place_labels` needs its anchors from left to right, and the analysis does not
    // promise that order.
    visible.sort_by(|a, b| a.1.total_cmp(&b.1));
    let anchors: Vec<(f64, f64)> = visible.iter().map(|&(_, centre, width)| (centre, width)).collect();
    let slots = draw::place_labels(&anchors, scale.width_px, LABEL_LANES);

    let labels = visible.iter().zip(slots).map(|(&(index, _, width), slot)| {
        let band = marks.pauses[index];
        let style = format!("left:{:.1}px;top:{:.0}px;width:{:.0}px", slot.left_px, slot.lane as f64 * LABEL_ROW_PX, width);
        html! {
            <span class="callscope-pause-label" data-testid="pause-label" data-start-ms={band.start_ms.to_string()} {style}
                title={format!("Pause from {} to {}", format::clock(band.start_ms), format::clock(band.end_ms))}>
                { &marks.pause_labels[index] }
            </span>
        }
    });

    let height = format!("height:{:.0}px", LABEL_LANES as f64 * LABEL_ROW_PX);
    html! { <div class="callscope-pause-labels" style={height}>{ for labels }</div> }
}

/// Labels naming each visible overlap's kind and length, in rows below the
/// canvases, coloured like the overlap's shading. The caller keeps the rows for a
/// call with overlaps in either source, so that switching the source does not move
/// the waveform.
fn overlap_labels(marks: &Marks, scale: &TimeScale) -> Html {
    let mut visible: Vec<(usize, f64, f64)> = marks
        .overlaps
        .iter()
        .enumerate()
        .filter_map(|(index, band)| {
            let (left, right) = scale.visible_span(band.start_ms, band.end_ms)?;
            Some((index, (left + right) / 2.0, draw::label_width(&marks.overlap_labels[index])))
        })
        .collect();
    visible.sort_by(|a, b| a.1.total_cmp(&b.1));
    let anchors: Vec<(f64, f64)> = visible.iter().map(|&(_, centre, width)| (centre, width)).collect();
    let slots = draw::place_labels(&anchors, scale.width_px, OVERLAP_LABEL_LANES);

    let labels = visible.iter().zip(slots).map(|(&(index, _, width), slot)| {
        let band = marks.overlaps[index];
        let kind = overlap_kind_key(band.kind);
        let style = format!("left:{:.1}px;top:{:.0}px;width:{:.0}px", slot.left_px, slot.lane as f64 * LABEL_ROW_PX, width);
        html! {
            <span class={classes!("callscope-overlap-label", format!("callscope-overlap-{kind}"))} data-testid="overlap" data-kind={kind}
                data-start-ms={band.start_ms.to_string()} {style} title={marks.overlap_titles[index].clone()}>
                { &marks.overlap_labels[index] }
            </span>
        }
    });

    let height = format!("height:{:.0}px", OVERLAP_LABEL_LANES as f64 * LABEL_ROW_PX);
    html! { <div class="callscope-overlap-labels" style={height}>{ for labels }</div> }
}

fn axis(scale: &TimeScale) -> Html {
    let step = draw::tick_step_ms(scale, TICK_SPACING_PX);
    let ticks = draw::ticks(scale, step).into_iter().map(|ms| {
        let x = scale.x_of(ms);
        // Labels at the ends are aligned inwards so that they are not cut off.
        let edge = if x < TICK_EDGE_PX {
            Some("callscope-tick--start")
        } else if x > scale.width_px - TICK_EDGE_PX {
            Some("callscope-tick--end")
        } else {
            None
        };
        let style = format!("left:{x:.1}px");
        html! { <span class={classes!("callscope-tick", edge)} {style}>{ format::tick(ms) }</span> }
    });
    html! { <div class="callscope-axis">{ for ticks }</div> }
}

#[derive(Properties, PartialEq)]
struct ChannelCanvasProps {
    lane: Shared<Lane>,
    peaks: Option<Shared<PeaksWindow>>,
    scale: TimeScale,
    marks: Shared<Marks>,
    pixel_ratio: f64,
}

#[component]
fn ChannelCanvas(props: &ChannelCanvasProps) -> Html {
    let canvas_ref = use_node_ref();

    {
        let canvas_ref = canvas_ref.clone();
        let deps = (props.lane.clone(), props.peaks.clone(), props.scale, props.marks.clone(), props.pixel_ratio);
        use_effect_with(deps, move |(lane, peaks, scale, marks, pixel_ratio)| {
            if let Some(canvas) = canvas_ref.cast::<web_sys::HtmlCanvasElement>() {
                paint(&canvas, lane, peaks.as_ref(), scale, marks, *pixel_ratio);
            }
        });
    }

    let style = format!("height:{LANE_HEIGHT_PX}px");
    html! {
        <canvas class="callscope-canvas" data-testid="waveform-canvas" data-channel={props.lane.key.clone()} {style} ref={canvas_ref} />
    }
}

fn paint(canvas: &web_sys::HtmlCanvasElement, lane: &Lane, peaks: Option<&Shared<PeaksWindow>>, scale: &TimeScale, marks: &Marks, pixel_ratio: f64) {
    if scale.width_px <= 0.0 {
        return;
    }
    let backing_width = (scale.width_px * pixel_ratio).round() as u32;
    let backing_height = (LANE_HEIGHT_PX * pixel_ratio).round() as u32;
    if canvas.width() != backing_width {
        canvas.set_width(backing_width);
    }
    if canvas.height() != backing_height {
        canvas.set_height(backing_height);
    }

    let Ok(Some(context)) = canvas.get_context("2d") else { return };
    let Ok(context) = context.dyn_into::<web_sys::CanvasRenderingContext2d>() else { return };

    let columns = match peaks {
        Some(window) => draw::columns(window, &lane.channels, scale, backing_width as usize),
        None => Vec::new(),
    };
    let latencies: &[(i64, i64, i64)] = if lane.shows_latency { &marks.latencies } else { &[] };
    let palette = read_palette(canvas);
    let scene = ChannelScene {
        scale: *scale,
        height_px: LANE_HEIGHT_PX,
        columns: &columns,
        speaker: lane.speaker,
        speech: &lane.speech,
        pauses: &marks.pauses,
        overlaps: &marks.overlaps,
        latencies,
        palette: &palette,
    };
    draw::paint_channel(&context, &scene, pixel_ratio);
}

/// Reads the canvas colours from the `--callscope-*` custom properties in effect
/// on `element`, falling back to the light theme's colours.
fn read_palette(element: &web_sys::Element) -> Palette {
    let style = web_sys::window().and_then(|window| window.get_computed_style(element).ok().flatten());
    let read = |name: &str, fallback: &str| -> String {
        style
            .as_ref()
            .and_then(|style| style.get_property_value(name).ok())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| fallback.to_owned())
    };
    Palette {
        background: read("--callscope-wave-background", "#ffffff"),
        axis: read("--callscope-wave-axis", "#cbd5e1"),
        user: read("--callscope-user", "#0e8a7e"),
        bot: read("--callscope-bot", "#6d4fd8"),
        neutral: read("--callscope-neutral", "#64748b"),
        pause: read("--callscope-pause", "rgba(100, 116, 139, 0.16)"),
        barge_in: read("--callscope-overlap-barge-in", "#dc2626"),
        talk_over: read("--callscope-overlap-talk-over", "#ea580c"),
        backchannel: read("--callscope-overlap-backchannel", "#0284c7"),
        false_interruption: read("--callscope-overlap-false-interruption", "#db2777"),
        fast: read("--callscope-latency-fast", "#16a34a"),
        noticeable: read("--callscope-latency-noticeable", "#d97706"),
        slow: read("--callscope-latency-slow", "#dc2626"),
    }
}

/// Keeps `setter` equal to the element's width in CSS pixels while the component
/// is mounted, through a `ResizeObserver` that is disconnected on unmount. This
/// also catches the widget becoming visible when the host page switches tabs.
#[hook]
fn use_width_of(element: &NodeRef, setter: UseStateSetter<f64>) {
    let element = element.clone();
    use_effect_with((), move |_| {
        let observer = element.cast::<web_sys::Element>().and_then(|element| WidthObserver::new(element, setter));
        move || drop(observer)
    });
}

struct WidthObserver {
    observer: web_sys::ResizeObserver,
    _on_resize: Closure<dyn FnMut()>,
}

impl WidthObserver {
    fn new(element: web_sys::Element, setter: UseStateSetter<f64>) -> Option<Self> {
        setter.set(f64::from(element.client_width()));
        let observed = element.clone();
        let on_resize = Closure::<dyn FnMut()>::new(move || setter.set(f64::from(observed.client_width())));
        let observer = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok()?;
        observer.observe(&element);
        Some(Self { observer, _on_resize: on_resize })
    }
}

impl Drop for WidthObserver {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

fn place_playhead(playhead: &web_sys::HtmlElement, scale: &TimeScale, ms: i64) {
    let x = scale.x_of(ms);
    let visible = scale.width_px > 0.0 && (0.0..=scale.width_px).contains(&x);
    let style = playhead.style();
    let _ = style.set_property("transform", &format!("translateX({x:.1}px)"));
    let _ = style.set_property("visibility", if visible { "visible" } else { "hidden" });
}

/// Moves the playhead with the audio element: on its events, and on every
/// animation frame while it plays. Its listeners and frame request are removed by
/// [`PlayheadFollower::stop`].
struct PlayheadFollower {
    audio: web_sys::HtmlMediaElement,
    playhead: web_sys::HtmlElement,
    scale: Rc<RefCell<TimeScale>>,
    view: UseStateSetter<(i64, i64)>,
    on_time: Callback<i64>,
    duration_ms: i64,
    frame_id: Cell<Option<i32>>,
    on_frame: RefCell<Option<Closure<dyn FnMut()>>>,
    listeners: RefCell<Vec<EventListener>>,
}

impl PlayheadFollower {
    fn start(
        audio: web_sys::HtmlMediaElement,
        playhead: web_sys::HtmlElement,
        scale: Rc<RefCell<TimeScale>>,
        view: UseStateSetter<(i64, i64)>,
        on_time: Callback<i64>,
        duration_ms: i64,
    ) -> Rc<Self> {
        let follower = Rc::new(Self {
            audio: audio.clone(),
            playhead,
            scale,
            view,
            on_time,
            duration_ms,
            frame_id: Cell::new(None),
            on_frame: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
        });

        // Closures hold weak references, so the follower is freed once `stop` has
        // dropped the listeners and the frame callback.
        let weak = Rc::downgrade(&follower);
        *follower.on_frame.borrow_mut() = Some(Closure::new(move || with(&weak, |f| f.frame())));

        let mut listeners = Vec::new();
        for event in ["timeupdate", "seeked", "seeking", "loadedmetadata", "pause", "ended"] {
            let weak = Rc::downgrade(&follower);
            listeners.push(EventListener::new(&audio, event, move |_| with(&weak, |f| f.sync())));
        }
        let weak = Rc::downgrade(&follower);
        listeners.push(EventListener::new(&audio, "play", move |_| with(&weak, |f| f.request_frame())));
        *follower.listeners.borrow_mut() = listeners;

        follower.sync();
        follower
    }

    fn stop(&self) {
        if let (Some(id), Some(window)) = (self.frame_id.take(), web_sys::window()) {
            let _ = window.cancel_animation_frame(id);
        }
        self.listeners.borrow_mut().clear();
        self.on_frame.borrow_mut().take();
    }

    fn request_frame(&self) {
        if self.frame_id.get().is_some() {
            return;
        }
        let (Some(window), Some(on_frame)) = (web_sys::window(), self.on_frame.borrow().as_ref().map(|c| c.as_ref().clone())) else {
            return;
        };
        self.frame_id.set(window.request_animation_frame(on_frame.unchecked_ref()).ok());
    }

    fn frame(&self) {
        self.frame_id.set(None);
        self.sync();
        if !self.audio.paused() {
            self.request_frame();
        }
    }

    fn sync(&self) {
        let ms = (self.audio.current_time() * 1000.0).round() as i64;
        let scale = *self.scale.borrow();
        place_playhead(&self.playhead, &scale, ms);
        self.on_time.emit(ms);

        let zoomed = scale.span_ms() < self.duration_ms;
        let outside = ms < scale.start_ms || ms > scale.end_ms;
        if zoomed && outside && !self.audio.paused() {
            self.view.set(page_at(ms, scale.span_ms(), self.duration_ms));
        }
    }
}

fn with(weak: &Weak<PlayheadFollower>, action: impl FnOnce(&PlayheadFollower)) {
    if let Some(follower) = weak.upgrade() {
        action(&follower);
    }
}

/// Colour class of a latency in the calls list and the call header.
pub fn latency_class(latency_ms: i64) -> &'static str {
    match draw::latency_grade(latency_ms) {
        LatencyGrade::Fast => "callscope-grade-fast",
        LatencyGrade::Noticeable => "callscope-grade-noticeable",
        LatencyGrade::Slow => "callscope-grade-slow",
    }
}

#[cfg(test)]
mod tests {
    use callscope_api_types::{
        AudioEncoding, AudioFormat, CallSummary, ChannelActivity, ComponentVersion, NormalizedCall, Overlap, OverlapKind, Pause,
        PauseKind, RecordingInfo, ResponseLatency, Segment, TimingQuality, Utterance,
    };

    use super::*;

    fn detail(layout: ChannelLayout, channels: u16) -> CallDetail {
        let utterance = |index: u32, speaker: Speaker, start_ms: i64, end_ms: i64| Utterance {
            index,
            speaker,
            text: String::from("hello"),
            start_ms,
            end_ms,
            words: Vec::new(),
            timing: TimingQuality::Exact,
            original_times: String::from("{}"),
        };
        CallDetail {
            summary: CallSummary {
                id: String::from("c1"),
                title: String::from("Test call"),
                format: String::from("native"),
                imported_at: String::from("2026-01-01T00:00:00Z"),
                duration_ms: Some(10_000),
                utterance_count: 3,
                max_latency_ms: None,
                pause_count: 1,
                overlap_count: 0,
                has_recording: true,
                live: false,
            },
            call: NormalizedCall {
                format: String::from("native"),
                vendor_call_id: None,
                started_at_epoch_ms: None,
                duration_ms: Some(10_000),
                utterances: vec![
                    utterance(0, Speaker::System, 0, 0),
                    utterance(1, Speaker::Bot, 0, 2_000),
                    utterance(2, Speaker::User, 3_000, 5_000),
                ],
                findings: Vec::new(),
                unknown_fields: String::from("{}"),
                recording_urls: Vec::new(),
                ..NormalizedCall::default()
            },
            recording: Some(RecordingInfo {
                format: AudioFormat { encoding: AudioEncoding::Pcm16, sample_rate: 8000, channels, bits_per_sample: 16, frames: 80_000, duration_ms: 10_000 },
                layout,
                activity: vec![
                    ChannelActivity { channel: 0, speech: vec![Segment { start_ms: 3_000, end_ms: 5_000 }] },
                    ChannelActivity { channel: 1, speech: vec![Segment { start_ms: 0, end_ms: 2_000 }, Segment { start_ms: 6_000, end_ms: 7_000 }] },
                ],
                levels: Vec::new(),
                audio_url: String::from("calls/c1/audio"),
            }),
            analysis: CallAnalysis {
                turns: Vec::new(),
                latencies: vec![
                    ResponseLatency { turn_index: 2, user_end_ms: 5_000, bot_start_ms: 6_000, latency_ms: 1_000, source: MeasureSource::Events },
                    ResponseLatency { turn_index: 2, user_end_ms: 5_000, bot_start_ms: 6_040, latency_ms: 1_040, source: MeasureSource::Audio },
                ],
                pauses: vec![
                    Pause { start_ms: 2_000, end_ms: 3_000, duration_ms: 1_000, kind: PauseKind::BetweenSpeakers, speaker: Speaker::Bot, source: MeasureSource::Events },
                    Pause { start_ms: 2_040, end_ms: 3_000, duration_ms: 960, kind: PauseKind::BetweenSpeakers, speaker: Speaker::Bot, source: MeasureSource::Audio },
                ],
                overlaps: vec![Overlap {
                    start_ms: 4_000,
                    end_ms: 4_700,
                    duration_ms: 700,
                    interrupter: Speaker::User,
                    kind: OverlapKind::BargeIn,
                    source: MeasureSource::Audio,
                }],
                dead_air: Vec::new(),
                talk: Vec::new(),
                alignment: None,
                flags: Vec::new(),
                findings: Vec::new(),
            },
            analysed_by: ComponentVersion { interface_version: String::from("0.2.0"), sha256: String::new() },
            redacted: false,
            transcript_hidden: false,
        }
    }

    #[test]
    fn lanes_separate_one_per_channel() {
        let lanes = lanes(&detail(ChannelLayout::Separate { user_channel: 0, bot_channel: 1 }, 2));
        assert_eq!(lanes.len(), 2);
        assert_eq!(lanes[0].key, "0");
        assert_eq!(lanes[0].speaker, Some(Speaker::User));
        assert_eq!(lanes[1].key, "1");
        assert_eq!(lanes[1].speaker, Some(Speaker::Bot));
    }

    #[test]
    fn lanes_separate_shade_channel_activity() {
        let lanes = lanes(&detail(ChannelLayout::Separate { user_channel: 0, bot_channel: 1 }, 2));
        assert_eq!(lanes[1].speech, vec![
            SpeechBand { start_ms: 0, end_ms: 2_000, speaker: Some(Speaker::Bot) },
            SpeechBand { start_ms: 6_000, end_ms: 7_000, speaker: Some(Speaker::Bot) },
        ]);
    }

    #[test]
    fn lanes_separate_latency_on_bot_channel_only() {
        let lanes = lanes(&detail(ChannelLayout::Separate { user_channel: 1, bot_channel: 0 }, 2));
        assert!(lanes[0].shows_latency);
        assert!(!lanes[1].shows_latency);
    }

    #[test]
    fn lanes_mixed_mono_is_one_canvas() {
        let lanes = lanes(&detail(ChannelLayout::Mixed, 1));
        assert_eq!(lanes.len(), 1);
        assert_eq!(lanes[0].key, "0");
        assert_eq!(lanes[0].channels, vec![0]);
        assert!(lanes[0].shows_latency);
    }

    #[test]
    fn lanes_mixed_shaded_by_transcript_speakers() {
        let lanes = lanes(&detail(ChannelLayout::Mixed, 1));
        assert_eq!(lanes[0].speech, vec![
            SpeechBand { start_ms: 0, end_ms: 2_000, speaker: Some(Speaker::Bot) },
            SpeechBand { start_ms: 3_000, end_ms: 5_000, speaker: Some(Speaker::User) },
        ]);
    }

    #[test]
    fn lanes_mixed_stereo_merges_channels() {
        let lanes = lanes(&detail(ChannelLayout::Mixed, 2));
        assert_eq!(lanes.len(), 1);
        assert_eq!(lanes[0].key, "0,1");
        assert_eq!(lanes[0].channels, vec![0, 1]);
    }

    #[test]
    fn lanes_without_recording_are_empty() {
        let mut call = detail(ChannelLayout::Mixed, 1);
        call.recording = None;
        assert!(lanes(&call).is_empty());
    }

    #[test]
    fn marks_label_pause_length() {
        let marks = marks(&detail(ChannelLayout::Mixed, 1).analysis, MeasureSource::Events);
        assert_eq!(marks.pauses, vec![Band { start_ms: 2_000, end_ms: 3_000 }]);
        assert_eq!(marks.pause_labels, vec![String::from("1.0 s")]);
    }

    #[test]
    fn marks_only_of_shown_source() {
        let marks = marks(&detail(ChannelLayout::Mixed, 1).analysis, MeasureSource::Audio);
        assert_eq!(marks.pauses, vec![Band { start_ms: 2_040, end_ms: 3_000 }]);
        assert_eq!(marks.latencies, vec![(5_000, 6_040, 1_040)]);
    }

    #[test]
    fn marks_label_overlap_kind() {
        let marks = marks(&detail(ChannelLayout::Mixed, 1).analysis, MeasureSource::Audio);
        assert_eq!(marks.overlaps, vec![OverlapBand { start_ms: 4_000, end_ms: 4_700, kind: OverlapKind::BargeIn }]);
        assert_eq!(marks.overlap_labels, vec![String::from("barge-in 0.7 s")]);
    }

    #[test]
    fn marks_of_events_have_no_audio_overlaps() {
        let marks = marks(&detail(ChannelLayout::Mixed, 1).analysis, MeasureSource::Events);
        assert!(marks.overlaps.is_empty());
    }

    #[test]
    fn zoom_in_keeps_centre_in_place() {
        assert_eq!(zoom((0, 60_000), 0.5, 30_000, 60_000), (15_000, 45_000));
        assert_eq!(zoom((0, 60_000), 0.5, 15_000, 60_000), (7_500, 37_500));
    }

    #[test]
    fn zoom_stays_inside_call() {
        assert_eq!(zoom((0, 60_000), 0.5, 0, 60_000), (0, 30_000));
        assert_eq!(zoom((40_000, 60_000), 4.0, 59_000, 60_000), (0, 60_000));
    }

    #[test]
    fn zoom_in_stops_at_minimum_view() {
        assert_eq!(zoom((10_000, 12_000), 0.5, 11_000, 60_000), (10_000, 12_000));
        assert_eq!(zoom((0, 1_500), 0.5, 500, 1_500), (0, 1_500));
    }

    #[test]
    fn page_at_moves_back_inside_call() {
        assert_eq!(page_at(55_000, 10_000, 60_000), (50_000, 60_000));
        assert_eq!(page_at(-5, 10_000, 60_000), (0, 10_000));
    }
}
