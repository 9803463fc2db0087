//! Inspection of a component file without running it: its imports checked against the
//! allowlist, its exports, the WIT package version it implements and its sha256,
//! together with the limits this host applies to it.
//!
//! The import allowlist is `wit/allowed-imports.txt`, compiled into the host. The
//! install checks ([`crate::components::checks`]) reject a component that imports
//! anything else, and the `inspect` subcommand marks such imports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, Store};

use crate::app::HttpLimits;
use crate::recording_fetch::RecordingFetchConfig;
use crate::runtime::{ACCEPTED_INTERFACES, INTERFACE_VERSION, RuntimeLimits};

/// The checked-in allowlist: one import name per line, `#` starts a comment.
pub const ALLOWED_IMPORTS: &str = include_str!("../../wit/allowed-imports.txt");

/// WIT package whose interfaces a callscope component exports.
pub const PLUGIN_PACKAGE: &str = "callscope:plugin";

/// The import names a component may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAllowlist {
    names: BTreeSet<String>,
}

impl ImportAllowlist {
    /// Returns the allowlist compiled into this host ([`ALLOWED_IMPORTS`]).
    pub fn builtin() -> Self {
        Self::parse(ALLOWED_IMPORTS)
    }

    /// Parses an allowlist: one name per line; blank lines and lines starting with `#`
    /// are skipped.
    pub fn parse(text: &str) -> Self {
        let names = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect();
        Self { names }
    }

    pub fn contains(&self, import: &str) -> bool {
        self.names.contains(import)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Returns the names in `imports` that are not on the list, in their order.
    pub fn disallowed<'a>(&self, imports: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        imports.into_iter().filter(|name| !self.contains(name)).map(str::to_owned).collect()
    }
}

/// A component's import and whether the allowlist permits it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportEntry {
    pub name: String,
    pub allowed: bool,
    /// Functions of an imported interface, by name; empty for other kinds of item.
    pub functions: Vec<String>,
}

/// One export of a component.
#[derive(Debug, Clone, Serialize)]
pub struct ExportEntry {
    pub name: String,
    /// `instance` (an interface), `function`, `resource`, `type`, `module` or `component`.
    pub kind: &'static str,
    /// Functions of an exported interface, by name; resource methods read
    /// `[method]recording.push`.
    pub functions: Vec<String>,
}

/// Limits the host applies to every call into the component and to the inputs that
/// reach it, with the values this binary uses by default.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsReport {
    /// Linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time one call into the component may run, in milliseconds.
    pub deadline_ms: u64,
    /// How often the deadline is checked, in milliseconds.
    pub epoch_tick_ms: u64,
    /// Guest call stack, in bytes.
    pub wasm_stack_bytes: usize,
    /// Instances that may exist at once.
    pub max_concurrent_instances: u32,
    /// Recording bytes passed per `push` call.
    pub audio_chunk_bytes: usize,
    /// Bytes the host copies out of the guest for one call's results, at most
    /// (wasmtime's hostcall fuel).
    pub max_result_bytes: usize,
    /// Largest vendor payload accepted over HTTP, in bytes.
    pub max_payload_bytes: usize,
    /// Largest recording upload or fetched recording, in bytes.
    pub max_recording_bytes: u64,
    /// Largest JSON request body of the API, in bytes.
    pub max_json_body_bytes: usize,
    /// Hosts recordings may be fetched from; empty means never.
    pub recording_hosts: Vec<String>,
    /// Time one recording fetch may take, in milliseconds.
    pub recording_fetch_timeout_ms: u64,
}

/// Everything `inspect` reports about a component file.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentReport {
    pub path: PathBuf,
    pub size_bytes: u64,
    pub sha256: String,
    /// Versions of the `callscope:plugin` package among the export names.
    pub interface_versions: Vec<String>,
    /// The newest interface version this host implements.
    pub host_interface_version: String,
    /// The interface versions this host serves, such as `0.2.x`.
    pub host_accepts: Vec<String>,
    pub imports: Vec<ImportEntry>,
    pub exports: Vec<ExportEntry>,
    pub limits: LimitsReport,
}

