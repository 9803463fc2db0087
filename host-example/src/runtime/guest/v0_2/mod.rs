//! Calls into components of the current interface version, 0.2, bound to `wit/`.

use callscope_api_types as api;
use wasmtime::Store;

use crate::runtime::sandbox::SandboxState;

pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
    });
}

#[path = "../shared/calls.rs"]
mod calls;
#[path = "../shared/convert.rs"]
mod convert;
#[path = "../shared/review_convert.rs"]
mod review_convert;

type Agreement = bindings::exports::callscope::plugin::annotation::Agreement;

fn agreement_outcome(result: Result<Agreement, String>) -> Result<Agreement, String> {
    result
}

fn describe(plugin: &bindings::Plugin, store: &mut Store<SandboxState>) -> wasmtime::Result<Option<api::ComponentInfo>> {
    let info = plugin.callscope_plugin_about().call_describe(store)?;
    Ok(Some(api::ComponentInfo {
        name: info.name,
        version: info.version,
        formats: info.formats,
        audio_encodings: info.audio_encodings,
    }))
}
