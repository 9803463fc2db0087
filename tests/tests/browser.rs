//! The demo site in headless Chromium, used as a person uses it: sign in, open the
//! Calls tab, open a call, look at its waveform, play it, seek from the transcript,
//! read the per-turn latency and the raw vendor data, and switch the source of
//! pauses and overlaps. Screenshots are saved to `tests/artifacts/` for a person to
//! look at.
//!
//! Run with `cargo xtask test -p callscope-tests --test browser`, which builds the
//! component and the widget and installs Chromium when it is missing.

use callscope_api_types as api;
use callscope_tests::browser::{Browser, poll};
use callscope_tests::{ServerOptions, TestServer};
use fantoccini::Locator;
use serde::Deserialize;
use serde_json::json;

/// Start of the title of the sample call with a 120 s mono recording.
const SALES_CALL: &str = "Sales call";
/// Start of the title of the sample call with a two-channel G.711 mu-law recording.
const ASSEMBLED_CALL: &str = "Assembled mu-law call";

/// Largest accepted distance between an utterance's start and the audio position
/// after clicking it, in seconds.
const SEEK_TOLERANCE_S: f64 = 0.3;
/// Largest accepted distance between the playhead and the position computed from the
/// audio time, in CSS pixels. The playhead moves on every animation frame and on
/// every `timeupdate` event, which the HTML standard fires every 15 to 250 ms. At the
/// whole-call zoom of a 120 s call on a 1060 px canvas, 250 ms are 2.2 px.
const PLAYHEAD_TOLERANCE_PX: f64 = 4.0;

/// Runs one browser test at a time, because several Chromium instances next to the
/// servers running the component make playback timing depend on the machine's load.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn viewer_plays_sales_call() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;

    sign_in(&browser, &server, "viewer").await;
    let user = browser.wait_for("[data-testid=signed-in-user]").await.text().await.unwrap();
    assert!(user.starts_with("viewer"), "the top bar shows the signed-in user, got {user:?}");

    open_calls_tab(&browser).await;
    let rows = browser.client.find_all(Locator::Css("[data-testid=call-row]")).await.unwrap();
    assert_eq!(rows.len(), sample_titles().len(), "the calls list shows every sample call");
    let (table_width, wrap_width): (f64, f64) = browser
        .run(
            "const table = document.querySelector('[data-testid=calls-list] table');
             return [table.scrollWidth, table.parentElement.clientWidth];",
            vec![],
        )
        .await;
    assert!(table_width <= wrap_width, "the calls table fits the window without scrolling sideways: {table_width} px in {wrap_width} px");
    browser.screenshot("calls-list.png").await;

    let call_id = open_call(&browser, SALES_CALL).await;
    let detail = call_detail(&server, &call_id).await;
    let utterances = wait_for_utterances(&browser).await;
    assert_eq!(utterances.len(), detail.call.utterances.len(), "one transcript row per utterance");
    let starts: Vec<i64> = detail.call.utterances.iter().map(|u| u.start_ms).collect();
    let shown: Vec<i64> = utterances.iter().map(|u| u.start_ms).collect();
    assert_eq!(shown, starts, "transcript rows carry the utterances' start times in order");

    let canvases = wait_for_canvases(&browser).await;
    assert_eq!(canvases, vec![String::from("0")], "a mono mixed recording has one canvas for channel 0");
    let pixels = wait_for_waveform(&browser, "0", "--callscope-neutral").await;
    eprintln!("sales call canvas: {pixels:?}");
    assert!(pixels.wave * 20 > pixels.total, "the waveform covers over 5 % of the canvas: {pixels:?}");
    let labels = check_pause_labels(&browser, &detail).await;
    assert_eq!(avoidable_overlaps(&labels), Vec::new(), "pause labels overlap only where more pauses meet than rows fit");

    let audio = wait_for_audio_metadata(&browser).await;
    assert!((audio.duration - 120.0).abs() < 0.1, "the audio element reports the 120 s recording, got {} s", audio.duration);
    assert!(audio.paused, "the audio does not start by itself");

    let started: String = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             document.querySelector('[data-testid=audio]').play()
                 .then(() => done('playing'), (error) => done(`${error.name}: ${error.message}`));",
            vec![],
        )
        .await
        .expect("running audio.play()")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(started, "playing", "audio.play() resolves in headless Chromium");

    let playing = poll("audio time reaches 1.5 s and the playhead follows", || async {
        let state = playback(&browser).await;
        if state.current_time >= 1.5 && state.playhead_x > 0.0 { Ok(state) } else { Err(format!("{state:?}")) }
    })
    .await;
    eprintln!("playing: {playing:?}");
    let expected_x = playing.current_time / playing.duration * playing.stack_width;
    assert!(
        (playing.playhead_x - expected_x).abs() <= PLAYHEAD_TOLERANCE_PX,
        "the playhead sits at the audio time: expected x {expected_x:.1}, {playing:?}"
    );
    assert!(playing.playhead_visible, "the playhead is visible while playing: {playing:?}");
    browser.screenshot("sales-call.png").await;

    // A row well after the current time, so that the seek is a visible jump.
    let target = utterances
        .iter()
        .find(|u| u.playable && u.audible && u.start_ms as f64 > (playing.current_time + 20.0) * 1000.0)
        .expect("the sales call has an utterance later than 20 s after the playhead");
    let row = browser
        .client
        .find(Locator::Css(&format!("[data-testid=utterance][data-start-ms=\"{}\"]", target.start_ms)))
        .await
        .unwrap();
    row.click().await.expect("clicking the utterance row");
    let after_click = playback(&browser).await;
    eprintln!("after clicking the row at {} ms: {after_click:?}", target.start_ms);
    let target_s = target.start_ms as f64 / 1000.0;
    assert!(
        (after_click.current_time - target_s).abs() <= SEEK_TOLERANCE_S,
        "clicking the row at {} ms moves the audio there: {after_click:?}",
        target.start_ms
    );

    let highlighted = poll("the clicked row is highlighted", || async {
        let classes = row.attr("class").await.map_err(|e| e.to_string())?.unwrap_or_default();
        if classes.contains("callscope-utterance--active") { Ok(classes) } else { Err(classes) }
    })
    .await;
    assert!(highlighted.contains("callscope-utterance--playable"), "row classes: {highlighted}");

    let _: bool = browser.run("document.querySelector('[data-testid=audio]').pause(); return true;", vec![]).await;
    let paused = poll("the paused playhead sits at the audio time", || async {
        let state = playback(&browser).await;
        let expected_x = state.current_time / state.duration * state.stack_width;
        let placed = (state.playhead_x - expected_x).abs() <= PLAYHEAD_TOLERANCE_PX;
        if state.paused && placed { Ok(state) } else { Err(format!("expected x {expected_x:.1}, {state:?}")) }
    })
    .await;
    assert!(paused.current_time >= target_s, "playback went on from the clicked row: {paused:?}");
    browser.screenshot("sales-call-seek.png").await;

    browser.close().await;
}

#[tokio::test]
async fn assembled_call_two_channels() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;

    sign_in(&browser, &server, "viewer").await;
    open_calls_tab(&browser).await;
    let call_id = open_call(&browser, ASSEMBLED_CALL).await;
    let detail = call_detail(&server, &call_id).await;

    let utterances = wait_for_utterances(&browser).await;
    assert_eq!(utterances.len(), detail.call.utterances.len(), "one transcript row per utterance");

    let canvases = wait_for_canvases(&browser).await;
    assert_eq!(canvases, vec![String::from("0"), String::from("1")], "one canvas per channel");
    let user = wait_for_waveform(&browser, "0", "--callscope-user").await;
    assert!(user.wave * 50 > user.total, "channel 0 shows the user's waveform over 2 % of the canvas: {user:?}");
    let bot = wait_for_waveform(&browser, "1", "--callscope-bot").await;
    eprintln!("assembled call canvases: user {user:?}, bot {bot:?}");
    assert!(bot.wave * 50 > bot.total, "channel 1 shows the bot's waveform over 2 % of the canvas: {bot:?}");

    let lane_names: Vec<String> = browser
        .run("return [...document.querySelectorAll('.callscope-lane-name')].map((e) => e.textContent);", vec![])
        .await;
    assert_eq!(lane_names, vec!["User", "Bot"], "channel 0 is the user and channel 1 the bot");

    assert!(!detail.analysis.pauses.is_empty(), "the assembled call has pauses in its analysis");
    let labels = check_pause_labels(&browser, &detail).await;
    // At most two pauses meet at one spot of this call, which the two label rows fit.
    assert_eq!(overlapping_labels(&labels), Vec::new(), "no two pause labels overlap");

    let audio = wait_for_audio_metadata(&browser).await;
    let expected_s = detail.recording.as_ref().expect("the call has a recording").format.duration_ms as f64 / 1000.0;
    assert!(
        (audio.duration - expected_s).abs() < 0.1,
        "the browser plays the G.711 recording converted to PCM: duration {} s, expected {expected_s} s",
        audio.duration
    );
    browser.screenshot("assembled-call.png").await;

    browser.close().await;
}