impl ComponentReport {
    /// Returns the imports the allowlist does not permit.
    pub fn disallowed_imports(&self) -> Vec<&str> {
        self.imports.iter().filter(|i| !i.allowed).map(|i| i.name.as_str()).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    // The I/O error is part of the message and not a source, so that anyhow's report
    // does not print it twice.
    #[error("reading {path} failed: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path} is not a WebAssembly component this host can compile: {reason}")]
    NotAComponent { path: PathBuf, reason: String },
}

/// The host's limits, as [`LimitsReport`] lists them.
#[derive(Debug, Clone, Default)]
pub struct HostLimits {
    pub runtime: RuntimeLimits,
    pub http: HttpLimits,
    pub recording_fetch: RecordingFetchConfig,
}

/// Compiles the component at `path` (nothing of it runs) and reports its imports,
/// exports, interface version, sha256 and the limits in `limits`.
pub fn inspect_file(path: &Path, limits: &HostLimits) -> Result<ComponentReport, InspectError> {
    let bytes = std::fs::read(path).map_err(|error| InspectError::Read { path: path.to_owned(), error })?;
    let not_a_component = |reason: String| InspectError::NotAComponent { path: path.to_owned(), reason };
    if !bytes.starts_with(b"\0asm") {
        return Err(not_a_component(
            "the file does not start with the WebAssembly magic bytes `\\0asm`; pass the .wasm file that `cargo build --target wasm32-wasip2` wrote".to_owned(),
        ));
    }

    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).map_err(|e| not_a_component(format!("{e:#}")))?;
    let component = Component::new(&engine, &bytes).map_err(|e| not_a_component(format!("{e:#}")))?;
    let component_type = component.component_type();

    let allowlist = ImportAllowlist::builtin();
    let imports = component_type
        .imports(&engine)
        .map(|(name, item)| ImportEntry {
            name: name.to_owned(),
            allowed: allowlist.contains(name),
            functions: function_names(&engine, &item.ty),
        })
        .collect();

    let mut interface_versions = BTreeSet::new();
    let exports: Vec<ExportEntry> = component_type
        .exports(&engine)
        .map(|(name, item)| {
            if let Some(version) = plugin_version(name) {
                interface_versions.insert(version.to_owned());
            }
            ExportEntry { name: name.to_owned(), kind: item_kind(&item.ty), functions: function_names(&engine, &item.ty) }
        })
        .collect();

    Ok(ComponentReport {
        path: path.to_owned(),
        size_bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
        interface_versions: interface_versions.into_iter().collect(),
        host_interface_version: INTERFACE_VERSION.to_owned(),
        host_accepts: ACCEPTED_INTERFACES.iter().map(|v| format!("{v}.x")).collect(),
        imports,
        exports,
        limits: limits_report(&engine, limits),
    })
}

/// Returns `X.Y.Z` of an export named `callscope:plugin/NAME@X.Y.Z`.
fn plugin_version(export_name: &str) -> Option<&str> {
    let rest = export_name.strip_prefix(PLUGIN_PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@').map(|(_, version)| version)
}

fn item_kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) | ComponentItem::CoreFunc(_) => "function",
        ComponentItem::Module(_) => "module",
        ComponentItem::Component(_) => "component",
        ComponentItem::ComponentInstance(_) => "instance",
        ComponentItem::Type(_) => "type",
        ComponentItem::Resource(_) => "resource",
    }
}

