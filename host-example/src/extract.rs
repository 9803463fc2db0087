//! Request extractors whose rejections are [`HttpError`]s, so that a malformed body,
//! query string or upload gets the same JSON error shape as every other error, with
//! the value at fault and what to send instead.

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::http_error::HttpError;

/// A JSON body, like [`axum::Json`].
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        let path = request.uri().path().to_owned();
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(&path, rejection)),
        }
    }
}

/// A query string, like [`axum::extract::Query`].
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_error(parts.uri.query().unwrap_or_default(), rejection)),
        }
    }
}

/// A `multipart/form-data` upload, like [`axum::extract::Multipart`].
pub struct ApiMultipart(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        let content_type = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        match Multipart::from_request(request, state).await {
            Ok(form) => Ok(Self(form)),
            Err(rejection) => Err(multipart_error(&content_type, rejection)),
        }
    }
}

fn json_error(path: &str, rejection: JsonRejection) -> HttpError {
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!("the body of {path} must be JSON: send it with the header Content-Type: application/json"),
        ),
        JsonRejection::JsonDataError(_) => HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            format!("the JSON body of {path} does not have the expected fields ({detail}); the README's API section shows them"),
        ),
        JsonRejection::JsonSyntaxError(_) => {
            HttpError::bad_request("invalid-json", format!("the body of {path} is not valid JSON ({detail})"))
        }
        other => HttpError::new(other.status(), "invalid-body", format!("the body of {path} could not be read ({detail})")),
    }
}

fn query_error(query: &str, rejection: QueryRejection) -> HttpError {
    let detail = rejection.body_text();
    let detail = detail.strip_prefix("Failed to deserialize query string: ").unwrap_or(&detail);
    HttpError::bad_request("invalid-query", format!("invalid query string \"{query}\": {detail}; correct that parameter or leave it out"))
}

fn multipart_error(content_type: &str, rejection: MultipartRejection) -> HttpError {
    HttpError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid-form",
        format!(
            "this endpoint takes a multipart/form-data upload, not Content-Type {content_type} ({}); with curl, send each field with -F",
            rejection.body_text()
        ),
    )
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;

    #[derive(Deserialize)]
    struct Limit {
        #[allow(dead_code)]
        limit: u32,
    }

    async fn respond(request: Request) -> (StatusCode, serde_json::Value) {
        let router = Router::new()
            .route("/json", post(|ApiJson(_): ApiJson<Limit>| async { "ok" }))
            .route("/query", post(|ApiQuery(_): ApiQuery<Limit>| async { "ok" }))
            .route("/form", post(|ApiMultipart(_): ApiMultipart| async { "ok" }));
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    fn post_request(uri: &str, content_type: Option<&str>, body: &str) -> Request {
        let mut builder = Request::post(uri);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(Body::from(body.to_owned())).unwrap()
    }

    #[tokio::test]
    async fn json_missing_field_is_json_error() {
        let (status, body) = respond(post_request("/json", Some("application/json"), "{}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"], "invalid-body");
        assert!(body["message"].as_str().unwrap().contains("missing field `limit`"), "{body}");
    }

    #[tokio::test]
    async fn json_without_content_type_names_header() {
        let (status, body) = respond(post_request("/json", None, "{\"limit\": 1}")).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(body["message"].as_str().unwrap().contains("Content-Type: application/json"), "{body}");
    }

    #[tokio::test]
    async fn json_syntax_error_is_bad_request() {
        let (status, body) = respond(post_request("/json", Some("application/json"), "{\"limit\":")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid-json");
    }

    #[tokio::test]
    async fn query_bad_number_names_value() {
        let (status, body) = respond(post_request("/query?limit=abc", None, "")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid-query");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("\"limit=abc\""), "{message}");
        assert!(message.contains("limit: invalid digit"), "{message}");
    }

    #[tokio::test]
    async fn form_sent_as_json_is_rejected() {
        let (status, body) = respond(post_request("/form", Some("application/json"), "{}")).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(body["error"], "invalid-form");
        assert!(body["message"].as_str().unwrap().contains("not Content-Type application/json"), "{body}");
    }
}
