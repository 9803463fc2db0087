//! Multipart uploads that report their progress. `fetch` offers no upload progress
//! event, so these requests go through `XMLHttpRequest`, whose `upload` object fires
//! `progress` while the body is sent.

use js_sys::Promise;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Event, FormData, ProgressEvent, XmlHttpRequest};

use super::{ApiFailure, REQUEST_HEADER};

/// How much of a request body the browser has sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UploadProgress {
    pub sent_bytes: f64,
    /// Size of the whole body, or `None` when the browser does not know it.
    pub total_bytes: Option<f64>,
}

/// The response to an upload: status code and body text.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadResponse {
    pub status: u16,
    pub body: String,
}

/// Sends `form` as a `multipart/form-data` POST to `url` with the CSRF header and
/// calls `on_progress` as the body goes out. A response with any status, 4xx and 5xx
/// included, is returned, and only a request that got no response fails.
pub async fn post_form(url: &str, form: &FormData, on_progress: impl Fn(UploadProgress) + 'static) -> Result<UploadResponse, ApiFailure> {
    let failed = |reason: String| ApiFailure::Network { url: url.to_owned(), reason };
    let js_failed = |error: JsValue| failed(js_reason(&error));

    let request = XmlHttpRequest::new().map_err(js_failed)?;
    request.open("POST", url).map_err(js_failed)?;
    request.set_request_header("Accept", "application/json").map_err(js_failed)?;
    request.set_request_header(REQUEST_HEADER.0, REQUEST_HEADER.1).map_err(js_failed)?;

    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        let total_bytes = event.length_computable().then(|| event.total());
        on_progress(UploadProgress { sent_bytes: event.loaded(), total_bytes });
    });
    let upload = request.upload().map_err(js_failed)?;
    upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));

    // The promise settles on the request's `load` event, which fires for every
    // response, or rejects with the `error`, `abort` or `timeout` event.
    let finished = Promise::new(&mut |resolve, reject| {
        request.set_onload(Some(&resolve));
        request.set_onerror(Some(&reject));
        request.set_onabort(Some(&reject));
        request.set_ontimeout(Some(&reject));
    });
    let sent = request.send_with_opt_form_data(Some(form));
    let outcome = match sent {
        Ok(()) => JsFuture::from(finished).await.map(drop),
        Err(error) => Err(error),
    };

    // Detach the handlers before `progress` is dropped, so no event can reach a
    // freed closure.
    upload.set_onprogress(None);
    request.set_onload(None);
    request.set_onerror(None);
    request.set_onabort(None);
    request.set_ontimeout(None);
    drop(progress);

    if let Err(event) = outcome {
        return Err(failed(js_reason(&event)));
    }
    let status = request.status().map_err(js_failed)?;
    if status == 0 {
        return Err(failed(String::from("the browser reported no HTTP status")));
    }
    let body = request.response_text().ok().flatten().unwrap_or_default();
    Ok(UploadResponse { status, body })
}

/// Describes a JavaScript error or a failed request's event for a message.
fn js_reason(value: &JsValue) -> String {
    if let Some(event) = value.dyn_ref::<Event>() {
        return match event.type_().as_str() {
            "abort" => String::from("the upload was cancelled"),
            "timeout" => String::from("the upload timed out"),
            _ => String::from("the connection failed or the server closed it"),
        };
    }
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