fn function_names(engine: &Engine, item: &ComponentItem) -> Vec<String> {
    match item {
        ComponentItem::ComponentInstance(instance) => instance
            .exports(engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
            .map(|(name, _)| name.to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn limits_report(engine: &Engine, limits: &HostLimits) -> LimitsReport {
    // The host leaves wasmtime's hostcall fuel at its default; a store reports it.
    let max_result_bytes = Store::new(engine, ()).hostcall_fuel();
    let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    LimitsReport {
        memory_bytes: limits.runtime.memory_bytes,
        deadline_ms: limits.runtime.deadline_ms(),
        epoch_tick_ms: millis(limits.runtime.epoch_tick),
        wasm_stack_bytes: limits.runtime.wasm_stack_bytes,
        max_concurrent_instances: limits.runtime.max_concurrent_instances,
        audio_chunk_bytes: limits.runtime.audio_chunk_bytes,
        max_result_bytes,
        max_payload_bytes: limits.http.max_payload_bytes,
        max_recording_bytes: limits.http.max_recording_bytes,
        max_json_body_bytes: limits.http.max_json_body_bytes,
        recording_hosts: limits.recording_fetch.allowed_hosts.iter().map(ToString::to_string).collect(),
        recording_fetch_timeout_ms: millis(limits.recording_fetch.timeout),
    }
}

/// Writes `report` as text for a reader: sha256, versions, imports (each import
/// outside the allowlist marked `NOT ALLOWED`), exports and limits.
pub fn write_text(report: &ComponentReport, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    writeln!(out, "component   {}", report.path.display())?;
    writeln!(out, "size        {} bytes", report.size_bytes)?;
    writeln!(out, "sha256      {}", report.sha256)?;
    let versions = if report.interface_versions.is_empty() {
        format!("none (no {PLUGIN_PACKAGE} export)")
    } else {
        report.interface_versions.join(", ")
    };
    writeln!(
        out,
        "interface   {PLUGIN_PACKAGE}@{versions} (this host: {}, accepts {})",
        report.host_interface_version,
        report.host_accepts.join(" and ")
    )?;

    writeln!(out)?;
    let disallowed = report.disallowed_imports().len();
    writeln!(out, "imports ({}, {disallowed} outside wit/allowed-imports.txt)", report.imports.len())?;
    for import in &report.imports {
        let mark = if import.allowed { "" } else { "   NOT ALLOWED" };
        writeln!(out, "  {}{mark}", import.name)?;
    }

    writeln!(out)?;
    writeln!(out, "exports ({})", report.exports.len())?;
    for export in &report.exports {
        writeln!(out, "  {} ({})", export.name, export.kind)?;
        for function in &export.functions {
            writeln!(out, "      {function}")?;
        }
    }

    let limits = &report.limits;
    let hosts = if limits.recording_hosts.is_empty() { "none (never fetched)".to_owned() } else { limits.recording_hosts.join(", ") };
    writeln!(out)?;
    writeln!(out, "limits")?;
    writeln!(out, "  guest memory per instance    {} bytes ({} MiB)", limits.memory_bytes, limits.memory_bytes >> 20)?;
    writeln!(out, "  deadline per call            {} ms (checked every {} ms)", limits.deadline_ms, limits.epoch_tick_ms)?;
    writeln!(out, "  guest call stack             {} bytes", limits.wasm_stack_bytes)?;
    writeln!(out, "  instances at once            {}", limits.max_concurrent_instances)?;
    writeln!(out, "  results copied per call      {} bytes ({} MiB)", limits.max_result_bytes, limits.max_result_bytes >> 20)?;
    writeln!(out, "  recording chunk per call     {} bytes", limits.audio_chunk_bytes)?;
    writeln!(out, "  vendor payload               {} bytes ({} MiB)", limits.max_payload_bytes, limits.max_payload_bytes >> 20)?;
    writeln!(out, "  recording                    {} bytes ({} MiB)", limits.max_recording_bytes, limits.max_recording_bytes >> 20)?;
    writeln!(out, "  JSON request body            {} bytes ({} KiB)", limits.max_json_body_bytes, limits.max_json_body_bytes >> 10)?;
    writeln!(out, "  recording fetch hosts        {hosts}")?;
    writeln!(out, "  recording fetch time         {} ms", limits.recording_fetch_timeout_ms)?;
    Ok(())
}