#[tokio::test]
async fn assembled_call_latency_and_raw_data() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;

    sign_in(&browser, &server, "viewer").await;
    open_calls_tab(&browser).await;
    let call_id = open_call(&browser, ASSEMBLED_CALL).await;
    let detail = call_detail(&server, &call_id).await;

    browser.wait_for("[data-testid=latency-breakdown]").await;
    let rows: Vec<BreakdownRow> = browser
        .run(
            "return [...document.querySelectorAll('[data-testid=latency-breakdown]')].map((row) => ({
                 utterance_index: Number(row.dataset.utteranceIndex),
                 recording: row.querySelector('[data-testid=response-latency][data-source=recording]')?.textContent ?? null,
             }));",
            vec![],
        )
        .await;
    eprintln!("latency rows: {rows:?}");
    let first_utterance_of_turn = |turn_index: u32| {
        detail.analysis.turns.iter().find(|turn| turn.index == turn_index).and_then(|turn| turn.utterances.first().copied())
    };
    for latency in detail.analysis.latencies.iter().filter(|latency| latency.source == api::MeasureSource::Audio) {
        let utterance = first_utterance_of_turn(latency.turn_index);
        assert!(
            rows.iter().any(|row| Some(row.utterance_index) == utterance),
            "the turn of {latency:?} has a latency row on utterance {utterance:?}"
        );
    }
    for row in &rows {
        let utterance = &detail.call.utterances[row.utterance_index as usize];
        assert_eq!(utterance.speaker, api::Speaker::Bot, "latency row {row:?} sits on a bot utterance");
    }
    // Every latency of this call is under 10 s, which the widget shows in whole ms.
    let measured = detail
        .analysis
        .latencies
        .iter()
        .find(|latency| latency.source == api::MeasureSource::Audio)
        .expect("the assembled call has a latency measured on the recording");
    let row = rows
        .iter()
        .find(|row| Some(row.utterance_index) == first_utterance_of_turn(measured.turn_index))
        .expect("the measured latency has a row");
    assert_eq!(row.recording.as_deref(), Some(format!("Recording{} ms", measured.latency_ms).as_str()), "measured latency of {measured:?}");

    let raw = browser.wait_for("[data-testid=raw-json]").await;
    raw.find(Locator::Css("summary")).await.unwrap().click().await.expect("opening the raw vendor data");
    let shown = browser.wait_for("[data-testid=raw-json][open] [data-part=unknown-fields] pre").await.text().await.unwrap();
    let shown: serde_json::Value = serde_json::from_str(&shown).expect("the unknown fields are shown as JSON");
    let stored: serde_json::Value = serde_json::from_str(&detail.call.unknown_fields).unwrap();
    assert_eq!(shown, stored, "the raw section shows the call's unknown fields");
    browser.screenshot("assembled-call-latency.png").await;

    let events_button = browser.wait_for("[data-testid=source-toggle] [data-source=events]").await;
    events_button.click().await.expect("switching to the events' pauses");
    let event_pauses = detail.analysis.pauses.iter().filter(|pause| pause.source == api::MeasureSource::Events).count();
    poll("pause labels follow the events source", || async {
        let labels: usize = browser.run("return document.querySelectorAll('[data-testid=pause-label]').length;", vec![]).await;
        if labels == event_pauses { Ok(labels) } else { Err(format!("{labels} labels for {event_pauses} event pauses")) }
    })
    .await;

    browser.close().await;
}

#[tokio::test]
async fn wrong_password_shows_error() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions::default()).await;
    let browser = Browser::start().await;

    submit_login(&browser, &server, "viewer", "not-the-password").await;
    let message = poll("the login page shows an error", || async {
        let text = browser.wait_for("[data-testid=login-error]").await.text().await.map_err(|e| e.to_string())?;
        if text.is_empty() { Err(String::from("empty error line")) } else { Ok(text) }
    })
    .await;
    assert_eq!(message, "Unknown user or wrong password.");
    let signed_in = browser.client.find_all(Locator::Css("[data-testid=signed-in-user]")).await.unwrap();
    assert!(signed_in.is_empty(), "a failed login does not open the backoffice");

    browser.close().await;
}

/// Opens the site, which redirects to the login page, and submits the form.
async fn submit_login(browser: &Browser, server: &TestServer, user: &str, password: &str) {
    browser.client.goto(&server.url("/")).await.expect("opening the demo site");
    browser.wait_for("input[name=username]").await;
    let form = browser.client.form(Locator::Css("form.login-form")).await.expect("finding the login form");
    form.set_by_name("username", user).await.unwrap();
    form.set_by_name("password", password).await.unwrap();
    form.submit().await.expect("submitting the login form");
}

async fn sign_in(browser: &Browser, server: &TestServer, user: &str) {
    submit_login(browser, server, user, user).await;
    browser.wait_for("[data-testid=signed-in-user]").await;
}

/// Clicks the Calls tab and waits for the widget to list calls.
async fn open_calls_tab(browser: &Browser) {
    let tab = browser.wait_for("a[data-tab=calls]").await;
    tab.click().await.expect("clicking the Calls tab");
    browser.wait_for("[data-testid=calls-tab] [data-testid=calls-list] [data-testid=call-row]").await;
}

/// Clicks the call row whose title starts with `title` and waits for the call view.
/// Returns the call id.
async fn open_call(browser: &Browser, title: &str) -> String {
    let call_id: Option<String> = browser
        .run(
            "const row = [...document.querySelectorAll('[data-testid=call-row]')]
                 .find((row) => row.querySelector('.callscope-title-cell').textContent.replace('♪', '').startsWith(arguments[0]));
             return row ? row.dataset.callId : null;",
            vec![json!(title)],
        )
        .await;
    let call_id = call_id.unwrap_or_else(|| panic!("no call row titled {title:?}"));

    let row = browser.client.find(Locator::Css(&format!("[data-testid=call-row][data-call-id=\"{call_id}\"]"))).await.unwrap();
    row.click().await.expect("clicking the call row");
    browser.wait_for(&format!("[data-testid=call-view][data-call-id=\"{call_id}\"]")).await;
    call_id
}

/// Returns the call as the API serves it to the viewer.
async fn call_detail(server: &TestServer, call_id: &str) -> api::CallDetail {
    let viewer = server.client_for("viewer").await;
    let response = viewer.get(server.url(&format!("/callscope/api/calls/{call_id}"))).send().await.unwrap();
    assert_eq!(response.status(), 200, "reading call {call_id}");
    response.json().await.expect("decoding the call")
}

/// One transcript row as the page shows it.
#[derive(Debug, Deserialize)]
struct UtteranceRow {
    start_ms: i64,
    playable: bool,
    /// Whether the row is the user's or the bot's, which the playhead highlights.
    audible: bool,
}

async fn wait_for_utterances(browser: &Browser) -> Vec<UtteranceRow> {
    browser.wait_for("[data-testid=transcript] [data-testid=utterance]").await;
    browser
        .run(
            "return [...document.querySelectorAll('[data-testid=transcript] [data-testid=utterance]')].map((row) => ({
                 start_ms: Number(row.dataset.startMs),
                 playable: row.classList.contains('callscope-utterance--playable'),
                 audible: row.classList.contains('callscope-speaker-user') || row.classList.contains('callscope-speaker-bot'),
             }));",
            vec![],
        )
        .await
}

/// Returns the `data-channel` of each waveform canvas, in page order.
async fn wait_for_canvases(browser: &Browser) -> Vec<String> {
    browser.wait_for("[data-testid=waveform-canvas]").await;
    browser
        .run("return [...document.querySelectorAll('[data-testid=waveform-canvas]')].map((c) => c.dataset.channel);", vec![])
        .await
}

/// Pixel counts of one waveform canvas.
#[derive(Debug, Deserialize)]
struct CanvasPixels {
    total: u64,
    /// Pixels that differ from the `--callscope-wave-background` colour.
    non_background: u64,
    /// Pixels of the lane's waveform colour, drawn from the peaks.
    wave: u64,
}

