//! The catalog reads: customer and license types, products with their detail, and editions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::{ApiResult, listing};
use crate::remote::wire::{ProductDetailsDto, ProductDto, TemplateDto};
use crate::sandbox::app::App;
use crate::sandbox::problem::{ApiError, code, conflict, parse_id};

pub(crate) async fn customer_types(State(app): State<Arc<App>>) -> Response {
    listing(&app, app.catalog.customer_types.clone())
}

pub(crate) async fn license_types(State(app): State<Arc<App>>) -> Response {
    listing(&app, app.catalog.license_types.clone())
}

pub(crate) async fn products(State(app): State<Arc<App>>) -> Response {
    let products: Vec<ProductDto> = app.catalog.products.iter().map(|p| p.dto.clone()).collect();
    listing(&app, products)
}

pub(crate) async fn product_detail(
    State(app): State<Arc<App>>,
    Path((_, product_id)): Path<(String, String)>,
) -> ApiResult<ProductDetailsDto> {
    let id = parse_id(&product_id, "product id")?;
    let product = app
        .catalog
        .product(id)
        .ok_or(conflict(code::UNKNOWN_PRODUCT, "Unknown product"))?;
    Ok(Json(ProductDetailsDto {
        features: Some(product.features.clone()),
        limitations: Some(product.limitations.clone()),
        variables: Some(product.variables.clone()),
        constrained_variables: Some(product.constrained_variables.clone()),
        software_release_limitations: Some(product.software_releases.clone()),
    }))
}

pub(crate) async fn templates(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let product_id = match query.get("product_id").filter(|v| !v.is_empty()) {
        Some(text) => Some(parse_id(text, "product id")?),
        None => None,
    };
    let name = query.get("name").filter(|v| !v.is_empty());
    let templates: Vec<TemplateDto> = app
        .catalog
        .products
        .iter()
        .filter(|p| product_id.is_none_or(|id| id == p.dto.id))
        .flat_map(|p| p.templates.iter())
        .filter(|t| name.is_none_or(|n| t.name.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    Ok(listing(&app, templates))
}
