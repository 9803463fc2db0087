//! Builds the web widget: compiles `callscope-widget` for `wasm32-unknown-unknown`
//! and generates its JavaScript glue with `wasm-bindgen-cli-support`, whose version
//! is pinned to the widget's `wasm-bindgen` because the two must match exactly.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const WIDGET_PACKAGE: &str = "callscope-widget";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// File stem of the compiled cdylib, and so of the generated files:
/// `callscope_widget.js` and `callscope_widget_bg.wasm`.
const WIDGET_STEM: &str = "callscope_widget";

/// Builds the widget and writes `callscope_widget.js` and `callscope_widget_bg.wasm`
/// for `<script type="module">` loading (wasm-bindgen's `web` target) into `out_dir`,
/// creating it if needed.
pub fn build(workspace_root: &Path, release: bool, out_dir: &Path) -> anyhow::Result<()> {
    let mut args = vec!["build", "--package", WIDGET_PACKAGE, "--target", WASM_TARGET];
    if release {
        args.push("--release");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| String::from("cargo"));
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(&args)
        .current_dir(workspace_root)
        .status()
        .with_context(|| format!("failed to run {cargo} to build the widget"))?;
    if !status.success() {
        bail!("cargo {} failed with {status}; the compiler output above names the error", args.join(" "));
    }

    let wasm = compiled_wasm(workspace_root, release);
    if !wasm.is_file() {
        bail!(
            "the widget build succeeded but {} is missing; check that CARGO_TARGET_DIR is the same for cargo and xtask",
            wasm.display()
        );
    }

    std::fs::create_dir_all(out_dir).with_context(|| format!("failed to create widget output directory {}", out_dir.display()))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .context("failed to select wasm-bindgen's web output")?
        .typescript(false)
        // The library defaults to omitting it, unlike the wasm-bindgen CLI. Without it
        // the page's `init()` with no argument has no URL to fetch the wasm from.
        .omit_default_module_path(false)
        .generate(out_dir)
        .with_context(|| format!("wasm-bindgen failed on {} writing to {}", wasm.display(), out_dir.display()))?;

    for file in [format!("{WIDGET_STEM}.js"), format!("{WIDGET_STEM}_bg.wasm")] {
        let path = out_dir.join(&file);
        if !path.is_file() {
            bail!("wasm-bindgen finished but did not write {}", path.display());
        }
    }
    Ok(())
}

/// Path of the cdylib cargo writes, honouring `CARGO_TARGET_DIR` (relative paths are
/// taken from the workspace root, as cargo does when run there).
fn compiled_wasm(workspace_root: &Path, release: bool) -> PathBuf {
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root.join(dir),
        None => workspace_root.join("target"),
    };
    let profile = if release { "release" } else { "debug" };
    target_dir.join(WASM_TARGET).join(profile).join(format!("{WIDGET_STEM}.wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the real widget (debug) and checks both generated files. Slow: it
    /// compiles the widget for wasm, so it only runs when asked for.
    #[test]
    #[ignore = "compiles the widget for wasm32; run with --ignored"]
    fn build_writes_js_and_wasm() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let out = std::env::temp_dir().join(format!("callscope-widget-test-{}", std::process::id()));
        build(root, false, &out).unwrap();

        let js = std::fs::read_to_string(out.join("callscope_widget.js")).unwrap();
        assert!(js.contains("export function mount"), "generated glue has no mount export");
        assert!(js.contains("callscope_widget_bg.wasm"), "generated glue has no default wasm path");
        let wasm = std::fs::read(out.join("callscope_widget_bg.wasm")).unwrap();
        assert_eq!(&wasm[..4], b"\0asm");
        std::fs::remove_dir_all(&out).unwrap();
    }
}