/// Counts the pixels of canvas `channel` in the waveform colour named by custom
/// property `wave_colour`, waiting until the peaks are drawn.
async fn wait_for_waveform(browser: &Browser, channel: &str, wave_colour: &str) -> CanvasPixels {
    const COUNT_PIXELS: &str = "
        const canvas = document.querySelector(`[data-testid=waveform-canvas][data-channel=\"${arguments[0]}\"]`);
        const style = getComputedStyle(canvas);
        const probe = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
        const rgb = (property) => {
            probe.clearRect(0, 0, 1, 1);
            probe.fillStyle = style.getPropertyValue(property).trim();
            probe.fillRect(0, 0, 1, 1);
            return probe.getImageData(0, 0, 1, 1).data;
        };
        const background = rgb('--callscope-wave-background');
        const wave = rgb(arguments[1]);
        const near = (data, i, colour) =>
            Math.abs(data[i] - colour[0]) + Math.abs(data[i + 1] - colour[1]) + Math.abs(data[i + 2] - colour[2]) <= 6;
        if (canvas.width === 0 || canvas.height === 0) return { total: 0, non_background: 0, wave: 0 };
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let nonBackground = 0;
        let waveCount = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (!near(data, i, background)) nonBackground += 1;
            if (near(data, i, wave)) waveCount += 1;
        }
        return { total: canvas.width * canvas.height, non_background: nonBackground, wave: waveCount };";

    browser.wait_for(&format!("[data-testid=waveform-canvas][data-channel=\"{channel}\"]")).await;
    let pixels = poll(&format!("canvas {channel} shows a waveform"), || async {
        let pixels: CanvasPixels = browser.run(COUNT_PIXELS, vec![json!(channel), json!(wave_colour)]).await;
        if pixels.wave > 0 { Ok(pixels) } else { Err(format!("{pixels:?}")) }
    })
    .await;
    assert!(pixels.non_background > pixels.wave, "the canvas has speech shading or marks besides the waveform: {pixels:?}");
    pixels
}

/// One pause label as the page shows it.
#[derive(Debug, PartialEq, Deserialize)]
struct PauseLabel {
    start_ms: i64,
    text: String,
    /// Position and width in CSS pixels inside the label area. Labels with the same
    /// `top` share a row.
    top: f64,
    left: f64,
    width: f64,
}

/// Returns the source whose pauses and overlaps a call opens with: the recording
/// when the call has one and the analysis measured any pause or overlap on it.
fn shown_source(detail: &api::CallDetail) -> api::MeasureSource {
    let analysis = &detail.analysis;
    let measured_on_audio = analysis.pauses.iter().any(|pause| pause.source == api::MeasureSource::Audio)
        || analysis.overlaps.iter().any(|overlap| overlap.source == api::MeasureSource::Audio);
    if detail.recording.is_some() && measured_on_audio { api::MeasureSource::Audio } else { api::MeasureSource::Events }
}

/// One per-turn latency line of the transcript.
#[derive(Debug, Deserialize)]
struct BreakdownRow {
    utterance_index: u32,
    /// Text of the latency measured on the recording, such as `Recording788 ms`.
    recording: Option<String>,
}

/// Checks that every pause of the shown source has one label showing its length in
/// seconds with one decimal, as `1.2 s`, and returns the labels in page order.
async fn check_pause_labels(browser: &Browser, detail: &api::CallDetail) -> Vec<PauseLabel> {
    let source = shown_source(detail);
    let pauses: Vec<&api::Pause> = detail.analysis.pauses.iter().filter(|pause| pause.source == source).collect();
    let labels = poll("a label for every pause", || async {
        let labels: Vec<PauseLabel> = browser
            .run(
                "return [...document.querySelectorAll('[data-testid=pause-label]')].map((label) => ({
                     start_ms: Number(label.dataset.startMs),
                     text: label.textContent,
                     top: label.offsetTop,
                     left: label.offsetLeft,
                     width: label.offsetWidth,
                 }));",
                vec![],
            )
            .await;
        if labels.len() == pauses.len() { Ok(labels) } else { Err(format!("{} labels for {} pauses", labels.len(), pauses.len())) }
    })
    .await;

    let mut shown: Vec<(i64, String)> = labels.iter().map(|label| (label.start_ms, label.text.clone())).collect();
    let mut expected: Vec<(i64, String)> = pauses
        .iter()
        .map(|pause| {
            let tenths = (pause.duration_ms + 50) / 100;
            (pause.start_ms, format!("{}.{} s", tenths / 10, tenths % 10))
        })
        .collect();
    shown.sort();
    expected.sort();
    assert_eq!(shown, expected, "pause labels as (start_ms, text)");
    labels
}

fn spans_intersect(first: &PauseLabel, second: &PauseLabel) -> bool {
    first.left < second.left + second.width && second.left < first.left + first.width
}

/// Returns the pairs of labels that sit in one row and overlap.
fn overlapping_labels(labels: &[PauseLabel]) -> Vec<(&PauseLabel, &PauseLabel)> {
    let mut pairs = Vec::new();
    for (index, first) in labels.iter().enumerate() {
        for second in &labels[index + 1..] {
            if first.top == second.top && spans_intersect(first, second) {
                pairs.push((first, second));
            }
        }
    }
    pairs
}

/// Returns the overlapping pairs that another row had room for: no label of another
/// row reaches into either of the two. The widget lets labels overlap only where
/// more pauses meet than there are rows.
fn avoidable_overlaps(labels: &[PauseLabel]) -> Vec<(&PauseLabel, &PauseLabel)> {
    overlapping_labels(labels)
        .into_iter()
        .filter(|(first, second)| {
            !labels.iter().any(|other| other.top != first.top && (spans_intersect(other, first) || spans_intersect(other, second)))
        })
        .collect()
}

/// The audio element and the playhead at one moment.
#[derive(Debug, Deserialize)]
struct Playback {
    current_time: f64,
    duration: f64,
    paused: bool,
    ready_state: u32,
    /// Horizontal offset of the playhead from its `translateX` transform, in CSS pixels.
    playhead_x: f64,
    playhead_visible: bool,
    /// Width of the waveform area the playhead moves across, in CSS pixels.
    stack_width: f64,
}

async fn playback(browser: &Browser) -> Playback {
    browser
        .run(
            "const audio = document.querySelector('[data-testid=audio]');
             const playhead = document.querySelector('[data-testid=playhead]');
             const match = /translateX\\((-?[\\d.]+)px\\)/.exec(playhead.style.transform);
             return {
                 current_time: audio.currentTime,
                 duration: Number.isFinite(audio.duration) ? audio.duration : 0,
                 paused: audio.paused,
                 ready_state: audio.readyState,
                 playhead_x: match ? Number(match[1]) : -1,
                 playhead_visible: playhead.style.visibility !== 'hidden',
                 stack_width: playhead.parentElement.clientWidth,
             };",
            vec![],
        )
        .await
}

/// Waits until the audio element has loaded the recording's metadata.
async fn wait_for_audio_metadata(browser: &Browser) -> Playback {
    browser.wait_for("[data-testid=audio]").await;
    poll("the audio element loads the recording's metadata", || async {
        let state = playback(browser).await;
        // HAVE_METADATA: duration and dimensions are known.
        if state.ready_state >= 1 && state.duration > 0.0 { Ok(state) } else { Err(format!("{state:?}")) }
    })
    .await
}

/// Returns the titles of the sample calls in `fixtures/calls`, one per vendor format
/// and recording kind.
fn sample_titles() -> Vec<String> {
    let mut titles = Vec::new();
    for entry in std::fs::read_dir(callscope_tests::fixture("calls")).expect("reading fixtures/calls") {
        let manifest = entry.unwrap().path().join("call.json");
        if manifest.is_file() {
            let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
            titles.push(value["title"].as_str().expect("every manifest has a title").to_owned());
        }
    }
    titles.sort();
    titles
}

#[tokio::test]
async fn every_format_opens_in_call_view() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;
    sign_in(&browser, &server, "viewer").await;

    let mut formats = std::collections::BTreeSet::new();
    for title in sample_titles() {
        browser.client.goto(&server.url("/")).await.expect("reloading the backoffice page");
        open_calls_tab(&browser).await;
        let call_id = open_call(&browser, &title).await;
        let detail = call_detail(&server, &call_id).await;

        let rows = wait_for_utterances(&browser).await;
        assert_eq!(rows.len(), detail.call.utterances.len(), "{title}: one transcript row per utterance");
        let header: String = browser
            .run("return document.querySelector('[data-testid=call-header]').textContent;", vec![])
            .await;
        assert!(header.contains(&detail.call.format), "{title}: the header names format {}: {header:?}", detail.call.format);
        formats.insert(detail.call.format.clone());
        let file = format!("format-{}.png", detail.call.format);
        browser.screenshot(&file).await;
    }

    for expected in ["vapi-end-of-call-report", "retell-call", "livekit-session-report", "callscope-ndjson"] {
        assert!(formats.contains(expected), "a sample call of format {expected} was opened: {formats:?}");
    }
    assert!(formats.iter().any(|f| f.starts_with("pipecat")), "a Pipecat trace call was opened: {formats:?}");
}

