//! One bounded fan-out for every place that sends many requests at once: reading the catalog,
//! the licenses and the contacts, usage reads, a saved plan's recheck, and apply; and
//! [`on_cores`], its counterpart for work on files (loading the manifests, ingest's rewrites).
//!
//! Each input becomes a task on the runtime, at most `limit` running at a time; results come back
//! in input order, whatever order the tasks finish in, so what a caller builds from them is
//! deterministic. A task that panics panics the caller, as if it had run inline.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Runs `work` on every item on all cores, and returns every result in item order. Workers take
/// the next item as they finish one, so a few big items do not leave a core idle. A panic in
/// `work` panics the caller.
pub fn on_cores<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(index) else {
                            return done;
                        };
                        done.push((index, work(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Runs `task` on every input, at most `limit` at once (at least one), and returns every result
/// in input order.
pub async fn all<I, F, Fut>(inputs: I, limit: usize, task: F) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let infallible = |input| {
        let future = task(input);
        async move { Ok::<_, std::convert::Infallible>(future.await) }
    };
    match try_all(inputs, limit, infallible).await {
        Ok(results) => results,
        Err(never) => match never {},
    }
}

/// Like [`all`] for tasks that can fail: the first error (in finishing order) is returned, and the
/// tasks still queued or running are cancelled, since their results would be thrown away.
pub async fn try_all<I, F, Fut, T, E>(inputs: I, limit: usize, task: F) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let semaphore = Arc::new(Semaphore::new(limit.max(1)));
    let mut tasks = JoinSet::new();
    for (index, input) in inputs.into_iter().enumerate() {
        let semaphore = Arc::clone(&semaphore);
        let future = task(input);
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            future.await.map(|value| (index, value))
        });
    }
    let mut results = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        // Returning drops the set, which aborts the rest.
        results.push(unwind(joined)?);
    }
    results.sort_unstable_by_key(|(index, _)| *index);
    Ok(results.into_iter().map(|(_, value)| value).collect())
}

fn unwind<T>(joined: Result<T, tokio::task::JoinError>) -> T {
    match joined {
        Ok(value) => value,
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn results_keep_input_order_and_the_limit_holds() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let out = all(0..20u64, 3, |i| {
            let running = Arc::clone(&running);
            let most = Arc::clone(&most);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later inputs finish first.
                tokio::time::sleep(Duration::from_millis(20 - i)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_first_error_stops_the_rest() {
        let started = Arc::new(AtomicUsize::new(0));
        let result: Result<Vec<u32>, String> = try_all(0..100u32, 1, |i| {
            let started = Arc::clone(&started);
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                if i == 2 {
                    Err(format!("failed at {i}"))
                } else {
                    Ok(i)
                }
            }
        })
        .await;
        assert_eq!(result, Err("failed at 2".to_owned()));
        assert!(started.load(Ordering::SeqCst) < 100);
        let ok: Result<Vec<u32>, String> = try_all(0..5u32, 2, |i| async move { Ok(i) }).await;
        assert_eq!(ok, Ok(vec![0, 1, 2, 3, 4]));
    }

    #[tokio::test]
    #[should_panic(expected = "boom")]
    async fn a_panic_reaches_the_caller() {
        all([1], 1, |_| async { panic!("boom") }).await;
    }
}
