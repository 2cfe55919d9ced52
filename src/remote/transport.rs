//! Sending a request: headers, the in-flight limit, retries with backoff that honour
//! `Retry-After` and rate limits, deadlines, bounded answers, and the mapping of statuses to
//! [`ApiError`]s. Requests that are safe to repeat (GET, the listing POSTs, PATCH) are retried on
//! 429, 500, 502, 503, 504 and transport errors. A creating POST is retried only where it
//! provably was not processed (429, or a connection that never reached the server); after any
//! other failure its outcome is ambiguous and the caller must look the object up first.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::client::{Client, Repeat};
use super::error::ApiError;
use super::wire::{ErrorResultObjects, ProblemDetails};

/// The value sent as `LastModifiedBy`, so SLASCONE's audit log shows which tool made a change.
pub const LAST_MODIFIED_BY: &str = "slascone-sync";

impl Client {
    /// Sends one request, retrying where that is safe.
    pub(super) async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        endpoint: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
        repeat: Repeat,
    ) -> Result<Answer, ApiError> {
        let path = self.path(endpoint);
        let body = match body {
            Some(body) => Some(serde_json::to_vec(body).map_err(|err| ApiError::Decode {
                method: method.to_string(),
                path: path.clone(),
                message: format!("cannot encode the request body: {err}"),
            })?),
            None => None,
        };
        let policy = &self.inner.config.retry;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter();
        let max_retry_after = policy.max_retry_after;
        let text = format!("{}{endpoint}", self.inner.api_base);
        let url = if query.is_empty() {
            Url::parse(&text)
        } else {
            Url::parse_with_params(&text, query)
        };
        let url = url.map_err(|err| ApiError::Decode {
            method: method.to_string(),
            path: path.clone(),
            message: format!("cannot build the request URL: {err}"),
        })?;
        let deadline = Instant::now() + self.inner.config.total_timeout;
        let attempt = || self.attempt(&method, &url, &path, body.as_deref(), repeat, deadline);
        let max_unreachable_retries = policy.max_unreachable_retries;
        let mut unreachable = 0;
        let mut attempts = 1;
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|failure: &Failure| failure.retryable && Instant::now() < deadline)
            .adjust(move |failure: &Failure, delay| {
                if failure.unreachable {
                    unreachable += 1;
                    if unreachable > max_unreachable_retries {
                        return None;
                    }
                }
                // Retry-After replaces the backoff delay; with retries exhausted, stop anyway.
                // No wait outlasts the deadline: the attempt after it reports the timeout.
                delay.map(|delay| {
                    let delay = match failure.retry_after {
                        Some(after) => after.min(max_retry_after),
                        None => delay,
                    };
                    delay.min(deadline.saturating_duration_since(Instant::now()))
                })
            })
            .notify(|failure: &Failure, wait| {
                attempts += 1;
                if let Some(log) = &self.inner.config.retry_log {
                    let retries = if failure.unreachable {
                        max_unreachable_retries
                    } else {
                        policy.max_retries
                    };
                    (log.0)(&format!(
                        "{}; attempt {attempts} of {} in {:.1}s",
                        failure.error,
                        retries + 1,
                        wait.as_secs_f64()
                    ));
                }
            })
            .await
            .map_err(|failure| failure.error)
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        path: &str,
        body: Option<&[u8]>,
        repeat: Repeat,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let config = &self.inner.config;
        self.wait_for_rate_limit(deadline).await;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::fatal(ApiError::Timeout {
                method: method.to_string(),
                path: path.to_string(),
                timeout: config.total_timeout,
            }));
        }
        // Waiting for a turn counts against the call's time, like any other wait.
        let Ok(Ok(_permit)) = tokio::time::timeout(remaining, self.inner.in_flight.acquire()).await
        else {
            return Err(Failure::fatal(ApiError::Timeout {
                method: method.to_string(),
                path: path.to_string(),
                timeout: config.total_timeout,
            }));
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        // The last attempt gets only what is left of the call's time.
        let timeout = config.request_timeout.min(remaining);
        let mut request = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header("AdminKey", config.admin_key.expose())
            .header("LastModifiedBy", LAST_MODIFIED_BY)
            .header("Accept", "application/json")
            .timeout(timeout);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_vec());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = request.send().await;
        let method_name = method.to_string();
        let response = match result {
            Ok(response) => response,
            Err(err) => {
                let failure = self.transport_failure(&method_name, path, &err, repeat, timeout);
                if let Some(log) = &config.log {
                    (log.0)(&format!(
                        "{method_name} {path} -> {} ({:.0?})",
                        failure.error.reason(),
                        started.elapsed()
                    ));
                }
                return Err(failure);
            }
        };
        let status = response.status();
        let retry_after = parse_retry_after(response.headers().get("retry-after"));
        let bytes = read_body(
            response,
            config.max_body_bytes,
            &self.inner.body_budget,
            deadline,
        )
        .await;
        if let Some(log) = &config.log {
            (log.0)(&format!(
                "{method_name} {path} -> {} ({:.0?})",
                status.as_u16(),
                started.elapsed()
            ));
        }
        let (bytes, budget) = match bytes {
            // Redacted before anything reads it: errors quote answers, plans keep their values.
            Ok((bytes, budget)) => (config.admin_key.redact(bytes), budget),
            Err(BodyError::TooLarge) => {
                return Err(Failure::fatal(ApiError::Decode {
                    method: method_name,
                    path: path.to_string(),
                    message: format!("the answer is larger than {} bytes", config.max_body_bytes),
                }));
            }
            Err(BodyError::OverBudget) => {
                return Err(Failure::fatal(ApiError::Decode {
                    method: method_name,
                    path: path.to_string(),
                    message: format!(
                        "the answers read at once needed more than {} bytes together until the call's time ran out",
                        config.max_body_bytes
                    ),
                }));
            }
            Err(BodyError::Transport(err)) => {
                return Err(self.transport_failure(&method_name, path, &err, repeat, timeout));
            }
        };
        if status.is_success() {
            return Ok(Answer {
                method: method_name,
                path: path.to_string(),
                status,
                body: bytes,
                _budget: budget,
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let pause = retry_after
                .unwrap_or(Duration::from_secs(1))
                .min(config.retry.max_retry_after);
            self.pause_until(Instant::now() + pause);
        }
        let error = status_error(&method_name, path, status, &bytes);
        let retryable = match status.as_u16() {
            // A rate-limited request was not processed, so even a create may be sent again.
            429 => true,
            500 | 502 | 503 | 504 => repeat == Repeat::Safe,
            _ => false,
        };
        Err(Failure {
            error,
            retryable,
            retry_after,
            unreachable: false,
        })
    }

    async fn wait_for_rate_limit(&self, deadline: Instant) {
        let not_before = *self
            .inner
            .not_before
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(instant) = not_before {
            tokio::time::sleep_until(instant.min(deadline).into()).await;
        }
    }

    fn pause_until(&self, instant: Instant) {
        let mut not_before = self
            .inner
            .not_before
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if not_before.is_none_or(|current| current < instant) {
            *not_before = Some(instant);
        }
    }

    fn transport_failure(
        &self,
        method: &str,
        path: &str,
        err: &reqwest::Error,
        repeat: Repeat,
        timeout: Duration,
    ) -> Failure {
        let before_sending = err.is_connect();
        let error = if err.is_timeout() {
            // An attempt cut short by the call's deadline ran out of the call's time.
            let config = &self.inner.config;
            let timeout = if timeout < config.request_timeout {
                config.total_timeout
            } else {
                timeout
            };
            ApiError::Timeout {
                method: method.to_string(),
                path: path.to_string(),
                timeout,
            }
        } else {
            ApiError::Transport {
                method: method.to_string(),
                path: path.to_string(),
                message: transport_message(err),
                before_sending,
            }
        };
        Failure {
            error,
            retryable: repeat == Repeat::Safe || before_sending,
            retry_after: None,
            unreachable: before_sending && !err.is_timeout(),
        }
    }
}

