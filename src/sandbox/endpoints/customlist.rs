//! `GET /administration/customlist[/{custom_list_id}]`: the custom lists the catalog's
//! constrained variables take their values from, one list per variable, named after it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use uuid::Uuid;

use super::{ApiResult, listing};
use crate::remote::wire::{CustomListDto, CustomListElementDto};
use crate::sandbox::app::App;
use crate::sandbox::catalog::Catalog;
use crate::sandbox::problem::{ApiError, parse_id};

/// Every constrained variable's list, by product and variable order. An element's id is derived
/// from its list's and its value, so it is the same across restarts like every catalog id.
fn custom_lists(catalog: &Catalog) -> impl Iterator<Item = CustomListDto> + '_ {
    catalog.products.iter().flat_map(|product| {
        product.constrained_variables.iter().map(|variable| {
            let values = product
                .allowed_values
                .get(&variable.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            CustomListDto {
                id: Some(variable.custom_list_id),
                custom_list_name: Some(variable.name.clone()),
                elements: Some(
                    values
                        .iter()
                        .map(|value| CustomListElementDto {
                            id: Some(Uuid::new_v5(&variable.custom_list_id, value.as_bytes())),
                            value: Some(value.clone()),
                            caption: Some(value.clone()),
                        })
                        .collect(),
                ),
                ..CustomListDto::default()
            }
        })
    })
}

pub(crate) async fn list_custom_lists(State(app): State<Arc<App>>) -> Response {
    listing(&app, custom_lists(&app.catalog).collect())
}

/// One list; 404 for an id no list has, as the reference documents for this endpoint.
pub(crate) async fn get_custom_list(
    State(app): State<Arc<App>>,
    Path((_, custom_list_id)): Path<(String, String)>,
) -> ApiResult<CustomListDto> {
    let id = parse_id(&custom_list_id, "custom list id")?;
    custom_lists(&app.catalog)
        .find(|list| list.id == Some(id))
        .map(Json)
        .ok_or(ApiError::NotFound)
}
