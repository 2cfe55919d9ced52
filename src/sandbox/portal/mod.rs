//! Read-only HTML pages of the state, at the paths of SLASCONE's portal deep links
//! (`/customeranalytics?customernumber=N`, `/licenses?customernumber=N`) and an index at `/`, so
//! the links in a plan against a sandbox open something. Plain HTML and one stylesheet the
//! sandbox serves itself, no scripts; they need no AdminKey, like the request log, and are not
//! part of the API (no faults, not logged).

mod html;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::app::App;

/// Adds the pages to the sandbox's router.
pub(crate) fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router
        .route("/", get(index))
        .route("/customeranalytics", get(customer_analytics))
        .route("/licenses", get(licenses))
        .route("/_sandbox/portal.css", get(stylesheet))
}

/// A query parameter's value, decoded; the first if given more than once.
fn param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Scripts, frames, plugins and other origins are refused even if a value ever got through
/// unescaped; the one stylesheet comes from the sandbox.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
base-uri 'none'; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn index(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let search = param(query.as_deref(), "q").unwrap_or_default();
    let store = app.store.lock().await;
    html(StatusCode::OK, pages::index(&app.catalog, &store, &search))
}

/// The customer a page names, or the page that says why there is none.
async fn customer_page(
    app: &App,
    query: Option<&str>,
    render: impl FnOnce(&super::catalog::Catalog, &super::store::Store, usize) -> String,
) -> Response {
    let number = param(query, "customernumber").unwrap_or_default();
    if number.trim().is_empty() {
        return html(StatusCode::BAD_REQUEST, pages::no_number());
    }
    let store = app.store.lock().await;
    match store.customer_by_number(&number) {
        Some(pos) => html(StatusCode::OK, render(&app.catalog, &store, pos)),
        None => html(StatusCode::NOT_FOUND, pages::unknown_customer(&number)),
    }
}

async fn customer_analytics(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    customer_page(&app, query.as_deref(), pages::customer).await
}

async fn licenses(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    customer_page(&app, query.as_deref(), pages::licenses).await
}

async fn stylesheet() -> Response {
    let mut response = html::CSS.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response
}
