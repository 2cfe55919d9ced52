//! What every part of the sandbox shares: the state its handlers read and write, the request log
//! and rate-limit window, and the wait for a write to be durable. The server routes to the
//! endpoints; the endpoints and the rules see only this.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use super::catalog::Catalog;
use super::journal::Journal;
use super::problem::problem;
use super::store::Store;
use super::{EventSink, PatchSemantics};

/// Everything the handlers share.
pub(crate) struct App {
    pub(crate) isv_id: Uuid,
    pub(crate) admin_key: String,
    pub(crate) catalog: Catalog,
    pub(crate) store: tokio::sync::Mutex<Store>,
    /// The state file, with `--state`.
    pub(crate) journal: Option<Journal>,
    pub(crate) patch_semantics: PatchSemantics,
    pub(crate) events: EventSink,
    /// How the license listings page.
    pub(crate) paging: super::Paging,
    /// How a license's assignments page.
    pub(crate) assignment_paging: super::Paging,
    pub(crate) empty_listing: super::EmptyAnswer,
    pub(crate) write_answer: super::EmptyAnswer,
    pub(crate) latency: Duration,
    pub(crate) fail_rate: f64,
    pub(crate) rate_limit: u32,
    pub(crate) drop_after_commit: f64,
    pub(crate) log: Mutex<Vec<LogEntry>>,
    /// Start of the current one-second rate-limit window and the requests seen in it.
    pub(crate) window: Mutex<(Instant, u32)>,
    /// API requests being answered right now.
    pub(crate) in_flight: AtomicUsize,
}

/// One line of `GET /_sandbox/requests`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LogEntry {
    pub(crate) method: String,
    pub(crate) path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) query: Option<String>,
    pub(crate) status: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) dropped: bool,
    /// Requests in flight when this one arrived, itself included: shows a client's concurrency.
    pub(crate) concurrent: usize,
}

impl App {
    pub(crate) fn rate_limited(&self) -> Option<Response> {
        if self.rate_limit == 0 {
            return None;
        }
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        window.1 = window.1.saturating_add(1);
        if window.1 <= self.rate_limit {
            return None;
        }
        let mut response = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            Some(format!(
                "the sandbox allows {} requests per second",
                self.rate_limit
            )),
        );
        // The window is one second long, so waiting one second always suffices.
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        Some(response)
    }

    pub(crate) fn record(&self, entry: LogEntry) {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }
}

/// Returns once the journal holds the staged line `ticket` (nothing to wait for without a state
/// file). Called after the store lock is released, so writes that arrive meanwhile share the
/// next append and fsync.
pub(crate) async fn persist(
    app: &Arc<App>,
    ticket: Option<u64>,
) -> Result<(), super::problem::ApiError> {
    let Some(seq) = ticket else {
        return Ok(());
    };
    // A task of its own, so a client that hangs up cannot cancel a write halfway.
    let task_app = app.clone();
    let writing = tokio::spawn(async move {
        match &task_app.journal {
            Some(journal) => journal.flush(&task_app.store, seq).await,
            None => Ok(()),
        }
    });
    match writing.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            (app.events)(&format!("{err:#}"));
            Err(super::problem::ApiError::Internal(
                "the sandbox could not persist its state".to_owned(),
            ))
        }
        Err(err) => Err(super::problem::ApiError::Internal(format!(
            "the write task failed: {err}"
        ))),
    }
}