/// A call whose payload names a recording URL that the server, with no recording host
/// allowed, did not fetch: the call view shows why there is no recording, and the
/// annotation hint offers no waveform to drag on.
#[tokio::test]
async fn unfetched_recording_says_why() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;
    sign_in(&browser, &server, "annotator").await;
    open_calls_tab(&browser).await;
    open_call(&browser, "Retell call (analysed webhook)").await;

    let notice = browser.wait_for("[data-testid=no-recording]").await.text().await.unwrap();
    assert!(notice.contains("Why: recording not fetched"), "{notice}");
    assert!(notice.contains("--recording-host"), "the notice names the server option: {notice}");
    let hint = browser.wait_for("[data-testid=selected-target]").await.text().await.unwrap();
    assert!(hint.starts_with("Nothing selected."), "{hint}");
    assert!(!hint.contains("waveform"), "no waveform to drag on: {hint}");
    browser.screenshot("unfetched-recording.png").await;
}

/// A drag on one channel of a two-channel call selects a range on that channel, named
/// by the lane's speaker as the waveform labels it.
#[tokio::test]
async fn channel_range_named_by_lane() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;
    sign_in(&browser, &server, "annotator").await;
    open_calls_tab(&browser).await;
    open_call(&browser, ASSEMBLED_CALL).await;
    assert_eq!(wait_for_canvases(&browser).await, vec![String::from("0"), String::from("1")]);
    browser.wait_for("[data-testid=annotation-controls] [data-testid=label-button]").await;

    let canvas = browser.wait_for("[data-testid=waveform-canvas][data-channel=\"1\"]").await;
    browser.drag_across(&canvas, -200, -100).await;
    let shown = poll("the drag selects a range on the bot's channel", || async {
        let text = browser.wait_for("[data-testid=selected-target]").await.text().await.unwrap();
        if text.contains("lane") || text.contains("channel") { Ok(text) } else { Err(text) }
    })
    .await;
    assert!(shown.ends_with("on the Bot lane"), "{shown}");
}

/// Fixture stream whose events the live-call test publishes, with fresh ids.
const LIVE_STREAM_FIXTURE: &str = "streams/demo-live-call.ndjson";

/// A call in progress on NATS: it appears in the list with the live badge, its open
/// transcript grows with every published utterance without a page reload, and its
/// live indicator goes once the call ends. Needs a NATS server with JetStream, named
/// by `CALLSCOPE_TEST_NATS_URL`.
#[tokio::test]
async fn live_call_grows_in_widget() {
    let Ok(url) = std::env::var("CALLSCOPE_TEST_NATS_URL") else {
        eprintln!(
            "\n==========\nSKIPPED: CALLSCOPE_TEST_NATS_URL is not set, so live_call_grows_in_widget did not run. \
             Start a NATS server with JetStream (`nats-server -js`) and set it, for example to nats://127.0.0.1:4222.\n==========\n"
        );
        return;
    };
    let _turn = ONE_BROWSER.lock().await;

    // Names of this run only, so that runs never read each other's events.
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut config = callscope_host::live::nats::NatsConfig::new(url.clone());
    config.stream = format!("CALLSCOPE_TEST_{tag}");
    config.subject = format!("callscope-test-{tag}.events.>");
    config.consumer = format!("callscope-test-{tag}");

    let client = async_nats::connect(&url).await.unwrap_or_else(|e| panic!("connecting to NATS at {url}: {e}"));
    let jetstream = async_nats::jetstream::new(client);
    let stream_name = config.stream.clone();

    // The test body runs in its own task, so the stream is deleted also when an
    // assert fails. The panic is raised again after the clean-up.
    let outcome = tokio::spawn(grow_live_call(config, jetstream.clone(), tag)).await;
    if let Err(error) = jetstream.delete_stream(&stream_name).await {
        eprintln!("deleting test stream {stream_name} failed: {error}; delete it by hand");
    }
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn grow_live_call(config: callscope_host::live::nats::NatsConfig, jetstream: async_nats::jetstream::Context, tag: String) {
    let subject = config.subject.replace('>', "demo");
    let stream_name = config.stream.clone();
    let events = live_events(&tag);
    let (started, utterances, ended) = (&events[0], &events[1..6], &events[events.len() - 1]);
    assert_eq!(ended["type"], "call_ended", "the fixture stream ends with call_ended");

    let server = TestServer::start(ServerOptions { nats: Some(config), ..Default::default() }).await;
    let browser = Browser::start().await;
    sign_in(&browser, &server, "viewer").await;
    let tab = browser.wait_for("a[data-tab=calls]").await;
    tab.click().await.expect("clicking the Calls tab");
    browser.wait_for("[data-testid=calls-tab] [data-testid=calls-list]").await;
    // A property on `window` survives until the page reloads.
    let _: bool = browser.run("window.callscopeLiveTest = 'no reload'; return true;", vec![]).await;

    poll("the host's consumer creates the test stream", || async {
        jetstream.get_stream(&stream_name).await.map(|_| ()).map_err(|e| e.to_string())
    })
    .await;
    for event in [started, &utterances[0], &utterances[1]] {
        publish(&jetstream, &subject, event).await;
    }

    let (call_id, count) = poll("the call appears in the list with the live badge and 2 utterances", || async {
        let row: Option<(String, String, bool)> = browser
            .run(
                "const row = document.querySelector('[data-testid=call-row]');
                 return row ? [row.dataset.callId, row.children[4].textContent, !!row.querySelector('[data-testid=live-badge]')] : null;",
                vec![],
            )
            .await;
        match row {
            Some((id, count, true)) if count == "2" => Ok((id, count)),
            other => Err(format!("row (call id, utterances, badge): {other:?}")),
        }
    })
    .await;
    assert_eq!(count, "2", "the list row counts the 2 published utterances");
    browser.screenshot("live-call-list.png").await;

    let row = browser.client.find(Locator::Css(&format!("[data-testid=call-row][data-call-id=\"{call_id}\"]"))).await.unwrap();
    row.click().await.expect("clicking the live call's row");
    browser.wait_for(&format!("[data-testid=call-view][data-call-id=\"{call_id}\"]")).await;
    browser.wait_for("[data-testid=call-view] [data-testid=live-indicator]").await;
    assert_eq!(transcript_rows(&browser).await, 2, "the open call shows the 2 published utterances");
    browser.wait_for("[data-testid=no-recording]").await;
    let media: usize = browser
        .run("return document.querySelectorAll('[data-testid=audio], [data-testid=waveform-canvas]').length;", vec![])
        .await;
    assert_eq!(media, 0, "a live call without a recording has no audio element and no waveform canvas");

    for (published, event) in utterances.iter().enumerate().skip(2) {
        publish(&jetstream, &subject, event).await;
        let expected = published + 1;
        poll(&format!("the transcript grows to {expected} rows"), || async {
            let rows = transcript_rows(&browser).await;
            if rows == expected { Ok(rows) } else { Err(format!("{rows} rows")) }
        })
        .await;
    }
    let texts: Vec<String> = browser
        .run("return [...document.querySelectorAll('[data-testid=utterance] .callscope-utterance-text')].map((e) => e.textContent);", vec![])
        .await;
    let published: Vec<&str> = utterances.iter().map(|event| event["text"].as_str().unwrap()).collect();
    assert_eq!(texts, published, "the transcript shows the published utterances in order");
    let marker: Option<String> = browser.run("return window.callscopeLiveTest ?? null;", vec![]).await;
    assert_eq!(marker.as_deref(), Some("no reload"), "the transcript grew without reloading the page");
    browser.wait_for("[data-testid=call-view] [data-testid=live-indicator]").await;
    browser.screenshot("live-call-growing.png").await;

    publish(&jetstream, &subject, ended).await;
    poll("the live indicator disappears once the call ends", || async {
        let indicators: usize = browser.run("return document.querySelectorAll('[data-testid=live-indicator]').length;", vec![]).await;
        if indicators == 0 { Ok(()) } else { Err(format!("{indicators} live indicators")) }
    })
    .await;
    assert_eq!(transcript_rows(&browser).await, 5, "the ended call keeps its 5 utterances");
    let detail = call_detail(&server, &call_id).await;
    assert!(!detail.summary.live, "the API no longer marks the ended call live");
    assert_eq!(detail.call.utterances.len(), 5, "the stored call has the 5 published utterances");

    let back = browser.wait_for(".callscope-back").await;
    back.click().await.expect("going back to the calls list");
    browser.wait_for(&format!("[data-testid=call-row][data-call-id=\"{call_id}\"]")).await;
    let badges = browser.client.find_all(Locator::Css("[data-testid=live-badge]")).await.unwrap();
    assert!(badges.is_empty(), "the ended call has no live badge in the list");

    browser.close().await;
}

/// Returns the fixture stream's events with event ids and the call id made unique
/// by `tag`.
fn live_events(tag: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(callscope_tests::fixture(LIVE_STREAM_FIXTURE)).expect("reading the live stream fixture");
    let mut events: Vec<serde_json::Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("every fixture line is JSON"))
        .collect();
    for event in &mut events {
        let id = format!("{}-{tag}", event["id"].as_str().expect("every event has an id"));
        event["id"] = json!(id);
        event["call_id"] = json!(format!("live-test-{tag}"));
    }
    events
}

