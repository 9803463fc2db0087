//! Build orchestration for callscope: `cargo xtask <command>`.
//!
//! The component and the widget are built for their wasm targets with plain cargo.
//! The widget's JavaScript glue comes from the `wasm-bindgen-cli-support` crate at
//! the exact version of the widget's `wasm-bindgen`, so nothing is installed by hand.

mod fixtures;
mod widget;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo        build everything and start the demo on http://127.0.0.1:8080/
  test        build the wasm parts, install Chromium if missing, run every test
  bench       measure speed and memory and write BENCHMARKS.md (release build);
              arguments after it go to callscope-bench, e.g. `--only audio`
  build       build the component, the widget and the host
  fixtures    regenerate fixtures/calls from ../shared/corpus (needs the corpus)";

fn main() -> std::process::ExitCode {
    // Print the error chain alone: a backtrace of the build tool helps nobody.
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_default();
    let root = workspace_root();
    match command.as_str() {
        "demo" => demo(&root),
        "test" => test(&root),
        "build" => build_all(&root).map(|_| ()),
        "bench" => bench(&root),
        "fixtures" => {
            let corpus = root.join("../shared/corpus");
            fixtures::run(&corpus, &root.join("fixtures"))
        }
        _ => {
            eprintln!("{USAGE}");
            bail!("unknown command {command:?}")
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

/// Returns the cargo target directory, honouring `CARGO_TARGET_DIR`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo).args(args).current_dir(root).status().with_context(|| format!("running {cargo}"))?;
    if !status.success() {
        bail!("cargo {} failed with {status}", args.join(" "));
    }
    Ok(())
}

/// Paths of the built artifacts.
struct Built {
    component: PathBuf,
    broken_component: PathBuf,
    /// The broken component without its socket probe, so it imports only allowed
    /// interfaces and fails the install self-test instead.
    quiet_broken_component: PathBuf,
    /// The component built against the frozen interface 0.1.0 in `wit-previous/`.
    previous_interface_component: PathBuf,
    widget_dir: PathBuf,
}

/// Builds the component (release, wasm32-wasip2), the deliberately broken test
/// component and the widget.
fn build_wasm(root: &Path) -> anyhow::Result<Built> {
    ensure_wasm_targets(root)?;
    let wasm_dir = target_dir(root).join("wasm32-wasip2/release");
    // Variants write the same file name as the default builds: build each first and set
    // it aside. The previous-interface component proves a host still serves 0.1.x.
    cargo(root, &["build", "--release", "--target", "wasm32-wasip2", "-p", "callscope-component", "--features", "interface-0-1"])?;
    let previous_interface_component = wasm_dir.join("callscope_component_interface_0_1.wasm");
    std::fs::copy(wasm_dir.join("callscope_component.wasm"), &previous_interface_component)
        .context("setting the interface 0.1 component aside")?;
    cargo(root, &["build", "--release", "--target", "wasm32-wasip2", "-p", "callscope-broken-guest", "--no-default-features"])?;
    let quiet_broken_component = wasm_dir.join("callscope_broken_guest_quiet.wasm");
    std::fs::copy(wasm_dir.join("callscope_broken_guest.wasm"), &quiet_broken_component)
        .context("setting the quiet broken component aside")?;
    cargo(root, &["build", "--release", "--target", "wasm32-wasip2", "-p", "callscope-broken-guest"])?;
    let (component, widget_dir) = build_component_and_widget(root)?;
    Ok(Built {
        component,
        broken_component: wasm_dir.join("callscope_broken_guest.wasm"),
        quiet_broken_component,
        previous_interface_component,
        widget_dir,
    })
}

/// Builds what the server needs and nothing the tests alone use: the component with
/// default features and the widget. Returns their paths.
fn build_component_and_widget(root: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    ensure_wasm_targets(root)?;
    cargo(root, &["build", "--release", "--target", "wasm32-wasip2", "-p", "callscope-component"])?;
    let widget_dir = target_dir(root).join("widget-dist");
    widget::build(root, true, &widget_dir)?;
    Ok((target_dir(root).join("wasm32-wasip2/release/callscope_component.wasm"), widget_dir))
}

fn build_all(root: &Path) -> anyhow::Result<Built> {
    let built = build_wasm(root)?;
    cargo(root, &["build", "-p", "callscope-host"])?;
    Ok(built)
}

fn demo(root: &Path) -> anyhow::Result<()> {
    let (component, widget_dir) = build_component_and_widget(root)?;
    cargo(root, &["build", "-p", "callscope-host"])?;
    let host = target_dir(root).join("debug/callscope-host");
    let data_dir = root.join("data");
    let mut command = Command::new(&host);

    // With a local NATS server the demo also replays a recorded call into it, so the
    // Calls tab shows a call arriving live.
    let nats = std::net::SocketAddr::from(([127, 0, 0, 1], 4222));
    if std::net::TcpStream::connect_timeout(&nats, std::time::Duration::from_millis(500)).is_ok() {
        eprintln!("xtask: NATS found on {nats}; a recorded call will arrive live a few seconds after start");
        command
            .args(["--nats-url", "nats://127.0.0.1:4222", "--replay-speed", "2", "--replay"])
            .arg(root.join("fixtures/streams/demo-live-call.ndjson"));
    } else {
        eprintln!("xtask: no NATS server on {nats}; live calls are off (start nats-server -js to see one arrive)");
    }

    let status = command
        .arg("--component")
        .arg(&component)
        .arg("--widget-dir")
        .arg(&widget_dir)
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--load-samples")
        .arg(root.join("fixtures/calls"))
        .args(std::env::args().skip(2))
        .status()
        .with_context(|| format!("starting {}", host.display()))?;
    if !status.success() {
        bail!("the demo server exited with {status}");
    }
    Ok(())
}

/// Builds the component as usual (with `+simd128`, from `.cargo/config.toml`) and
/// without SIMD for comparison, then runs the benchmark binary, which writes
/// BENCHMARKS.md. Arguments after `bench` go to the benchmark binary (for example
/// `--only audio`).
fn bench(root: &Path) -> anyhow::Result<()> {
    ensure_wasm_targets(root)?;
    cargo(root, &["build", "--release", "--target", "wasm32-wasip2", "-p", "callscope-component"])?;

    let plain_dir = target_dir(root).join("wasm-plain");
    let cargo_program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo build (component without SIMD)");
    let status = Command::new(&cargo_program)
        .args(["build", "--release", "--target", "wasm32-wasip2", "-p", "callscope-component", "--target-dir"])
        .arg(&plain_dir)
        .env("RUSTFLAGS", "-C target-feature=-simd128")
        .current_dir(root)
        .status()
        .context("building the component without SIMD")?;
    if !status.success() {
        bail!("building the component without SIMD failed ({status})");
    }

    let wasm = target_dir(root).join("wasm32-wasip2/release/callscope_component.wasm");
    let wasm_plain = plain_dir.join("wasm32-wasip2/release/callscope_component.wasm");
    let mut args = vec!["run", "--release", "-p", "callscope-bench", "--"];
    let (wasm, wasm_plain) = (wasm.to_string_lossy().into_owned(), wasm_plain.to_string_lossy().into_owned());
    args.extend(["--wasm", wasm.as_str(), "--wasm-plain", wasm_plain.as_str()]);
    let extra: Vec<String> = std::env::args().skip(2).collect();
    args.extend(extra.iter().map(String::as_str));
    cargo(root, &args)
}

fn test(root: &Path) -> anyhow::Result<()> {
    ensure_chromium()?;
    let built = build_wasm(root)?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = ["test", "--workspace", "--exclude", "callscope-broken-guest"];
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .args(std::env::args().skip(2))
        .env("CALLSCOPE_COMPONENT_WASM", &built.component)
        .env("CALLSCOPE_BROKEN_COMPONENT_WASM", &built.broken_component)
        .env("CALLSCOPE_QUIET_BROKEN_COMPONENT_WASM", &built.quiet_broken_component)
        .env("CALLSCOPE_COMPONENT_0_1_WASM", &built.previous_interface_component)
        .env("CALLSCOPE_WIDGET_DIR", &built.widget_dir)
        .current_dir(root)
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("tests failed ({status})");
    }
    Ok(())
}

/// Makes rustup install the targets `rust-toolchain.toml` lists. rustup adds them when
/// it installs the toolchain, but not when the toolchain was already present without
/// them (as on a machine whose rustup came with a bare 1.95.0).
fn ensure_wasm_targets(root: &Path) -> anyhow::Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).current_dir(root).output();
    let listed = installed.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    if listed.contains("wasm32-wasip2") && listed.contains("wasm32-unknown-unknown") {
        return Ok(());
    }
    // `cargo run` sets RUSTUP_TOOLCHAIN for xtask, and with it set `rustup toolchain
    // install` installs the bare toolchain without reading the targets from
    // rust-toolchain.toml, so the targets are named here.
    eprintln!("xtask: installing the wasm targets named in rust-toolchain.toml");
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2", "wasm32-unknown-unknown"])
        .current_dir(root)
        .status()
        .context("running rustup")?;
    if !status.success() {
        bail!("`rustup target add wasm32-wasip2 wasm32-unknown-unknown` failed ({status}); run it in {} and retry", root.display());
    }
    Ok(())
}

/// Installs Debian's Chromium and ChromeDriver for the browser tests when missing.
fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    eprintln!("xtask: installing chromium and chromium-driver from Debian's packages");
    let script = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver";
    let status = Command::new("sh").arg("-c").arg(script).status().context("running apt-get")?;
    if !status.success() {
        bail!(
            "installing chromium failed ({status}); the browser tests need /usr/bin/chromium and \
             /usr/bin/chromedriver: run `apt-get install chromium chromium-driver` as root"
        );
    }
    Ok(())
}
