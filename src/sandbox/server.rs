//! The HTTP side of the sandbox: routes, the gate every API request passes (latency, rate limit,
//! injected failures, authentication, request log, dropped answers) and the connection loop.
//!
//! Connections are served with hyper directly rather than `axum::serve`, because a dropped answer
//! has to close the TCP connection without writing a response, which a handler cannot do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::EventSink;
use super::app::{App, LogEntry, persist};
use super::endpoints::{catalog, contacts, customers, customlist, licenses};
use super::journal::{Entry, UsageRecord};
use super::problem::problem;

/// Counts a request as in flight for as long as it lives, however it ends.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Lets a request close the connection it arrived on.
#[derive(Clone)]
struct ConnectionKill(Arc<Notify>);

pub(crate) fn router(app: Arc<App>) -> Router {
    let isv = Router::new()
        .route(
            "/customers",
            get(customers::list_customers)
                .post(customers::create_customer)
                .patch(customers::update_customer),
        )
        .route("/customers/types", get(catalog::customer_types))
        .route("/customers/by_number", get(customers::customer_by_number))
        .route("/customers/{customer_id}", get(customers::get_customer))
        .route(
            "/customers/{customer_id}/contacts",
            get(contacts::list_contacts)
                .post(contacts::create_contact)
                .patch(contacts::update_contact),
        )
        .route(
            "/data_exchange/customers/contacts",
            put(contacts::put_contact),
        )
        .route(
            "/data_exchange/customers",
            post(customers::data_exchange_create_customer)
                .patch(customers::data_exchange_update_customer),
        )
        .route(
            "/licenses",
            post(licenses::create_license).patch(licenses::update_license),
        )
        .route("/licenses/types", get(catalog::license_types))
        .route("/licenses/filtered", post(licenses::licenses_filtered))
        .route(
            "/licenses/filtered/detailed",
            post(licenses::licenses_filtered_detailed),
        )
        .route("/licenses/{license_id}", get(licenses::get_license))
        .route(
            "/licenses/{license_id}/assignments",
            get(licenses::assignments),
        )
        .route("/products", get(catalog::products))
        .route(
            "/products/{product_id}/detail",
            get(catalog::product_detail),
        )
        .route("/templates", get(catalog::templates))
        .route(
            "/administration/customlist",
            get(customlist::list_custom_lists),
        )
        .route(
            "/administration/customlist/{custom_list_id}",
            get(customlist::get_custom_list),
        );
    let router = Router::new()
        .nest("/api/v2/isv/{isv_id}", isv)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), gate))
        // Added after the layer, so neither gated nor logged.
        .route(
            "/_sandbox/requests",
            get(request_log).delete(clear_request_log),
        )
        .route("/_sandbox/usage/{license_id}", put(set_usage));
    super::portal::routes(router).with_state(app)
}

/// `PUT /_sandbox/usage/{license_id}` with `{"tokens", "users", "floating_tokens"}`: how much of
/// a license is in use, for tests and demos of the usage-aware plan.
async fn set_usage(
    State(app): State<Arc<App>>,
    axum::extract::Path(license_id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, super::problem::ApiError> {
    let id = super::problem::parse_id(&license_id, "license id")?;
    let usage: super::store::Usage =
        super::problem::decode(&super::problem::json_object(&headers, &body)?)?;
    let line = super::journal::Line::of(&Entry::Usage(UsageRecord::new(id, usage)))
        .map_err(|err| super::problem::ApiError::Internal(err.to_string()))?;
    let mut store = app.store.lock().await;
    if store.license_index(id).is_none() {
        return Err(super::problem::conflict(
            super::problem::code::UNKNOWN_LICENSE,
            "Unknown license",
        ));
    }
    store.set_usage(id, usage);
    let ticket = app.journal.as_ref().map(|journal| journal.stage(line));
    drop(store);
    persist(&app, ticket).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "Not Found", None)
}

async fn request_log(State(app): State<Arc<App>>) -> Response {
    let log = app
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entries();
    axum::Json(log).into_response()
}

async fn clear_request_log(State(app): State<Arc<App>>) -> StatusCode {
    app.log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    StatusCode::NO_CONTENT
}

/// Compares without stopping at the first difference, so timing reveals nothing about the key.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a request is refused, or `None` when its key and ISV are this sandbox's. The wording tells
/// a wrong key from a right key sent for another ISV, as that is a different fix.
fn unauthorized(app: &App, headers: &HeaderMap, path: &str) -> Option<String> {
    let key_ok = headers
        .get("AdminKey")
        .is_some_and(|key| same_secret(key.as_bytes(), app.admin_key.as_bytes()));
    if !key_ok {
        return Some("a valid AdminKey header for this ISV is required".to_owned());
    }
    // A key belongs to one ISV, so a request for another ISV is not authorized either.
    let isv = path.strip_prefix("/api/v2/isv/")?.split('/').next()?;
    match Uuid::parse_str(isv) {
        Ok(id) if id == app.isv_id => None,
        Ok(_) => Some(format!(
            "the AdminKey belongs to ISV {}, not to the ISV this request names; check isv_id",
            app.isv_id
        )),
        Err(_) => Some("the ISV id in the path is not a UUID".to_owned()),
    }
}

/// The writes `--drop-after-commit` may drop: POST, PATCH and PUT of customers, data_exchange
/// customers, licenses and contacts (not the listings, which are POSTs too).
fn is_write(method: &Method, path: &str) -> bool {
    if method != Method::POST && method != Method::PATCH && method != Method::PUT {
        return false;
    }
    let Some(rest) = path.strip_prefix("/api/v2/isv/") else {
        return false;
    };
    let rest = rest.split_once('/').map_or("", |(_, rest)| rest);
    let rest = rest.trim_end_matches('/');
    let contacts_of_a_customer = rest
        .strip_prefix("customers/")
        .and_then(|rest| rest.strip_suffix("/contacts"))
        .is_some_and(|id| !id.contains('/'));
    contacts_of_a_customer
        || matches!(
            rest,
            "customers"
                | "data_exchange/customers"
                | "licenses"
                | "data_exchange/customers/contacts"
        )
}

/// Answers a request by faults, by the authentication check, or by the handler, in that order.
async fn answer(app: &App, path: &str, request: Request, next: Next) -> Response {
    if let Some(response) = app.rate_limited() {
        return response;
    }
    if app.fail_rate > 0.0 && fastrand::f64() < app.fail_rate {
        return if fastrand::bool() {
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                Some("injected failure (--fail-rate)".to_owned()),
            )
        } else {
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                Some("injected failure (--fail-rate)".to_owned()),
            )
        };
    }
    if let Some(why) = unauthorized(app, request.headers(), path) {
        return problem(StatusCode::UNAUTHORIZED, "Unauthorized", Some(why));
    }
    next.run(request).await
}