/// Publishes one event to JetStream and waits for the stream to store it.
async fn publish(jetstream: &async_nats::jetstream::Context, subject: &str, event: &serde_json::Value) {
    let payload = serde_json::to_vec(event).unwrap();
    let ack = jetstream.publish(subject.to_owned(), payload.into()).await.unwrap_or_else(|e| panic!("publishing {event} on {subject}: {e}"));
    ack.await.unwrap_or_else(|e| panic!("JetStream did not store {event}: {e}"));
}

async fn transcript_rows(browser: &Browser) -> usize {
    browser.run("return document.querySelectorAll('[data-testid=transcript] [data-testid=utterance]').length;", vec![]).await
}

/// Returns a client signed in as `user` and the annotation schema it reads.
async fn schema_for(server: &TestServer, user: &str) -> api::Schema {
    let client = server.client_for(user).await;
    let response = client.get(server.url("/callscope/api/schema")).send().await.unwrap();
    assert_eq!(response.status(), 200, "reading the annotation schema as {user}");
    response.json().await.expect("decoding the schema")
}

/// Returns the annotations of a call as `user` reads them from the API.
async fn call_annotations(server: &TestServer, user: &str, call_id: &str) -> api::CallAnnotations {
    let client = server.client_for(user).await;
    let response = client.get(server.url(&format!("/callscope/api/calls/{call_id}/annotations"))).send().await.unwrap();
    assert_eq!(response.status(), 200, "reading the annotations of {call_id} as {user}");
    response.json().await.expect("decoding the annotations")
}

/// Returns the first boolean label of the demo schema that applies to time ranges
/// and has a shortcut. Applying it saves at once, because there is no value to enter.
fn range_label(schema: &api::Schema) -> &api::Label {
    schema
        .labels
        .iter()
        .find(|label| label.kind == api::LabelKind::Boolean && label.targets.contains(&api::TargetKind::TimeRange) && label.shortcut.is_some())
        .expect("the demo schema has a boolean time-range label with a shortcut")
}

/// The range selected on the waveform, as the page shows it.
#[derive(Debug, Deserialize)]
struct ShownRange {
    start_ms: i64,
    end_ms: i64,
}

/// Returns the `data-start-ms` and `data-end-ms` of the first element matching `css`.
async fn shown_range(browser: &Browser, css: &str) -> Option<ShownRange> {
    browser
        .run(
            "const element = document.querySelector(arguments[0]);
             return element ? { start_ms: Number(element.dataset.startMs), end_ms: Number(element.dataset.endMs) } : null;",
            vec![json!(css)],
        )
        .await
}

/// Size of a waveform canvas, to turn drag pixels into times.
#[derive(Debug, Deserialize)]
struct CanvasGeometry {
    width: f64,
}

/// The annotator drags across the sales call's waveform, presses a label's
/// shortcut, reloads the page and finds the annotation as a band on the waveform
/// and in the annotation list, with the range the drag covered.
#[tokio::test]
async fn annotator_marks_range_by_shortcut() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;
    let schema = schema_for(&server, "annotator").await;
    let label = range_label(&schema);
    let shortcut = label.shortcut.as_deref().and_then(|key| key.chars().next()).unwrap();

    sign_in(&browser, &server, "annotator").await;
    open_calls_tab(&browser).await;
    let call_id = open_call(&browser, SALES_CALL).await;
    let detail = call_detail(&server, &call_id).await;
    let duration_ms = detail.recording.as_ref().expect("the sales call has a recording").format.duration_ms;
    assert_eq!(wait_for_canvases(&browser).await, vec![String::from("0")], "the mono sales call has one canvas");
    wait_for_waveform(&browser, "0", "--callscope-neutral").await;
    browser.wait_for("[data-testid=annotation-controls] [data-testid=label-button]").await;

    // From 20 % to 35 % of the canvas, given as offsets from its centre.
    let canvas = browser.wait_for("[data-testid=waveform-canvas][data-channel=\"0\"]").await;
    let geometry: CanvasGeometry = browser
        .run("return { width: document.querySelector('[data-testid=waveform-canvas]').getBoundingClientRect().width };", vec![])
        .await;
    let half = geometry.width / 2.0;
    let (from_x, to_x) = ((0.20 * geometry.width - half).round() as i32, (0.35 * geometry.width - half).round() as i32);
    browser.drag_across(&canvas, from_x, to_x).await;

    let selected = poll("the drag selects a range on the waveform", || async {
        shown_range(&browser, "[data-testid=selection]").await.ok_or_else(|| String::from("no selection band"))
    })
    .await;
    eprintln!("selected by dragging from x {from_x} to x {to_x} around the centre of a {geometry:?} canvas: {selected:?}");
    // The pointer lands on whole pixels, so each end may be off by up to a pixel.
    let ms_per_px = duration_ms as f64 / geometry.width;
    let expected_start = (f64::from(from_x) + half) * ms_per_px;
    let expected_end = (f64::from(to_x) + half) * ms_per_px;
    assert!((selected.start_ms as f64 - expected_start).abs() <= 1.5 * ms_per_px, "selection starts near {expected_start:.0} ms: {selected:?}");
    assert!((selected.end_ms as f64 - expected_end).abs() <= 1.5 * ms_per_px, "selection ends near {expected_end:.0} ms: {selected:?}");
    let target_kind: String = browser.run("return document.querySelector('[data-testid=selected-target]').dataset.kind;", vec![]).await;
    assert_eq!(target_kind, "TimeRange", "a range on a mixed recording is a time range");
    let focused: String = browser.run("return document.activeElement?.dataset?.testid ?? '';", vec![]).await;
    assert_eq!(focused, "call-body", "the call view has the focus after the drag, so shortcuts reach it");
    browser.screenshot("annotation-selected.png").await;

    browser.press_key(shortcut).await;
    let band_css = format!("[data-testid=annotation-band][data-label-id=\"{}\"]", label.id);
    poll("the new annotation shows as a band", || async {
        shown_range(&browser, &band_css).await.ok_or_else(|| String::from("no band"))
    })
    .await;

    let stored = call_annotations(&server, "annotator", &call_id).await;
    assert_eq!(stored.annotations.len(), 1, "one annotation is stored: {stored:?}");
    let annotation = &stored.annotations[0];
    assert_eq!(annotation.author, "annotator");
    assert_eq!(annotation.input.label_id, label.id);
    assert_eq!(annotation.input.value, api::LabelValue::Boolean(true), "a boolean label's shortcut sets it to true");
    assert_eq!(
        annotation.input.target,
        api::Target::TimeRange { start_ms: selected.start_ms, end_ms: selected.end_ms },
        "the annotation covers the selected range"
    );
    browser.screenshot("annotation-created.png").await;

    // The saved line names the range; choosing another target clears it.
    let notice = browser.wait_for("[data-testid=annotation-notice][data-kind=saved]").await.text().await.unwrap();
    assert!(notice.starts_with("Saved"), "{notice}");
    browser.client.find(Locator::Css("[data-testid=target-call]")).await.unwrap().click().await.expect("choosing the whole call");
    poll("the saved line goes once the target changes", || async {
        let notices = browser.client.find_all(Locator::Css("[data-testid=annotation-notice]")).await.unwrap();
        if notices.is_empty() { Ok(()) } else { Err(format!("{} notices", notices.len())) }
    })
    .await;

    browser.client.goto(&server.url("/")).await.expect("reloading the backoffice page");
    open_calls_tab(&browser).await;
    open_call(&browser, SALES_CALL).await;
    let band_css = format!("[data-testid=annotation-band][data-annotation-id=\"{}\"]", annotation.id);
    let band = poll("the annotation's band is back after the reload", || async {
        shown_range(&browser, &band_css).await.ok_or_else(|| String::from("no band"))
    })
    .await;
    assert_eq!((band.start_ms, band.end_ms), (selected.start_ms, selected.end_ms), "the band covers the annotated range");
    let band_text = browser.wait_for(&band_css).await.text().await.unwrap();
    assert_eq!(band_text, label.name, "the band names the label");
    let item = browser.wait_for(&format!("[data-testid=annotation-list] [data-testid=annotation-item][data-annotation-id=\"{}\"]", annotation.id)).await;
    let item_text = item.text().await.unwrap();
    assert!(item_text.contains(&label.name), "the list item names the label: {item_text:?}");
    assert!(item_text.contains("annotator"), "the list item names the author: {item_text:?}");
    let own_controls = item.find_all(Locator::Css("[data-testid=edit-annotation], [data-testid=delete-annotation]")).await.unwrap();
    assert_eq!(own_controls.len(), 2, "the author can edit and delete their annotation");
    browser.screenshot("annotation-after-reload.png").await;
    scroll_to(&browser, "[data-testid=annotation-panel]").await;
    browser.screenshot("annotation-panel.png").await;

    browser.close().await;
}

