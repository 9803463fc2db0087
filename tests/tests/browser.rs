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
