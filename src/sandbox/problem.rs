//! How the sandbox answers what it refuses: SLASCONE's 409 business errors with their ids, and
//! ASP.NET ProblemDetails for malformed requests; and reading a request body.

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::remote::wire::{ErrorResultObjects, ProblemDetails};

/// The error ids the reference documents, and the few the sandbox had to pick itself.
pub(crate) mod code {
    pub const UNKNOWN_SOFTWARE_RELEASE: i64 = 1004;
    pub const LEGACY_KEY_EXISTS: i64 = 1005;
    pub const INVALID_EMAIL: i64 = 1012;
    /// Guessed: no documented id for "a license with this id exists".
    pub const LICENSE_ID_EXISTS: i64 = 1006;
    /// Guessed: no documented id for "unknown license" on GET/PATCH by id.
    pub const UNKNOWN_LICENSE: i64 = 1001;
    pub const UNKNOWN_LICENSE_TYPE: i64 = 2009;
    pub const UNKNOWN_PRODUCT: i64 = 3000;
    pub const UNKNOWN_FEATURE: i64 = 3001;
    pub const UNKNOWN_VARIABLE: i64 = 3002;
    pub const UNKNOWN_LIMITATION: i64 = 3003;
    /// Guessed: no documented id for "a value not in the constrained variable's custom list".
    pub const VALUE_NOT_ALLOWED: i64 = 3005;
    pub const UNKNOWN_CUSTOMER: i64 = 4000;
    /// Guessed: no documented id for "a customer with this id exists".
    pub const CUSTOMER_ID_EXISTS: i64 = 4001;
    pub const CUSTOMER_NUMBER_EXISTS: i64 = 4002;
    /// Guessed: no documented id for "this customer has a contact with this e-mail address".
    pub const CONTACT_EMAIL_EXISTS: i64 = 4003;
    /// Guessed: no documented id for an unknown contact.
    pub const UNKNOWN_CONTACT: i64 = 4004;
    pub const UNKNOWN_TEMPLATE: i64 = 8001;
    pub const UNKNOWN_COUNTRY: i64 = 9000;
    pub const UNKNOWN_CUSTOMER_TYPE: i64 = 9001;
    pub const EMPTY_COMPANY_NAME: i64 = 9002;
}

#[derive(Debug)]
pub(crate) enum ApiError {
    /// 409 with an `ErrorResultObjects` body.
    Conflict(i64, &'static str),
    /// 400 with a `ProblemDetails` body.
    BadRequest(String),
    UnsupportedMediaType,
    /// 404 with a `ProblemDetails` body.
    NotFound,
    Internal(String),
}

pub(crate) fn conflict(id: i64, message: &'static str) -> ApiError {
    ApiError::Conflict(id, message)
}

pub(crate) fn problem(status: StatusCode, title: &str, detail: Option<String>) -> Response {
    let body = ProblemDetails {
        kind: Some(format!(
            "https://tools.ietf.org/html/rfc9110#section-15.{}",
            match status.as_u16() {
                400 => "5.1",
                401 => "5.2",
                404 => "5.5",
                405 => "5.6",
                415 => "5.16",
                429 => "5.29",
                503 => "6.4",
                _ => "6.1",
            }
        )),
        title: Some(title.to_owned()),
        status: Some(i32::from(status.as_u16())),
        detail,
        instance: None,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Conflict(id, message) => (
                StatusCode::CONFLICT,
                Json(ErrorResultObjects {
                    id,
                    message: Some(message.to_owned()),
                    help: None,
                }),
            )
                .into_response(),
            ApiError::BadRequest(detail) => problem(
                StatusCode::BAD_REQUEST,
                "One or more validation errors occurred.",
                Some(detail),
            ),
            ApiError::NotFound => problem(StatusCode::NOT_FOUND, "Not Found", None),
            ApiError::UnsupportedMediaType => problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                Some("the body must be application/json".to_owned()),
            ),
            ApiError::Internal(detail) => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                Some(detail),
            ),
        }
    }
}

/// The request body as a JSON object.
pub(crate) fn json_object(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "the request body must be a JSON object".to_owned(),
        )),
        Err(err) => Err(ApiError::BadRequest(format!(
            "the JSON value could not be parsed: {err}"
        ))),
    }
}

pub(crate) fn decode<T: DeserializeOwned>(map: &Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(map.clone()))
        .map_err(|err| ApiError::BadRequest(err.to_string()))
}

pub(crate) fn parse_id(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::BadRequest(format!("`{text}` is not a valid {what}")))
}
