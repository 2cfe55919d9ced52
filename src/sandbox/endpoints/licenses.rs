//! `/licenses` and the license listings.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::{ApiResult, Slot, commit, json_listing, listing};
use crate::remote::wire::{LicenseDto, LicenseFilterDto, LicenseLazyLoadDto, LicenseTreeDto};
use crate::sandbox::app::App;
use crate::sandbox::problem::{ApiError, code, conflict, decode, json_object, parse_id};
use crate::sandbox::rules::{
    apply_template_properties, check_entries, check_legacy_key, check_references,
    entries_from_edition, entries_over_edition, fill_from_edition, patched, with_default_id,
};
use crate::sandbox::store::{LicensePage, LicenseQuery, Store};
use crate::sandbox::{EmptyAnswer, PageZero, Paging};

pub(crate) async fn get_license(
    State(app): State<Arc<App>>,
    Path((_, license_id)): Path<(String, String)>,
) -> ApiResult<LicenseDto> {
    let id = parse_id(&license_id, "license id")?;
    let store = app.store.lock().await;
    let pos = store
        .license_index(id)
        .ok_or(conflict(code::UNKNOWN_LICENSE, "Unknown license"))?;
    Ok(Json(store.license(pos).clone()))
}

pub(crate) async fn create_license(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = with_default_id(json_object(&headers, &body)?);
    let mut license: LicenseDto = decode(&map)?;
    if license.is_active.is_none() {
        license.is_active = Some(true);
    }
    let store = app.store.lock().await;
    let (product, template) = check_references(&app, &store, &license)?;
    fill_from_edition(&mut license, &map, &template);
    // Entries are checked before they are merged with the edition's, so an unknown listed id is
    // reported even when the edition would have supplied the rest.
    check_entries(product, &mut license)?;
    entries_over_edition(&mut license, product.dto.id, &template);
    check_entries(product, &mut license)?;
    check_legacy_key(&store, &license, None)?;
    if license.id.is_nil() {
        license.id = Uuid::new_v4();
    } else if store.license_index(license.id).is_some() {
        return Err(conflict(
            code::LICENSE_ID_EXISTS,
            "A license with this id already exists",
        ));
    }
    commit(&app, &headers, store, license, Slot::New).await
}

pub(crate) async fn update_license(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let apply_template = apply_template_properties(query.as_deref())?;
    let map = json_object(&headers, &body)?;
    let wanted: LicenseDto = decode(&map)?;
    let store = app.store.lock().await;
    let pos = store
        .license_index(wanted.id)
        .ok_or(conflict(code::UNKNOWN_LICENSE, "Unknown license"))?;
    let stored = serde_json::to_value(store.license(pos))
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    let mut license: LicenseDto = decode(&patched(stored, &map, app.patch_semantics))?;
    let (product, template) = check_references(&app, &store, &license)?;
    if apply_template {
        fill_from_edition(&mut license, &map, &template);
        entries_from_edition(&mut license, &map, product.dto.id, &template);
    }
    check_entries(product, &mut license)?;
    check_legacy_key(&store, &license, Some(pos))?;
    commit(&app, &headers, store, license, Slot::Replaces(pos)).await
}

