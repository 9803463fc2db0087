//! Headless Chromium for the browser tests: starts `chromedriver` on a free loopback
//! port, opens a WebDriver session through `fantoccini`, and stops both when dropped.
//!
//! `cargo xtask test` installs Debian's `chromium` and `chromium-driver` packages when
//! they are missing, which put the two programs at the paths below.

use std::future::Future;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::workspace_root;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Maximum wait for the page to reach an expected state. Loading a call runs the
/// component on the server and fetches peaks, which takes a few seconds on a busy
/// machine.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(20);
/// Time between two checks of a polled condition.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Browser window size, in CSS pixels: a common laptop screen.
pub const WINDOW_SIZE: (u32, u32) = (1400, 900);

/// A Chromium session driven by its own `chromedriver` process.
pub struct Browser {
    pub client: Client,
    _driver: DriverProcess,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromedriver` and opens a headless Chromium with autoplay allowed and
    /// a fresh profile. Panics with the next step when a program is missing or the
    /// driver does not start.
    pub async fn start() -> Self {
        for program in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing; run the tests with `cargo xtask test`, which installs Debian's chromium and chromium-driver packages"
            );
        }

        let profile = tempfile::tempdir().expect("creating a temporary Chromium profile dir");
        let port = free_loopback_port();
        let log_path = artifacts_dir().join("chromedriver.log");

        // The driver gets its own process group, which Chromium joins, so that
        // dropping the browser ends every process it started, also after a panic.
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER} failed: {e}"));
        let mut driver = DriverProcess(child);

        let webdriver_url = format!("http://127.0.0.1:{port}");
        wait_for_driver(&webdriver_url, &mut driver.0, &log_path).await;

        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities(profile.path()))
            .connect(&webdriver_url)
            .await
            .unwrap_or_else(|e| {
                panic!("opening a Chromium session through chromedriver at {webdriver_url} failed: {e}; see {}", log_path.display())
            });

        Self { client, _driver: driver, _profile: profile }
    }

    /// Ends the WebDriver session, which closes Chromium. The driver stops when the
    /// browser is dropped.
    pub async fn close(self) {
        if let Err(e) = self.client.clone().close().await {
            eprintln!("closing the Chromium session failed: {e}; its processes are killed instead");
        }
    }

    /// Waits up to [`WAIT_TIMEOUT`] for an element matching CSS selector `css`.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT_TIMEOUT)
            .every(POLL_INTERVAL)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element matching `{css}` within {WAIT_TIMEOUT:?}: {e}"))
    }

    /// Runs `script` as a function body with `args` as `arguments` and decodes what it
    /// returns.
    pub async fn run<T: DeserializeOwned>(&self, script: &str, args: Vec<Value>) -> T {
        let value = self
            .client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("running script failed: {e}\nscript: {script}"));
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("script returned {value}, which does not decode: {e}\nscript: {script}"))
    }

    /// Drags the mouse with the left button held across `element`, at its vertical
    /// centre, from `from_x` to `to_x` CSS pixels right of its centre (negative is
    /// left), moving through the midpoint so the page receives move events in between.
    pub async fn drag_across(&self, element: &Element, from_x: i32, to_x: i32) {
        let at = |x: i32, duration_ms: u64| PointerAction::MoveToElement {
            element: element.clone(),
            duration: Some(Duration::from_millis(duration_ms)),
            x: f64::from(x),
            y: 0.0,
        };
        let drag = MouseActions::new(String::from("mouse"))
            .then(at(from_x, 0))
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(at(from_x + (to_x - from_x) / 2, 100))
            .then(at(to_x, 100))
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        self.client
            .perform_actions(drag)
            .await
            .unwrap_or_else(|e| panic!("dragging the mouse from x {from_x} to x {to_x} around the element's centre: {e}"));
    }

    /// Presses and releases `key` on whatever element has the focus.
    pub async fn press_key(&self, key: char) {
        let press = KeyActions::new(String::from("keyboard")).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        self.client.perform_actions(press).await.unwrap_or_else(|e| panic!("pressing key {key:?}: {e}"));
    }

    /// Saves a PNG of the window as `tests/artifacts/{name}` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("taking screenshot {name}: {e}"));
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("screenshot: {}", path.display());
        path
    }
}

/// The `chromedriver` child, leader of a process group that also contains the Chromium
/// processes it launches. Dropping it kills the whole group and reaps the driver.
struct DriverProcess(Child);

impl Drop for DriverProcess {
    fn drop(&mut self) {
        if let Ok(pgid) = i32::try_from(self.0.id()) {
            // SAFETY: `kill` takes plain integers and touches no memory. The negative
            // id names the group that `process_group(0)` created for this child.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        let _ = self.0.wait();
    }
}

fn capabilities(profile: &Path) -> Capabilities {
    let (width, height) = WINDOW_SIZE;
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--no-first-run".to_owned(),
        // The test starts playback from a script, without a user gesture.
        "--autoplay-policy=no-user-gesture-required".to_owned(),
        // Headless machines have no sound device.
        "--mute-audio".to_owned(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("the capabilities literal is an object"),
    }
}

/// Returns a loopback port that was free a moment ago. Another process could take it
/// before chromedriver binds it, and then the driver exits and logs `bind() failed`.
fn free_loopback_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    listener.local_addr().expect("reading the bound address").port()
}

/// Polls chromedriver's `/status` until it reports ready, failing early when the
/// driver process exits.
async fn wait_for_driver(url: &str, driver: &mut Child, log_path: &Path) {
    let http = reqwest::Client::new();
    let status_url = format!("{url}/status");
    let deadline = Instant::now() + WAIT_TIMEOUT;
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            panic!("{CHROMEDRIVER} exited with {status} before it was ready; its log:\n{log}");
        }
        let ready = match http.get(&status_url).send().await {
            Ok(response) => response.json::<Value>().await.is_ok_and(|body| body["value"]["ready"] == true),
            Err(_) => false,
        };
        if ready {
            return;
        }
        assert!(Instant::now() < deadline, "{CHROMEDRIVER} did not answer on {status_url} within {WAIT_TIMEOUT:?}; see {}", log_path.display());
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Checks `check` every [`POLL_INTERVAL`] until it returns `Ok`, and panics after
/// [`WAIT_TIMEOUT`] with `what` and the last `Err`, which describes the state seen.
pub async fn poll<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + WAIT_TIMEOUT;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) if Instant::now() >= deadline => panic!("{what}: not seen within {WAIT_TIMEOUT:?}; last seen: {seen}"),
            Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// Returns the folder for screenshots and the driver log, `tests/artifacts/` (ignored
/// by git), and creates it when missing.
pub fn artifacts_dir() -> PathBuf {
    let dir = workspace_root().join("tests/artifacts");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}
