//! The agent's HTTP endpoints: health, readiness, metrics, status, the status page, and the
//! triggers (a manual one and the GitHub and GitLab push webhooks), each checked against its
//! secret in constant time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::body::{self, BODY_TIMEOUT, MAX_BODY};
use super::status::Rejection;
use super::{Secret, Shared, duration};

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/reconcile", post(reconcile))
        .route("/hooks/github", post(github))
        .route("/hooks/gitlab", post(gitlab))
        .with_state(shared)
        .layer(axum::middleware::map_response(secured))
}

/// Every answer, the page's above all: nothing it holds runs, loads, frames it or is read as
/// another type than it says, even a value that slipped through escaping.
async fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.alive.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the reconcile loop has stopped\n",
        )
            .into_response()
    }
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let status = shared.status();
    if status.ready(shared.unready_after) {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let why = if status.succeeded_once {
        format!(
            "not ready: {} reconciles failed in a row\n",
            status.failures_in_a_row
        )
    } else {
        "not ready: no reconcile has succeeded yet\n".to_owned()
    };
    (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let text = shared.status().metrics(&shared.redactor);
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let mut json = shared.status().to_json();
    shared.redactor.value(&mut json);
    let mut response = crate::text::json_line(&json).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn page(State(shared): State<Arc<Shared>>) -> Response {
    let html = super::page::render(&shared.status(), shared.unready_after, &shared.redactor);
    let mut response = html.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// `POST /reconcile` with `Authorization: Bearer <token>`.
async fn reconcile(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    const ENDPOINT: &str = "/reconcile";
    let Some(token) = &shared.api_token else {
        return not_configured("--api-token-env");
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return shared.reject(ENDPOINT, Rejection::Missing, peer);
    };
    if !same(given.trim().as_bytes(), token.expose().as_bytes()) {
        return shared.reject(ENDPOINT, Rejection::Mismatch, peer);
    }
    shared.trigger("api");
    accepted()
}

/// `POST /hooks/github`: `X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of the body.
/// A request without one is refused before its body is read; a body is read within the limits
/// of `body`, since only the whole of it tells whether the signature is right.
async fn github(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    const ENDPOINT: &str = "/hooks/github";
    let Some(secret) = &shared.webhook_secret else {
        return not_configured("--webhook-secret-env");
    };
    let Some(signature) = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(hex)
        .filter(|signature| signature.len() == Sha256::output_size())
    else {
        return shared.reject(ENDPOINT, Rejection::Missing, peer);
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = match body::read(body, announced, &shared.budget, MAX_BODY, BODY_TIMEOUT).await {
        Ok(body) => body,
        Err(rejection) => return shared.reject(ENDPOINT, rejection, peer),
    };
    if !signed(secret, &body, &signature) {
        return shared.reject(ENDPOINT, Rejection::Mismatch, peer);
    }
    // GitHub's first delivery to a new hook is a ping; it asks for no reconcile.
    if headers.get("x-github-event").and_then(|v| v.to_str().ok()) == Some("ping") {
        return (StatusCode::OK, "pong\n").into_response();
    }
    shared.trigger("github");
    accepted()
}

/// `POST /hooks/gitlab`: `X-Gitlab-Token` is the secret itself.
async fn gitlab(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    const ENDPOINT: &str = "/hooks/gitlab";
    let Some(secret) = &shared.webhook_secret else {
        return not_configured("--webhook-secret-env");
    };
    let Some(given) = headers.get("x-gitlab-token") else {
        return shared.reject(ENDPOINT, Rejection::Missing, peer);
    };
    if !same(given.as_bytes(), secret.expose().as_bytes()) {
        return shared.reject(ENDPOINT, Rejection::Mismatch, peer);
    }
    shared.trigger("gitlab");
    accepted()
}

/// The answer to a refused trigger request.
pub(super) fn refused(endpoint: &str, rejection: Rejection) -> Response {
    let (header, expected) = match endpoint {
        "/reconcile" => ("Authorization: Bearer <token>", "--api-token-env's value"),
        "/hooks/github" => (
            "X-Hub-Signature-256: sha256=<hex>",
            "the body's signature with the secret",
        ),
        _ => ("X-Gitlab-Token", "the secret"),
    };
    let (status, why) = match rejection {
        Rejection::Missing => (StatusCode::UNAUTHORIZED, format!("{header} is missing")),
        Rejection::Mismatch => (
            StatusCode::UNAUTHORIZED,
            format!("{header} is not {expected}"),
        ),
        Rejection::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} MiB", MAX_BODY >> 20),
        ),
        Rejection::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many bodies are being received; try again".to_owned(),
        ),
        Rejection::Timeout => (
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {}",
                duration::show(BODY_TIMEOUT)
            ),
        ),
        Rejection::Incomplete => (StatusCode::BAD_REQUEST, "the body broke off".to_owned()),
    };
    let mut response = (status, format!("{why}\n")).into_response();
    if rejection == Rejection::Busy {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, "reconcile requested\n").into_response()
}

/// An endpoint whose secret was not given answers as if it did not exist.
fn not_configured(flag: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("not enabled: start the agent with {flag}\n"),
    )
        .into_response()
}

/// Whether `signature` is the HMAC-SHA256 of `body` with `secret`, compared in constant time.
fn signed(secret: &Secret, body: &[u8], signature: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(signature).is_ok()
}

/// Equality in time that depends on neither where the texts differ nor their lengths: their
/// digests are compared, every byte of them.
fn same(given: &[u8], expected: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Lower- or upper-case hex digits as bytes.
fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_github_signature_is_checked_against_the_body() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        let secret = Secret::new("It's a Secret to Everybody");
        let signature =
            hex("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17").unwrap();
        assert!(signed(&secret, b"Hello, World!", &signature));
        assert!(!signed(&secret, b"Hello, World?", &signature));
        assert!(!signed(
            &Secret::new("another"),
            b"Hello, World!",
            &signature
        ));
        assert!(!signed(&secret, b"Hello, World!", &signature[..31]));
    }

    #[test]
    fn tokens_compare_equal_only_when_equal() {
        assert!(same(b"token", b"token"));
        assert!(!same(b"token", b"tokeN"));
        assert!(!same(b"token", b"token2"));
        assert!(!same(b"", b"token"));
    }

    #[test]
    fn hex_reads_pairs_of_digits() {
        assert_eq!(hex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(hex("0"), None);
        assert_eq!(hex("zz"), None);
        assert_eq!(hex("é0"), None);
    }
}