/// A successful answer, not yet decoded.
#[derive(Debug)]
pub(super) struct Answer {
    method: String,
    path: String,
    status: StatusCode,
    body: Vec<u8>,
    /// The body's share of the memory budget, given back when the answer is decoded.
    _budget: Option<OwnedSemaphorePermit>,
}

impl Answer {
    /// True for `204 No Content` and for a success whose body is empty (or only whitespace):
    /// SLASCONE's clients document 204 for empty listings and for customer writes.
    pub(super) fn is_empty(&self) -> bool {
        self.status == StatusCode::NO_CONTENT || self.body.iter().all(u8::is_ascii_whitespace)
    }

    pub(super) fn json<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        // Checking the whole body for UTF-8 once is much cheaper than serde_json checking each
        // string on its own (a sixth of decoding a license page); a body that is not UTF-8
        // goes through `from_slice`, which says where.
        let decoded = match std::str::from_utf8(&self.body) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(&self.body),
        };
        decoded.map_err(|err| ApiError::Decode {
            method: self.method,
            path: self.path,
            message: format!("{err}"),
        })
    }

    /// A listing: an answer without a body is an empty list.
    pub(super) fn list<T: DeserializeOwned>(self) -> Result<Vec<T>, ApiError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        self.json()
    }

    /// An object whose absence means "nothing there" (e.g. a product without details).
    pub(super) fn object_or_default<T: DeserializeOwned + Default>(self) -> Result<T, ApiError> {
        if self.is_empty() {
            return Ok(T::default());
        }
        self.json()
    }

    /// The object a write answered with; `None` when it answered without a body, in which case
    /// the write was applied and the object has to be read back.
    pub(super) fn written<T: DeserializeOwned>(self) -> Result<Option<T>, ApiError> {
        if self.is_empty() {
            return Ok(None);
        }
        self.json().map(Some)
    }
}

