//! Errors of the SLASCONE API client. Every one names the request (method and path); none ever
//! carries the admin key, and every text from the server is shown with its control characters
//! escaped.

use std::time::Duration;

// Server text is shown escaped: it reaches terminals and CI logs.
use crate::text::shown;

/// A failed SLASCONE request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// A 409: SLASCONE's business error, with its numeric id and message.
    #[error("{method} {}: SLASCONE error {id}: {}", shown(path), shown(message))]
    Business {
        method: String,
        path: String,
        id: i64,
        message: String,
    },
    /// A 400 with an ASP.NET ProblemDetails body.
    #[error("{method} {}: bad request: {}{}", shown(path), shown(title), detail.as_deref().map(|d| format!(": {}", shown(d))).unwrap_or_default())]
    BadRequest {
        method: String,
        path: String,
        title: String,
        detail: Option<String>,
    },
    /// A 401 or 403, with what the server said of it (a key of another ISV, say), if anything.
    #[error(
        "{method} {}: the admin key was rejected (HTTP {status}){}; check the key in the environment variable that admin_key_env names, and that isv_id is the key's ISV",
        shown(path),
        detail.as_deref().map(|d| format!(": {}", shown(d))).unwrap_or_default()
    )]
    Unauthorized {
        method: String,
        path: String,
        status: u16,
        detail: Option<String>,
    },
    /// Any other unsuccessful status, after retries where the request was safe to retry.
    #[error("{method} {}: HTTP {status}{}", shown(path), if body.is_empty() { String::new() } else { format!(": {}", shown(body)) })]
    Status {
        method: String,
        path: String,
        status: u16,
        body: String,
    },
    /// No answer within the request timeout.
    #[error("{method} {}: no answer within {}s", shown(path), timeout.as_secs_f64())]
    Timeout {
        method: String,
        path: String,
        timeout: Duration,
    },
    /// The connection could not be made, or broke before an answer arrived.
    #[error("{method} {}: connection failed: {}", shown(path), shown(message))]
    Transport {
        method: String,
        path: String,
        message: String,
        /// True when the request never reached the server (so even a create is safe to resend).
        before_sending: bool,
    },
    /// The answer was not the JSON this request expects, or was too large.
    #[error("{method} {}: unexpected answer: {}", shown(path), shown(message))]
    Decode {
        method: String,
        path: String,
        message: String,
    },
    /// A paged listing did not add up to the count SLASCONE reported.
    #[error("{method} {}: incomplete listing: {}", shown(path), shown(message))]
    Incomplete {
        method: String,
        path: String,
        message: String,
    },
}

impl ApiError {
    /// What went wrong, without the request it went wrong for: for lines that name the request
    /// already.
    pub fn reason(&self) -> String {
        let (method, path) = match self {
            ApiError::Business { method, path, .. }
            | ApiError::BadRequest { method, path, .. }
            | ApiError::Unauthorized { method, path, .. }
            | ApiError::Status { method, path, .. }
            | ApiError::Timeout { method, path, .. }
            | ApiError::Transport { method, path, .. }
            | ApiError::Decode { method, path, .. }
            | ApiError::Incomplete { method, path, .. } => (method, path),
        };
        let text = self.to_string();
        match text.strip_prefix(&format!("{method} {}: ", shown(path))) {
            Some(reason) => reason.to_owned(),
            None => text,
        }
    }

    /// The HTTP status, where the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Business { .. } => Some(409),
            ApiError::BadRequest { .. } => Some(400),
            ApiError::Unauthorized { status, .. } | ApiError::Status { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// SLASCONE's business error id of a 409.
    pub fn business_id(&self) -> Option<i64> {
        match self {
            ApiError::Business { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// True when the outcome of a write is unknown: it may or may not have been applied.
    /// (A timeout, a connection dropped after sending, or a server error.)
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ApiError::Timeout { .. } => true,
            ApiError::Transport { before_sending, .. } => !before_sending,
            ApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
