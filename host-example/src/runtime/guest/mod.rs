//! The component's exports as one trait, implemented once for each interface version
//! this host serves: the current one (`wit/`) and the previous minor version
//! (`wit-previous/0.1.0/`).
//!
//! Both implementations are the same source files under `shared/`, compiled once
//! inside `v0_1` and once inside `v0_2` against that version's generated bindings.
//! What differs between the versions is in the two `mod.rs` files, as small hooks
//! the shared code calls.

use callscope_api_types as api;
use wasmtime::Store;
use wasmtime::component::{InstancePre, ResourceAny};

use super::sandbox::SandboxState;
use super::{
    CallBounds, ExportFormat, ExportRow, MeasurementLevel, OtlpEncoding, OtlpSpan, ParsedEvent, PeaksFileFormat,
    QueueCandidate, RankedCall, RejectedInput,
};

mod v0_1;
mod v0_2;

/// Interface versions this host serves, newest first, as `major.minor` prefixes.
pub const ACCEPTED_INTERFACES: [&str; 2] = ["0.2", "0.1"];

/// A call's result: the outer error is a trap or a host failure, the inner one an
/// input the component rejected.
pub type Outcome<T> = wasmtime::Result<Result<T, RejectedInput>>;

type GuestStore = Store<SandboxState>;

/// Every call the host makes into a component, independent of its interface version.
pub trait GuestCalls {
    fn normalize(&self, store: &mut GuestStore, payload: &[u8]) -> Outcome<api::NormalizedCall>;
    fn split_otlp(&self, store: &mut GuestStore, body: &[u8], encoding: OtlpEncoding) -> Outcome<Vec<OtlpSpan>>;
    fn normalize_spans(&self, store: &mut GuestStore, spans: &[String]) -> Outcome<api::NormalizedCall>;
    fn parse_events(&self, store: &mut GuestStore, events: &[Vec<u8>]) -> Outcome<Vec<Result<ParsedEvent, String>>>;

    fn encode_peaks(
        &self,
        store: &mut GuestStore,
        level: &api::PeaksLevel,
        sample_rate: u32,
        format: PeaksFileFormat,
        bits: u8,
    ) -> Outcome<Vec<u8>>;
    fn recording_new(&self, store: &mut GuestStore) -> wasmtime::Result<ResourceAny>;
    /// Returns the playback transcode of the chunk, empty when none is made.
    fn recording_push(&self, store: &mut GuestStore, recording: ResourceAny, chunk: &[u8]) -> Outcome<Vec<u8>>;
    fn recording_finish(&self, store: &mut GuestStore, recording: ResourceAny) -> Outcome<api::AudioSummary>;
    fn peaks_new(&self, store: &mut GuestStore, channels: u16, sample_rate: u32) -> wasmtime::Result<ResourceAny>;
    fn peaks_push(&self, store: &mut GuestStore, peaks: ResourceAny, chunk: &[u8]) -> Outcome<()>;
    fn peaks_finish(&self, store: &mut GuestStore, peaks: ResourceAny) -> Outcome<Vec<api::PeaksLevel>>;

    fn analyze(
        &self,
        store: &mut GuestStore,
        utterances: &[api::Utterance],
        activity: &[api::ChannelActivity],
        layout: api::ChannelLayout,
        settings: &api::AnalysisSettings,
    ) -> Outcome<api::CallAnalysis>;

    fn parse_role_map(&self, store: &mut GuestStore, json: &str) -> Outcome<Vec<api::RoleGrant>>;
    fn permissions_of(
        &self,
        store: &mut GuestStore,
        role_map: &[api::RoleGrant],
        roles: &[String],
    ) -> Outcome<Vec<api::Permission>>;

    fn redact_texts(&self, store: &mut GuestStore, texts: &[String]) -> Outcome<Vec<api::RedactedText>>;
    fn redact_json(&self, store: &mut GuestStore, json: &str) -> Outcome<String>;
    fn redact_utterances(
        &self,
        store: &mut GuestStore,
        utterances: &[api::Utterance],
    ) -> Outcome<Vec<(api::Utterance, Vec<api::RedactionMark>)>>;