/// One failed attempt and whether another may follow.
#[derive(Debug)]
struct Failure {
    error: ApiError,
    retryable: bool,
    retry_after: Option<Duration>,
    /// The connection could not be made at all (refused, or the name did not resolve): a
    /// wrong address more often than a passing fault, so retried only a little.
    unreachable: bool,
}

impl Failure {
    fn fatal(error: ApiError) -> Failure {
        Failure {
            error,
            retryable: false,
            retry_after: None,
            unreachable: false,
        }
    }
}

enum BodyError {
    TooLarge,
    /// The shared budget stayed taken by other answers until the deadline.
    OverBudget,
    Transport(reqwest::Error),
}

/// Reads an answer, refusing one over `limit` bytes without holding more than that in memory,
/// and taking its bytes from `budget`, which all answers in flight share (waiting, at most until
/// `deadline`, while others hold it).
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    budget: &Arc<Semaphore>,
    deadline: Instant,
) -> Result<(Vec<u8>, Option<OwnedSemaphorePermit>), BodyError> {
    let announced = response.content_length();
    if announced.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    // Sized by the announced length (within the limit): a large listing grown chunk by chunk
    // was copied over and over. Memory is taken from the budget as bytes arrive, not here.
    let mut body = Vec::with_capacity(announced.map_or(0, |len| len as usize));
    let mut held: Option<OwnedSemaphorePermit> = None;
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        let bytes = u32::try_from(chunk.len()).map_err(|_| BodyError::TooLarge)?;
        let permit = tokio::time::timeout_at(
            deadline.into(),
            Arc::clone(budget).acquire_many_owned(bytes),
        )
        .await
        .map_err(|_| BodyError::OverBudget)?
        .map_err(|_| BodyError::OverBudget)?;
        match &mut held {
            Some(held) => held.merge(permit),
            None => held = Some(permit),
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, held))
}

