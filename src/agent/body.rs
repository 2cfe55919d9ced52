//! Request bodies, read within limits. A webhook's signature can only be checked once its whole
//! body is in, so anyone may make the agent hold a body; the per-request limit and the deadline
//! bound one body, and one budget shared by every connection bounds them all.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};

use super::status::Rejection;

/// The largest body read: GitHub sends webhook payloads of up to 25 MB.
pub const MAX_BODY: usize = 25 * 1024 * 1024;

/// What all bodies in flight may hold together: two of the largest at once, and well within the
/// memory a reconcile leaves free under the example's 512 MiB limit.
pub const BODY_BUDGET: usize = 64 * 1024 * 1024;

/// How long a body may take to arrive once its headers are in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(20);

/// Bytes that bodies in flight may hold, shared by every connection.
pub(super) struct Budget {
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    pub(super) fn new(limit: usize) -> Budget {
        Budget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget, or nothing when that would overspend it.
    fn reserve(&self, bytes: usize) -> Option<Reservation<'_>> {
        let mut reservation = Reservation {
            budget: self,
            bytes: 0,
        };
        reservation.grow_to(bytes).then_some(reservation)
    }

    #[cfg(test)]
    fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }
}

/// Bytes taken from a budget, given back when dropped.
struct Reservation<'a> {
    budget: &'a Budget,
    bytes: usize,
}

impl Reservation<'_> {
    /// Holds `bytes` in all, if the budget has what that adds.
    fn grow_to(&mut self, bytes: usize) -> bool {
        let more = bytes.saturating_sub(self.bytes);
        let taken = self
            .budget
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(more)
                    .filter(|total| *total <= self.budget.limit)
            });
        if taken.is_ok() {
            self.bytes += more;
        }
        taken.is_ok()
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// Reads a whole body of at most `max` bytes within `deadline`. The announced length is taken
/// from the budget before a byte is read; a body without one (chunked) takes what its buffer
/// grows to as it arrives.
pub(super) async fn read(
    body: Body,
    announced: Option<u64>,
    budget: &Budget,
    max: usize,
    deadline: Duration,
) -> Result<Bytes, Rejection> {
    let announced = match announced.map(usize::try_from) {
        Some(Ok(length)) if length <= max => length,
        Some(_) => return Err(Rejection::TooLarge),
        None => 0,
    };
    let mut reservation = budget.reserve(announced).ok_or(Rejection::Busy)?;
    let mut data = Vec::with_capacity(announced);
    let filled = tokio::time::timeout(deadline, async {
        let mut body = body;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let Ok(chunk) = frame.map_err(|_| Rejection::Incomplete)?.into_data() else {
                continue;
            };
            let needed = data.len() + chunk.len();
            if needed > max {
                return Err(Rejection::TooLarge);
            }
            if needed > data.capacity() {
                // Doubling keeps a chunked body's copies few; the budget holds what the buffer
                // holds, not what has arrived.
                let capacity = needed.max(data.capacity() * 2).min(max);
                if !reservation.grow_to(capacity) {
                    return Err(Rejection::Busy);
                }
                data.reserve_exact(capacity - data.len());
            }
            data.extend_from_slice(&chunk);
        }
        Ok(())
    })
    .await;
    filled.map_err(|_| Rejection::Timeout)??;
    Ok(Bytes::from(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_give_it_back() {
        let budget = Budget::new(100);
        let first = budget.reserve(60).expect("within the budget");
        assert!(budget.reserve(41).is_none());
        let mut second = budget.reserve(40).expect("what is left");
        assert!(!second.grow_to(41));
        assert_eq!(budget.used(), 100);
        drop(first);
        assert!(second.grow_to(100));
        drop(second);
        assert_eq!(budget.used(), 0);
    }

    /// A body that arrives in `chunks`, without a length: as a chunked request's does.
    fn chunked(chunks: &[usize]) -> Body {
        struct Chunks(Vec<usize>);
        impl HttpBody for Chunks {
            type Data = Bytes;
            type Error = std::convert::Infallible;
            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
                let next = (!self.0.is_empty()).then(|| self.0.remove(0));
                std::task::Poll::Ready(
                    next.map(|n| Ok(http_body::Frame::data(Bytes::from(vec![b'x'; n])))),
                )
            }
        }
        Body::new(Chunks(chunks.to_vec()))
    }

    #[tokio::test]
    async fn a_chunked_body_takes_from_the_budget_as_it_grows() {
        let budget = Budget::new(1000);
        let body = read(chunked(&[300, 300]), None, &budget, 1000, BODY_TIMEOUT).await;
        assert_eq!(body.map(|b| b.len()), Ok(600));
        assert_eq!(budget.used(), 0, "given back once read");

        let body = read(chunked(&[600, 600]), None, &budget, 1000, BODY_TIMEOUT).await;
        assert_eq!(body, Err(Rejection::TooLarge));

        let small = Budget::new(500);
        let body = read(chunked(&[300, 300]), None, &small, 1000, BODY_TIMEOUT).await;
        assert_eq!(body, Err(Rejection::Busy));
        assert_eq!(small.used(), 0);
    }

    #[tokio::test]
    async fn an_announced_length_is_refused_or_reserved_before_reading() {
        let budget = Budget::new(1000);
        let held = budget.reserve(900).unwrap();
        let body = read(Body::from("x"), Some(200), &budget, 1000, BODY_TIMEOUT).await;
        assert_eq!(body, Err(Rejection::Busy));
        drop(held);
        let body = read(Body::from("x"), Some(2000), &budget, 1000, BODY_TIMEOUT).await;
        assert_eq!(body, Err(Rejection::TooLarge));
        let body = read(Body::from("xy"), Some(2), &budget, 1000, BODY_TIMEOUT).await;
        assert_eq!(body, Ok(Bytes::from("xy")));
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_is_given_up() {
        struct Stalled;
        impl HttpBody for Stalled {
            type Data = Bytes;
            type Error = std::convert::Infallible;
            fn poll_frame(
                self: Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
                std::task::Poll::Pending
            }
        }
        let budget = Budget::new(1000);
        let deadline = Duration::from_millis(50);
        let body = read(Body::new(Stalled), Some(10), &budget, 1000, deadline).await;
        assert_eq!(body, Err(Rejection::Timeout));
        assert_eq!(budget.used(), 0);
    }
}