    fn parse_schema(&self, store: &mut GuestStore, json: &str) -> Outcome<api::Schema>;
    fn validate_annotation(
        &self,
        store: &mut GuestStore,
        schema: &api::Schema,
        input: &api::AnnotationInput,
        bounds: &CallBounds,
    ) -> Outcome<()>;
    fn missing_required(
        &self,
        store: &mut GuestStore,
        schema: &api::Schema,
        annotations: &[api::AnnotationInput],
    ) -> Outcome<Vec<String>>;
    fn review_queue(
        &self,
        store: &mut GuestStore,
        candidates: &[QueueCandidate],
        sample_per_mille: u32,
        seed: u64,
    ) -> Outcome<Vec<RankedCall>>;
    fn compute_agreement(
        &self,
        store: &mut GuestStore,
        label_id: &str,
        ratings: &[(String, String, String)],
        level: MeasurementLevel,
    ) -> Outcome<api::LabelAgreement>;
    fn export_rows(&self, store: &mut GuestStore, rows: &[ExportRow], format: ExportFormat, redact: bool) -> Outcome<String>;

    /// Returns the component's description of its build; `None` for interface 0.1,
    /// which has no `about` interface.
    fn describe(&self, store: &mut GuestStore) -> Outcome<Option<api::ComponentInfo>>;
}

/// A component linked and checked against the bindings of its interface version,
/// ready to instantiate.
pub enum GuestPre {
    V0_1(v0_1::bindings::PluginPre<SandboxState>),
    V0_2(v0_2::bindings::PluginPre<SandboxState>),
}

impl GuestPre {
    /// Checks that `instance_pre` exports the interfaces of `version` (`major.minor.patch`)
    /// with the types this host expects.
    pub fn new(instance_pre: InstancePre<SandboxState>, version: &str) -> Result<Self, String> {
        let minor = accepted_minor(version)?;
        let result = match minor {
            "0.2" => v0_2::bindings::PluginPre::new(instance_pre).map(GuestPre::V0_2),
            _ => v0_1::bindings::PluginPre::new(instance_pre).map(GuestPre::V0_1),
        };
        result.map_err(|e| format!("it does not export the callscope:plugin@{version} interfaces as this host knows them: {e:#}"))
    }

    pub fn instance_pre(&self) -> &InstancePre<SandboxState> {
        match self {
            GuestPre::V0_1(pre) => pre.instance_pre(),
            GuestPre::V0_2(pre) => pre.instance_pre(),
        }
    }

    pub fn instantiate(&self, store: &mut GuestStore) -> wasmtime::Result<Box<dyn GuestCalls>> {
        Ok(match self {
            GuestPre::V0_1(pre) => Box::new(pre.instantiate(store)?),
            GuestPre::V0_2(pre) => Box::new(pre.instantiate(store)?),
        })
    }
}

/// Returns the `major.minor` prefix of `version` when this host serves it.
pub fn accepted_minor(version: &str) -> Result<&'static str, String> {
    ACCEPTED_INTERFACES
        .into_iter()
        .find(|prefix| version.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')))
        .ok_or_else(|| {
            let accepted = ACCEPTED_INTERFACES.map(|v| format!("{v}.x")).join(" or ");
            format!("it exports callscope:plugin@{version}; this host accepts {accepted}")
        })
}

/// The one version of the `callscope:plugin` interfaces among `exports`, such as
/// `0.2.0`.
pub fn exported_version(exports: &[String]) -> Result<String, String> {
    let versions: std::collections::BTreeSet<&str> = exports
        .iter()
        .filter_map(|export| export.strip_prefix("callscope:plugin/").and_then(|rest| rest.split_once('@')))
        .map(|(_, version)| version)
        .collect();
    match versions.len() {
        0 => {
            let accepted = ACCEPTED_INTERFACES.map(|v| format!("{v}.x")).join(" or ");
            Err(format!(
                "it exports no callscope:plugin interface (its exports: {exports:?}); this host needs callscope:plugin@{accepted}"
            ))
        }
        1 => Ok(versions.into_iter().next().unwrap_or_default().to_owned()),
        _ => Err(format!("it mixes callscope:plugin versions {versions:?}")),
    }
}