pub(super) fn status_error(method: &str, path: &str, status: StatusCode, body: &[u8]) -> ApiError {
    let method = method.to_string();
    let path = path.to_string();
    match status.as_u16() {
        401 | 403 => ApiError::Unauthorized {
            method,
            path,
            status: status.as_u16(),
            detail: serde_json::from_slice::<ProblemDetails>(body)
                .ok()
                .and_then(|problem| problem.detail)
                .map(|text| excerpt(text.as_bytes())),
        },
        409 => match serde_json::from_slice::<ErrorResultObjects>(body) {
            Ok(error) => ApiError::Business {
                method,
                path,
                id: error.id,
                message: error.message.unwrap_or_default(),
            },
            Err(_) => ApiError::Status {
                method,
                path,
                status: 409,
                body: excerpt(body),
            },
        },
        400 => match serde_json::from_slice::<ProblemDetails>(body) {
            Ok(problem) if problem.title.is_some() || problem.detail.is_some() => {
                ApiError::BadRequest {
                    method,
                    path,
                    title: problem.title.unwrap_or_else(|| "Bad Request".into()),
                    detail: problem.detail,
                }
            }
            _ => ApiError::Status {
                method,
                path,
                status: 400,
                body: excerpt(body),
            },
        },
        code => ApiError::Status {
            method,
            path,
            status: code,
            body: excerpt(body),
        },
    }
}

/// The start of an error body, for messages: enough to recognise it, never a whole page.
fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and falls back to backoff).
fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let seconds: f64 = value?.to_str().ok()?.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Where the connection went and why it failed, without reqwest's restatement of the URL (the
/// error names the request already) or hyper's "client error (Connect)" wrapper:
/// `127.0.0.1:9: tcp connect error: Connection refused (os error 111)`.
fn transport_message(err: &reqwest::Error) -> String {
    use std::error::Error;
    let mut causes = Vec::new();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.starts_with("client error (") && !causes.iter().any(|c: &String| c.contains(&text))
        {
            causes.push(text);
        }
        source = cause.source();
    }
    let reason = if causes.is_empty() {
        err.to_string()
    } else {
        causes.join(": ")
    };
    match err
        .url()
        .and_then(|url| Some((url.host_str()?.to_owned(), url.port_or_known_default()?)))
    {
        Some((host, port)) => format!("{host}:{port}: {reason}"),
        None => reason,
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::remote::{AdminKey, ClientConfig};

    fn config(url: &str) -> ClientConfig {
        ClientConfig::new(url, Uuid::nil(), AdminKey::new("k-123-secret"))
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(Client::new(config("https://api365.slascone.com")).is_ok());
        assert!(Client::new(config("http://127.0.0.1:8080")).is_ok());
        assert!(Client::new(config("http://[::1]:8080")).is_ok());
        assert!(Client::new(config("http://localhost:8080")).is_ok());
        let err = Client::new(config("http://api365.slascone.com")).unwrap_err();
        assert!(err.contains("only https is allowed"), "{err}");
        let err = Client::new(config("ftp://example.com")).unwrap_err();
        assert!(err.contains("unsupported scheme"), "{err}");
    }

    #[test]
    fn the_admin_key_is_never_shown() {
        let client = Client::new(config("https://api365.slascone.com")).unwrap();
        let shown = format!(
            "{client:?} {:?} {}",
            config("x").admin_key,
            config("x").admin_key
        );
        assert!(!shown.contains("k-123-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    fn answer(body: &[u8]) -> Answer {
        Answer {
            method: "POST".into(),
            path: "/api/v2/isv/x/licenses/filtered/detailed".into(),
            status: StatusCode::OK,
            body: body.to_vec(),
            _budget: None,
        }
    }

    #[test]
    fn a_body_that_is_not_utf8_is_an_error_that_says_where() {
        let decoded: Vec<String> = answer(b"[\"a\", \"b\"]").json().unwrap();
        assert_eq!(decoded, ["a", "b"]);
        let err = answer(b"[\"a\",\n \"b\xff\"]")
            .json::<Vec<String>>()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("POST /api/v2/isv/x/licenses/filtered/detailed: ")
                && err.contains("line 2 column"),
            "{err}"
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let value = reqwest::header::HeaderValue::from_static("2");
        assert_eq!(
            parse_retry_after(Some(&value)),
            Some(Duration::from_secs(2))
        );
        let value = reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&value)), None);
    }

    #[test]
    fn error_bodies_are_shortened() {
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), 201);
    }
}