/// `GET /licenses/{id}/assignments?page=&page_size=`: one activated assignment per token in use,
/// a plain array as the reference documents, paged like the license listings.
pub(crate) async fn assignments(
    State(app): State<Arc<App>>,
    Path((_, license_id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = parse_id(&license_id, "license id")?;
    let number = |name: &str| -> Result<Option<i64>, ApiError> {
        query
            .get(name)
            .filter(|text| !text.is_empty())
            .map(|text| {
                text.parse()
                    .map_err(|_| ApiError::BadRequest(format!("{name} must be a number")))
            })
            .transpose()
    };
    let (offset, limit) =
        page_window(app.assignment_paging, number("page")?, number("page_size")?)?;
    let store = app.store.lock().await;
    let pos = store
        .license_index(id)
        .ok_or(conflict(code::UNKNOWN_LICENSE, "Unknown license"))?;
    let product_id = store.license(pos).product_id;
    let tokens = u64::from(store.usage(id).tokens);
    let first = u64::try_from(offset).unwrap_or(u64::MAX).min(tokens);
    let last = first
        .saturating_add(u64::try_from(limit).unwrap_or(u64::MAX))
        .min(tokens);
    let rows: Vec<serde_json::Value> = (first..last)
        .map(|n| {
            serde_json::json!({
                "id": Uuid::new_v5(&id, &n.to_be_bytes()),
                "license_id": id,
                "product_id": product_id,
                "token_key": Uuid::new_v5(&id, format!("token {n}").as_bytes()),
                "activated": true,
            })
        })
        .collect();
    Ok(listing(&app, rows))
}

/// The rows a page asks for, as (offset, limit), by a listing's page numbering and cap.
fn page_window(
    paging: Paging,
    page: Option<i64>,
    page_size: Option<i64>,
) -> Result<(usize, usize), ApiError> {
    let page_size = page_size.unwrap_or(i64::MAX);
    if page_size < 1 {
        return Err(ApiError::BadRequest(
            "page_size must be at least 1".to_owned(),
        ));
    }
    let limit = usize::try_from(page_size)
        .unwrap_or(paging.max_page_size)
        .min(paging.max_page_size);
    let base = i64::from(paging.base);
    let page = page.unwrap_or(base);
    if page < 0 {
        return Err(ApiError::BadRequest("page must not be negative".to_owned()));
    }
    let mut offset = usize::try_from(page - base)
        .unwrap_or(0)
        .saturating_mul(limit);
    if page < base {
        match paging.zero {
            PageZero::Same => {}
            PageZero::Empty => offset = usize::MAX,
            PageZero::BadRequest => {
                return Err(ApiError::BadRequest("page numbers start at 1".to_owned()));
            }
            PageZero::NotFound => return Err(ApiError::NotFound),
        }
    }
    Ok((offset, limit))
}

/// Decodes a listing filter, works out the page the sandbox's numbering makes of it, and runs it.
async fn list<T>(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    answer: impl FnOnce(LicensePage, &Store) -> T,
) -> ApiResult<T> {
    let filter: LicenseFilterDto = decode(&json_object(headers, body)?)?;
    let (offset, limit) = page_window(app.paging, filter.page, Some(filter.page_size))?;
    let store = app.store.lock().await;
    let page = store.list_licenses(&LicenseQuery {
        product: filter.product_filter.filter(|id| !id.is_nil()),
        customer: filter.customer_filter.filter(|id| !id.is_nil()),
        key_search: filter.key_search.as_deref(),
        offset,
        limit,
    });
    Ok(Json(answer(page, &store)))
}

pub(crate) async fn licenses_filtered(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Json(answer) = list(&app, &headers, &body, |page, store| LicenseLazyLoadDto {
        licenses: Some(
            page.positions
                .iter()
                .map(|&pos| {
                    let l = store.license(pos);
                    let usage = store.usage(l.id);
                    LicenseTreeDto {
                        id: Some(l.id),
                        legacy_license_key: l.legacy_license_key.as_deref().map(str::to_owned),
                        customer_id: l.customer_id,
                        product_id: l.product_id,
                        template_id: l.template_id,
                        active_users: usage.users.map(i64::from),
                        active_floating_tokens: usage.floating_tokens.map(i64::from),
                    }
                })
                .collect(),
        ),
        max_count: i64::try_from(page.total).unwrap_or(i64::MAX),
        customer_count: i64::try_from(page.customer_count).unwrap_or(i64::MAX),
    })
    .await?;
    // Nothing matches: as empty as a listing gets.
    if answer.max_count == 0 && app.empty_listing == EmptyAnswer::NoContent {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(answer).into_response())
}

pub(crate) async fn licenses_filtered_detailed(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Json(rows) = list(&app, &headers, &body, |page, store| {
        (!page.positions.is_empty()).then(|| store.licenses_json(&page.positions))
    })
    .await?;
    Ok(json_listing(&app, rows))
}