/// The viewer sees the annotator's annotation but no control to annotate, and a
/// drag followed by a shortcut key changes nothing.
#[tokio::test]
async fn viewer_has_no_annotation_controls() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;
    let schema = schema_for(&server, "annotator").await;
    let label = range_label(&schema);

    sign_in(&browser, &server, "viewer").await;
    open_calls_tab(&browser).await;
    let call_id = open_call(&browser, SALES_CALL).await;

    // An annotation by someone else, which the viewer should see.
    let annotator = server.client_for("annotator").await;
    let input = json!({ "label_id": label.id, "target": { "type": "time-range", "start_ms": 10_000, "end_ms": 20_000 }, "value": true });
    let response = annotator
        .post(server.url(&format!("/callscope/api/calls/{call_id}/annotations")))
        .header(callscope_tests::CSRF_HEADER.0, callscope_tests::CSRF_HEADER.1)
        .json(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "the annotator creates an annotation");
    browser.client.goto(&server.url("/")).await.expect("reloading the backoffice page");
    open_calls_tab(&browser).await;
    open_call(&browser, SALES_CALL).await;

    wait_for_utterances(&browser).await;
    wait_for_canvases(&browser).await;
    browser.wait_for("[data-testid=annotation-list] [data-testid=annotation-item]").await;
    browser.wait_for(&format!("[data-testid=annotation-band][data-label-id=\"{}\"]", label.id)).await;

    for control in [
        "annotation-controls",
        "label-button",
        "annotation-comment",
        "select-utterance",
        "target-call",
        "edit-annotation",
        "delete-annotation",
        "tab-review",
        "tab-audit",
        "tab-components",
        "export-links",
    ] {
        let found = browser.client.find_all(Locator::Css(&format!("[data-testid={control}]"))).await.unwrap();
        assert!(found.is_empty(), "the viewer sees no {control}, found {}", found.len());
    }

    wait_for_audio_metadata(&browser).await;
    let canvas = browser.wait_for("[data-testid=waveform-canvas][data-channel=\"0\"]").await;
    browser.drag_across(&canvas, -200, -100).await;
    browser.press_key(label.shortcut.as_deref().and_then(|key| key.chars().next()).unwrap()).await;
    // The drag seeks instead of selecting; wait for the seek before looking.
    poll("the viewer's drag seeks the audio", || async {
        let time: f64 = browser.run("return document.querySelector('[data-testid=audio]').currentTime;", vec![]).await;
        if time > 0.0 { Ok(time) } else { Err(format!("audio at {time} s")) }
    })
    .await;
    let selections = browser.client.find_all(Locator::Css("[data-testid=selection]")).await.unwrap();
    assert!(selections.is_empty(), "a viewer's drag selects no range");
    let stored = call_annotations(&server, "viewer", &call_id).await;
    assert_eq!(stored.annotations.len(), 1, "the viewer's shortcut key created nothing: {stored:?}");
    browser.screenshot("viewer-annotations.png").await;
    scroll_to(&browser, "[data-testid=annotation-panel]").await;
    browser.screenshot("viewer-annotation-panel.png").await;

    browser.close().await;
}

