//! Calls into components of the previous interface version, 0.1, bound to the frozen
//! copy of its WIT in `wit-previous/0.1.0/`.

use callscope_api_types as api;
use wasmtime::Store;

use crate::runtime::sandbox::SandboxState;

pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit-previous/0.1.0",
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

/// Interface 0.1 cannot refuse an agreement input; a bad one traps inside the
/// component instead.
fn agreement_outcome(agreement: Agreement) -> Result<Agreement, String> {
    Ok(agreement)
}

/// Interface 0.1 has no `about`.
fn describe(_plugin: &bindings::Plugin, _store: &mut Store<SandboxState>) -> wasmtime::Result<Option<api::ComponentInfo>> {
    Ok(None)
}
