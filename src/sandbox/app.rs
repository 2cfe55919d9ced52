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
    pub(crate) log: Mutex<RequestLog>,
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

/// The most requests the log holds; older ones are dropped first.
pub(crate) const LOG_MAX_REQUESTS: usize = 100_000;
/// The most bytes the log's entries take, their text and their own size; older entries are
/// dropped first. A request's path and query are kept to [`LOG_MAX_TEXT`] bytes each, so one
/// entry is a small share of it.
pub(crate) const LOG_MAX_BYTES: usize = 16 * 1024 * 1024;
/// The longest path or query logged; a longer one is cut at a character boundary and ends in
/// `…`.
pub(crate) const LOG_MAX_TEXT: usize = 1024;

/// The requests answered, newest last: a window of at most [`LOG_MAX_REQUESTS`] entries and
/// [`LOG_MAX_BYTES`]. Every API request is logged, unauthenticated ones too, so what anyone who
/// reaches the port sends must not grow it without bound.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: std::collections::VecDeque<LogEntry>,
    bytes: usize,
}

impl RequestLog {
    pub(crate) fn push(&mut self, mut entry: LogEntry) {
        entry.path = cut(entry.path);
        entry.query = entry.query.map(cut);
        let bytes = entry.bytes();
        while !self.entries.is_empty()
            && (self.entries.len() >= LOG_MAX_REQUESTS || self.bytes + bytes > LOG_MAX_BYTES)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.bytes();
            }
        }
        self.bytes += bytes;
        self.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<LogEntry> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries = std::collections::VecDeque::new();
        self.bytes = 0;
    }

    /// What the entries take: their text and their own size.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// `text` within [`LOG_MAX_TEXT`] bytes, in an allocation of its own size.
fn cut(text: String) -> String {
    if text.len() <= LOG_MAX_TEXT {
        return text;
    }
    let mut end = LOG_MAX_TEXT - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut kept = String::with_capacity(end + '…'.len_utf8());
    kept.push_str(&text[..end]);
    kept.push('…');
    kept
}

impl LogEntry {
    fn bytes(&self) -> usize {
        std::mem::size_of::<LogEntry>()
            + self.method.capacity()
            + self.path.capacity()
            + self.query.as_ref().map_or(0, String::capacity)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: String, query: Option<String>) -> LogEntry {
        LogEntry {
            method: "GET".to_owned(),
            path,
            query,
            status: 401,
            dropped: false,
            concurrent: 1,
        }
    }

    #[test]
    fn the_request_log_keeps_a_bounded_window_of_the_newest() {
        let mut log = RequestLog::default();
        for n in 0..LOG_MAX_REQUESTS + 10 {
            log.push(entry(format!("/{n}"), None));
        }
        assert_eq!(log.len(), LOG_MAX_REQUESTS);
        assert_eq!(log.entries()[0].path, "/10");
        assert_eq!(
            log.entries().last().unwrap().path,
            format!("/{}", LOG_MAX_REQUESTS + 9)
        );

        // Long paths and queries are cut, and their entries stay within the bytes.
        let mut log = RequestLog::default();
        let long = "é".repeat(1_000);
        for _ in 0..20_000 {
            log.push(entry(long.clone(), Some(long.clone())));
            assert!(log.bytes() <= LOG_MAX_BYTES, "{}", log.bytes());
        }
        let newest = log.entries().pop().unwrap();
        assert!(newest.path.len() <= LOG_MAX_TEXT && newest.path.ends_with('…'));
        assert!(newest.query.unwrap().len() <= LOG_MAX_TEXT);
        assert!(log.len() < 20_000 && log.len() > 1_000, "{}", log.len());
        log.clear();
        assert_eq!((log.len(), log.bytes()), (0, 0));
    }
}