async fn gate(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request
        .uri()
        .query()
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    let concurrent = app.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    let _in_flight = InFlight(&app.in_flight);
    if !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
    let response = answer(&app, &path, request, next).await;
    let dropped = kill.is_some()
        && response.status().is_success()
        && app.drop_after_commit > 0.0
        && is_write(&method, &path)
        && fastrand::f64() < app.drop_after_commit;
    app.record(LogEntry {
        method: method.to_string(),
        path,
        query,
        status: response.status().as_u16(),
        dropped,
        concurrent,
    });
    match kill {
        Some(ConnectionKill(notify)) if dropped => {
            notify.notify_one();
            // The connection task drops this future together with the connection.
            std::future::pending().await
        }
        _ => response,
    }
}

/// Accepts connections until `stop` changes; open connections are closed then.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    events: EventSink,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                Err(err) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    events(&format!("accept failed: {err}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let handle = ConnectionKill(kill.clone());
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        let mut router = router.clone();
        async move { tower_service::Service::call(&mut router, request).await }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        _ = kill.notified() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_the_entity_posts_and_patches() {
        let base = "/api/v2/isv/2af5fe02-6207-4214-946e-b00ac5309f53";
        assert!(is_write(&Method::POST, &format!("{base}/customers")));
        assert!(is_write(&Method::PATCH, &format!("{base}/licenses")));
        assert!(is_write(
            &Method::POST,
            &format!("{base}/data_exchange/customers")
        ));
        assert!(!is_write(
            &Method::POST,
            &format!("{base}/licenses/filtered")
        ));
        assert!(!is_write(&Method::GET, &format!("{base}/customers")));
    }

    /// 3,000 unauthenticated requests of 60 KB each are all logged, within a window far below
    /// the 180 MB they carry.
    #[tokio::test]
    async fn unauthenticated_requests_of_60_kb_keep_the_log_bounded() {
        use crate::sandbox::app::LOG_MAX_TEXT;
        let isv = Uuid::from_u128(1);
        let config = crate::sandbox::SandboxConfig::new(isv, "key", Default::default());
        let sandbox = crate::sandbox::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let url = format!(
            "{}/api/v2/isv/{isv}/{}",
            sandbox.base_url(),
            "a".repeat(60_000)
        );
        let http = reqwest::Client::new();
        let mut sent = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let (http, url) = (http.clone(), url.clone());
            sent.spawn(async move {
                for _ in (worker..3_000).step_by(8) {
                    let answer = http.get(&url).send().await.unwrap();
                    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
                }
            });
        }
        while let Some(done) = sent.join_next().await {
            done.unwrap();
        }
        let (len, bytes, longest) = {
            let log = sandbox.app.log.lock().unwrap();
            let longest = log.entries().iter().map(|e| e.path.len()).max();
            (log.len(), log.bytes(), longest)
        };
        assert_eq!(len, 3_000);
        assert!(bytes < 4 * 1024 * 1024, "{bytes}");
        assert!(longest <= Some(LOG_MAX_TEXT), "{longest:?}");
        sandbox.shutdown().await;
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"key", b"key"));
        assert!(!same_secret(b"key", b"kez"));
        assert!(!same_secret(b"key", b"keys"));
    }
}