/// Creates an annotation through the API as `user` and returns it.
async fn post_annotation(server: &TestServer, user: &str, call_id: &str, input: serde_json::Value) -> api::Annotation {
    let client = server.client_for(user).await;
    let response = client
        .post(server.url(&format!("/callscope/api/calls/{call_id}/annotations")))
        .header(callscope_tests::CSRF_HEADER.0, callscope_tests::CSRF_HEADER.1)
        .json(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{user} creates annotation {input}");
    response.json().await.expect("decoding the created annotation")
}

/// The annotator edits an annotation in the browser after the same annotation was
/// changed elsewhere: the widget shows the 409 with the current version, and
/// re-applying the change saves it on top of that version.
#[tokio::test]
async fn stale_edit_shows_conflict_and_reapplies() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;
    let schema = schema_for(&server, "annotator").await;
    let label = range_label(&schema);

    sign_in(&browser, &server, "annotator").await;
    open_calls_tab(&browser).await;
    let call_id = open_call(&browser, SALES_CALL).await;
    let target = json!({ "type": "time-range", "start_ms": 30_000, "end_ms": 35_000 });
    let created = post_annotation(&server, "annotator", &call_id, json!({ "label_id": label.id, "target": target, "value": true })).await;
    assert_eq!(created.version, 1);

    browser.client.goto(&server.url("/")).await.expect("reloading the backoffice page");
    open_calls_tab(&browser).await;
    open_call(&browser, SALES_CALL).await;
    let item_css = format!("[data-testid=annotation-item][data-annotation-id=\"{}\"]", created.id);
    browser.wait_for(&format!("{item_css} [data-testid=edit-annotation]")).await.click().await.expect("clicking Edit");
    browser.wait_for("[data-testid=value-editor] [data-testid=label-option][data-option=\"false\"]").await;

    // Meanwhile the same annotation changes in another tab.
    let other_tab = server.client_for("annotator").await;
    let response = other_tab
        .put(server.url(&format!("/callscope/api/annotations/{}", created.id)))
        .header(callscope_tests::CSRF_HEADER.0, callscope_tests::CSRF_HEADER.1)
        .json(&json!({ "label_id": label.id, "target": target, "value": true, "comment": "edited in another tab", "base_version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the edit in the other tab is based on the current version");

    browser.wait_for("[data-testid=value-editor] [data-testid=label-option][data-option=\"false\"]").await.click().await.expect("choosing no");
    let conflict = browser.wait_for("[data-testid=annotation-conflict] [data-testid=conflict-current]").await.text().await.unwrap();
    assert!(conflict.contains("Current version 2"), "the conflict names the stored version: {conflict:?}");
    assert!(conflict.contains("edited in another tab"), "the conflict shows the stored comment: {conflict:?}");
    browser.screenshot("annotation-conflict.png").await;

    browser.wait_for("[data-testid=annotation-conflict] [data-testid=reapply]").await.click().await.expect("clicking Re-apply");
    poll("the re-applied edit is listed as version 3", || async {
        let version: Option<String> = browser
            .run("return document.querySelector(arguments[0])?.dataset.version ?? null;", vec![json!(item_css)])
            .await;
        if version.as_deref() == Some("3") { Ok(()) } else { Err(format!("version {version:?}")) }
    })
    .await;
    let conflicts = browser.client.find_all(Locator::Css("[data-testid=annotation-conflict]")).await.unwrap();
    assert!(conflicts.is_empty(), "the conflict box closes after re-applying");
    let stored = call_annotations(&server, "annotator", &call_id).await;
    assert_eq!(stored.annotations.len(), 1);
    assert_eq!(stored.annotations[0].version, 3, "the re-applied edit is version 3");
    assert_eq!(stored.annotations[0].input.value, api::LabelValue::Boolean(false), "the browser's value won after re-applying");

    browser.close().await;
}

/// The reviewer opens the review queue, assigns a call to themself, opens it from
/// the queue, and finds the agreement page and the export links.
#[tokio::test]
async fn reviewer_assigns_and_opens_queued_call() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let browser = Browser::start().await;
    let reviewer = server.client_for("reviewer").await;
    let queue: Vec<api::QueueEntry> =
        reviewer.get(server.url("/callscope/api/review/queue")).send().await.unwrap().json().await.expect("decoding the review queue");
    assert!(!queue.is_empty(), "the sample calls put at least one call in the review queue");

    sign_in(&browser, &server, "reviewer").await;
    let tab = browser.wait_for("a[data-tab=calls]").await;
    tab.click().await.expect("clicking the Calls tab");
    browser.wait_for("[data-testid=tab-review]").await.click().await.expect("opening the review queue");
    browser.wait_for("[data-testid=review-queue] [data-testid=queue-row]").await;
    let rows: Vec<String> = browser.run("return [...document.querySelectorAll('[data-testid=queue-row]')].map((row) => row.dataset.callId);", vec![]).await;
    let expected: Vec<String> = queue.iter().map(|entry| entry.call_id.clone()).collect();
    assert_eq!(rows, expected, "the queue lists the API's entries in its order");

    let first = &queue[0];
    let row_css = format!("[data-testid=queue-row][data-call-id=\"{}\"]", first.call_id);
    browser.wait_for(&format!("{row_css} [data-testid=assign-me]")).await.click().await.expect("clicking Assign to me");
    let assignee = poll("the row shows the reviewer as assignee", || async {
        let text: String = browser
            .run("return document.querySelector(arguments[0] + ' [data-testid=queue-assignee]').textContent;", vec![json!(row_css)])
            .await;
        if text == "reviewer" { Ok(text) } else { Err(text) }
    })
    .await;
    assert_eq!(assignee, "reviewer");
    let queue: Vec<api::QueueEntry> = reviewer.get(server.url("/callscope/api/review/queue")).send().await.unwrap().json().await.unwrap();
    let stored = queue.iter().find(|entry| entry.call_id == first.call_id).expect("the assigned call stays in the queue");
    assert_eq!(stored.assignee.as_deref(), Some("reviewer"), "the API stores the assignment");
    browser.screenshot("review-queue.png").await;

    let export_href: String = browser.run("return document.querySelector('[data-testid=export-jsonl]').getAttribute('href');", vec![]).await;
    assert_eq!(export_href, "/callscope/api/export?format=jsonl", "the export link points at the JSONL export");

    browser.wait_for("[data-testid=tab-agreement]").await.click().await.expect("opening the agreement page");
    browser.wait_for("[data-testid=agreement] table").await;
    browser.screenshot("agreement.png").await;

    browser.wait_for("[data-testid=tab-review]").await.click().await.expect("going back to the review queue");
    browser.wait_for(&format!("{row_css} [data-testid=open-queued-call]")).await.click().await.expect("opening the queued call");
    browser.wait_for(&format!("[data-testid=call-view][data-call-id=\"{}\"]", first.call_id)).await;
    browser.wait_for("[data-testid=annotation-controls]").await;

    browser.close().await;
}

/// Scrolls the page so that the first element matching `css` is in the middle of
/// the window, for a screenshot.
async fn scroll_to(browser: &Browser, css: &str) {
    let found: bool = browser
        .run(
            "const element = document.querySelector(arguments[0]);
             element?.scrollIntoView({ block: 'center' });
             return !!element;",
            vec![json!(css)],
        )
        .await;
    assert!(found, "no element matching `{css}` to scroll to");
}

/// Personal data the PII fixture contains, none of which a viewer may see.
const PII_FIXTURE_VALUES: [&str; 4] = ["jane.doe@example.com", "(415) 555-0142", "4111 1111 1111 1111", "078-05-1120"];

/// The viewer opens a call with personal data in its transcript: every redaction
/// marker shows as a pill naming its kind, and none of the data reaches the page.
#[tokio::test]
async fn viewer_sees_redaction_markers() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions::default()).await;
    let admin = server.client_for("admin").await;
    let payload = std::fs::read(callscope_tests::fixture("review/pii-call.json")).expect("reading the PII fixture");
    let response = admin
        .post(server.url("/callscope/api/calls"))
        .header(callscope_tests::CSRF_HEADER.0, callscope_tests::CSRF_HEADER.1)
        .multipart(callscope_tests::import_form(payload, None, "PII call"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "the admin imports the PII fixture");
    let browser = Browser::start().await;

    sign_in(&browser, &server, "viewer").await;
    open_calls_tab(&browser).await;
    let call_id = open_call(&browser, "PII call").await;
    let detail = call_detail(&server, &call_id).await;
    assert!(detail.redacted, "the API redacts the call for the viewer");
    wait_for_utterances(&browser).await;
    browser.wait_for("[data-testid=redaction-note]").await;

    let markers = |kind: &str| {
        let marker = format!("[{kind}]");
        detail.call.utterances.iter().map(|utterance| utterance.text.matches(&marker).count()).sum::<usize>()
    };
    for (kind, name) in [("phone", "phone"), ("email", "email"), ("payment-card", "payment card"), ("national-id", "national id")] {
        let expected = markers(kind);
        assert!(expected > 0, "the fixture's transcript has a {kind} marker for the viewer");
        let titles: Vec<String> = browser
            .run(
                "return [...document.querySelectorAll(`[data-testid=transcript] [data-testid=redaction][data-kind=\"${arguments[0]}\"]`)]
                     .map((pill) => pill.title);",
                vec![json!(kind)],
            )
            .await;
        assert_eq!(titles.len(), expected, "one {kind} pill per marker in the transcript");
        assert!(titles.iter().all(|title| title == &format!("redacted: {name}")), "{kind} pills say what was redacted: {titles:?}");
    }

    let page: String = browser.run("return document.querySelector('[data-testid=call-view]').textContent;", vec![]).await;
    for value in PII_FIXTURE_VALUES {
        assert!(!page.contains(value), "{value} is on the viewer's page");
    }
    let bracketed: usize = browser
        .run("return [...document.querySelectorAll('[data-testid=transcript] .callscope-utterance-text')].filter((text) => /\\[(phone|email|payment-card|national-id)\\]/.test(text.textContent)).length;", vec![])
        .await;
    assert_eq!(bracketed, 0, "no marker is left as bracketed text");
    scroll_to(&browser, "[data-testid=redaction]").await;
    browser.screenshot("redaction-markers.png").await;

    browser.close().await;
}

/// The admin opens the audit log and finds the annotation another user created.
#[tokio::test]
async fn admin_reads_audit_log() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let schema = schema_for(&server, "annotator").await;
    let label = range_label(&schema);
    let calls: api::CallList = server.client_for("viewer").await.get(server.url("/callscope/api/calls")).send().await.unwrap().json().await.unwrap();
    let call_id = calls.calls[0].id.clone();
    let target = json!({ "type": "time-range", "start_ms": 1_000, "end_ms": 2_000 });
    let created = post_annotation(&server, "annotator", &call_id, json!({ "label_id": label.id, "target": target, "value": true })).await;
    let browser = Browser::start().await;

    sign_in(&browser, &server, "admin").await;
    open_calls_tab(&browser).await;
    let tab = browser.wait_for("[data-testid=tab-audit]").await;
    tab.click().await.expect("opening the audit log");
    let row = browser.wait_for("[data-testid=audit-log] [data-testid=audit-row][data-action=\"annotation.create\"]").await;
    let text = row.text().await.unwrap();
    assert!(text.contains("annotator"), "the audit row names the user: {text:?}");
    assert!(text.contains(&created.id), "the audit row names the annotation: {text:?}");
    browser.screenshot("audit-log.png").await;

    browser.close().await;
}

/// Signs in as `admin`, opens the widget and its Components tab, and returns the
/// active version's sha256 as the page shows it.
async fn open_components_tab(browser: &Browser, server: &TestServer) -> String {
    sign_in(browser, server, "admin").await;
    browser.wait_for("a[data-tab=calls]").await.click().await.expect("clicking the Calls tab");
    browser.wait_for("[data-testid=tab-components]").await.click().await.expect("opening the Components tab");
    shown_sha(browser, "active-sha").await
}

/// Returns the full sha256 behind the shortened one shown under test id `testid`.
async fn shown_sha(browser: &Browser, testid: &str) -> String {
    let element = browser.wait_for(&format!("[data-testid=component-admin] [data-testid={testid}]")).await;
    element.attr("data-sha").await.unwrap().unwrap_or_else(|| panic!("{testid} has no data-sha attribute"))
}

