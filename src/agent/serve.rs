//! The agent's HTTP server: HTTP/1.1 only, a bounded number of connections, and none kept
//! longer than it is used. Its endpoints need no credentials to connect to, so whatever a client
//! can hold open (a descriptor, a buffer, a task) has a limit and a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower_service::Service;

use super::Shared;

/// Connections served at once; one more is answered 503 and closed. Far below the usual limit
/// of 1,024 descriptors, which the reconcile's own connections and files need too.
pub const MAX_CONNECTIONS: usize = 256;

/// How long a connection may take to send a request's head: from when it opens, and between
/// requests on a kept-alive one. An idle connection is closed when this passes.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection is served at most: then it is closed once its request in flight is
/// answered, so that a client that reads its answers slowly, or not at all, cannot hold it for
/// ever. Room for a request head and a body that take all their time.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);

/// How long a connection being closed (its lifetime over, or the agent stopping) may take to
/// finish its request in flight.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The most a connection buffers of what it reads or writes (hyper's minimum is 8 KiB): room
/// for any request head a webhook sends.
const BUFFER: usize = 64 * 1024;

/// The wait before accepting again after a failure other than a connection's own, such as
/// running out of descriptors: connections closing free them, and trying again at once would
/// only spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What a connection beyond `MAX_CONNECTIONS` is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\
    content-length: 0\r\nconnection: close\r\n\r\n";

/// Serves `app` on `listener` until `stop` turns true, then gives the open connections
/// `CLOSE_GRACE` to finish.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                failing = false;
                match Arc::clone(&slots).try_acquire_owned() {
                    Ok(slot) => {
                        tokio::spawn(connection(stream, peer, app.clone(), slot, stop.clone()));
                    }
                    Err(_) => turn_away(&stream),
                }
            }
            // A client that gave up before it was accepted concerns nobody else.
            Err(err) if is_the_connections_own(&err) => {}
            Err(err) => {
                if !std::mem::replace(&mut failing, true) {
                    shared.record("accept", &[("error", err.to_string().into())]);
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    let everyone = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(everyone).await;
}

fn is_the_connections_own(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

/// Says 503 if the socket takes it at once, and closes it.
fn turn_away(stream: &TcpStream) {
    let _ = stream.try_write(BUSY);
}

/// Serves one connection, HTTP/1.1 only: hyper's HTTP/1 server answers HTTP/2's preface with an
/// error and closes. It holds `slot` until it is closed.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    slot: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let _slot = slot;
    let service = hyper::service::service_fn(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(request)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(BUFFER)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {}
        _ = stop.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(CLOSE_GRACE, connection).await;
}
