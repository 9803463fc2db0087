//! The callscope Calls tab: a Yew widget that a backoffice page mounts into one of
//! its own elements.
//!
//! The host page loads the generated module and calls [`mount`]:
//!
//! ```js
//! import init, { mount } from '/callscope/widget/callscope_widget.js';
//! await init();
//! const handle = mount(document.getElementById('calls-tab'), { apiBase: '/callscope/api', theme: 'light' });
//! // later: handle.unmount();
//! ```
//!
//! The widget renders inside that element only. Its styles are scoped under the
//! `.callscope` root class and themed through `--callscope-*` CSS custom properties,
//! and every event listener it adds is removed again on unmount.

pub mod access;
pub mod annotate;
pub mod api;
pub mod components;
pub mod draw;
pub mod format;
pub mod latency;
pub mod options;
pub mod redaction;
pub mod shared;
pub mod source;
pub mod upgrade;

use wasm_bindgen::prelude::*;

use crate::components::app::{App, AppProps};
use crate::options::MountOptions;

/// A mounted widget; `unmount()` removes it and its listeners from the page.
#[wasm_bindgen]
pub struct MountHandle {
    app: Option<yew::AppHandle<App>>,
}

#[wasm_bindgen]
impl MountHandle {
    /// Removes the widget from its element. Calling it again does nothing.
    pub fn unmount(&mut self) {
        if let Some(app) = self.app.take() {
            app.destroy();
        }
    }
}

/// Mounts the widget into `element`, replacing the element's children.
///
/// `options` is `{ apiBase: string, theme?: "light" | "dark" }`; `apiBase` defaults
/// to `/callscope/api` and `theme` to `light`. Throws when an option has the wrong
/// type or an unknown value.
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<MountHandle, JsValue> {
    let options = MountOptions::from_js(&options).map_err(|error| JsValue::from(js_sys::Error::new(&error.to_string())))?;
    let props = AppProps { api: api::Api::new(&options.api_base), theme: options.theme };
    let app = yew::Renderer::<App>::with_root_and_props(element, props).render();
    Ok(MountHandle { app: Some(app) })
}