async fn components_status(server: &TestServer) -> api::ComponentsStatus {
    let response = server.client_for("admin").await.get(server.url("/callscope/api/admin/components")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the admin reads the component status");
    response.json().await.unwrap()
}

/// Chooses `path` in the install form and clicks Install once the button is enabled.
async fn submit_install(browser: &Browser, path: &std::path::Path) {
    let input = browser.wait_for("[data-testid=install-component-file]").await;
    input.send_keys(path.to_str().expect("a UTF-8 path")).await.expect("choosing the component file");
    let button = browser.wait_for("[data-testid=install-submit]").await;
    poll("the Install button is enabled after a file is chosen", || async {
        match button.attr("disabled").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(value) => Err(format!("disabled={value:?}")),
        }
    })
    .await;
    button.click().await.expect("clicking Install");
}

/// The admin uploads broken test components on the Components tab: the page shows
/// each rejection with its check (imports for the one probing a socket, self-test
/// for the quiet one) and the host's message, and the active version stays.
#[tokio::test]
async fn admin_install_rejected_with_check() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions::default()).await;
    let before = components_status(&server).await;
    let browser = Browser::start().await;

    let shown_before = open_components_tab(&browser, &server).await;
    assert_eq!(shown_before, before.active.sha256, "the page shows the active version");
    let short = browser.wait_for("[data-testid=active-sha]").await;
    assert_eq!(short.text().await.unwrap(), before.active.sha256[..12], "the page shortens the sha256 to 12 digits");
    assert_eq!(short.attr("title").await.unwrap().as_deref(), Some(before.active.sha256.as_str()), "the tooltip has the full sha256");
    let build = browser.wait_for("[data-testid=active-build]").await.text().await.unwrap();
    assert_eq!(build, format!("callscope-component {}", env!("CARGO_PKG_VERSION")), "the page names the build the component describes");
    browser.wait_for("[data-testid=no-previous]").await;
    let button = browser.wait_for("[data-testid=install-submit]").await;
    assert!(button.attr("disabled").await.unwrap().is_some(), "Install is disabled before a file is chosen");

    submit_install(&browser, &callscope_tests::broken_component_wasm()).await;
    let refusal = browser.wait_for("[data-testid=install-refusal][data-check=imports]").await;
    let message = browser.wait_for("[data-testid=install-refusal] [data-testid=refusal-message]").await.text().await.unwrap();
    assert!(!message.is_empty(), "the page shows why the imports were rejected");
    assert_eq!(refusal.attr("data-check").await.unwrap().as_deref(), Some("imports"), "rejected with {message:?}");

    submit_install(&browser, &callscope_tests::quiet_broken_component_wasm()).await;
    let refusal = browser.wait_for("[data-testid=install-refusal][data-check=self-test]").await;
    browser.screenshot("components-refused.png").await;
    let message = browser.wait_for("[data-testid=install-refusal] [data-testid=refusal-message]").await.text().await.unwrap();
    assert_eq!(refusal.attr("data-check").await.unwrap().as_deref(), Some("self-test"), "rejected with {message:?}");
    let check = browser.wait_for("[data-testid=install-refusal] [data-testid=refusal-check]").await.text().await.unwrap();
    assert_eq!(check, "self-test");
    assert!(message.contains("built-in call"), "the page shows the host's reason: {message:?}");

    let after = components_status(&server).await;
    assert_eq!(after.active.sha256, before.active.sha256, "a rejected file does not replace the active version");
    assert!(after.previous.is_none(), "a rejected file leaves no previous version: {:?}", after.previous);
    let audit: Vec<api::AuditEntry> =
        server.client_for("admin").await.get(server.url("/callscope/api/audit")).send().await.unwrap().json().await.unwrap();
    let refused: Vec<_> = audit.iter().filter(|entry| entry.action == "component.refused").collect();
    assert_eq!(refused.len(), 2, "two rejected installs in the audit log: {audit:?}");
    assert!(
        refused.iter().any(|entry| entry.detail.contains(&message)),
        "the audit log has the self-test message the page shows: {message:?} in {refused:?}"
    );

    // A fresh read of the tab still shows the same active version.
    browser.wait_for("[data-testid=tab-audit]").await.click().await.expect("opening the audit log");
    browser.wait_for("[data-testid=audit-log]").await;
    browser.wait_for("[data-testid=tab-components]").await.click().await.expect("opening the Components tab again");
    assert_eq!(shown_sha(&browser, "active-sha").await, before.active.sha256, "the page still shows the old version as active");

    browser.close().await;
}

/// The admin installs a new build on the Components tab, sees it active and the
/// stored calls re-analysed with it, then rolls back after confirming.
#[tokio::test]
async fn admin_installs_and_rolls_back() {
    let _turn = ONE_BROWSER.lock().await;
    let server = TestServer::start(ServerOptions { load_samples: true, ..Default::default() }).await;
    let before = components_status(&server).await;
    let calls: api::CallList = server.client_for("admin").await.get(server.url("/callscope/api/calls")).send().await.unwrap().json().await.unwrap();
    let build = tempfile::tempdir().unwrap();
    let path = build.path().join("callscope-restamped.wasm");
    std::fs::write(&path, callscope_tests::restamped_component("browser-test")).unwrap();
    let browser = Browser::start().await;

    open_components_tab(&browser, &server).await;
    submit_install(&browser, &path).await;
    let installed = browser.wait_for("[data-testid=install-installed]").await;
    let installed_sha = installed.attr("data-sha").await.unwrap().expect("the success line names the sha256");
    assert_ne!(installed_sha, before.active.sha256, "the restamped build has another sha256");
    let status = components_status(&server).await;
    assert_eq!(status.active.sha256, installed_sha, "the host serves the new version");
    assert_eq!(status.previous.as_ref().map(|previous| previous.sha256.as_str()), Some(before.active.sha256.as_str()));

    poll("the page shows the new version as active", || async {
        let shown = shown_sha(&browser, "active-sha").await;
        if shown == installed_sha { Ok(()) } else { Err(format!("active {shown}")) }
    })
    .await;
    assert_eq!(shown_sha(&browser, "previous-sha").await, before.active.sha256, "the old version is the previous one");
    let installed_by = browser.wait_for("[data-testid=active-installed-by]").await.text().await.unwrap();
    assert_eq!(installed_by, "admin");

    let finished = format!("Finished: {0} of {0} calls re-analysed", calls.total);
    let summary = poll("the page shows the finished re-analysis", || async {
        let summary = browser.wait_for("[data-testid=reanalysis-summary]").await.text().await.map_err(|e| e.to_string())?;
        if summary == finished { Ok(summary) } else { Err(summary) }
    })
    .await;
    assert_eq!(summary, finished);
    let target = browser.wait_for("[data-testid=reanalysis-target]").await.attr("title").await.unwrap();
    assert_eq!(target.as_deref(), Some(installed_sha.as_str()), "the re-analysis used the new version");
    let bar = browser.wait_for("[data-testid=reanalysis-bar]").await.attr("aria-valuenow").await.unwrap();
    assert_eq!(bar.as_deref(), Some("100"));
    scroll_to(&browser, "[data-testid=reanalysis]").await;
    browser.screenshot("components-installed.png").await;

    browser.wait_for("[data-testid=rollback]").await.click().await.expect("clicking Roll back");
    browser.wait_for("[data-testid=rollback-confirmation]").await;
    assert_eq!(components_status(&server).await.active.sha256, installed_sha, "nothing changes before the confirmation");
    browser.screenshot("components-rollback-confirmation.png").await;
    browser.wait_for("[data-testid=rollback-confirm]").await.click().await.expect("confirming the rollback");
    browser.wait_for("[data-testid=rollback-done]").await;
    poll("the page shows the old version as active again", || async {
        let shown = shown_sha(&browser, "active-sha").await;
        if shown == before.active.sha256 { Ok(()) } else { Err(format!("active {shown}")) }
    })
    .await;
    let status = components_status(&server).await;
    assert_eq!(status.active.sha256, before.active.sha256, "the host serves the old version again");
    assert_eq!(status.previous.as_ref().map(|previous| previous.sha256.as_str()), Some(installed_sha.as_str()));
    let notices = browser.client.find_all(Locator::Css("[data-testid=install-installed]")).await.unwrap();
    assert!(notices.is_empty(), "the success line about the replaced version is gone");
    scroll_to(&browser, "[data-testid=rollback-done]").await;
    browser.screenshot("components-rolled-back.png").await;

    browser.close().await;
}
