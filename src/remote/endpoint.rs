//! Where each change of a plan is sent: the method and path of its endpoint. The plan holds a
//! typed identity; this is the one place that turns it into HTTP.

use std::borrow::Cow;

use uuid::Uuid;

use crate::plan::{Action, Endpoint};

/// `POST` for a create, `PATCH` for an update; `PUT` for both where one request adds or updates.
pub fn method(endpoint: Endpoint, action: Action) -> &'static str {
    match (endpoint, action) {
        (Endpoint::DataExchangeContacts, _) => "PUT",
        (_, Action::Create) => "POST",
        (_, Action::Update) => "PATCH",
    }
}

/// The endpoint's path below `/api/v2/isv/{isv_id}`: `/customers`, `/data_exchange/customers`,
/// `/licenses`, `/customers/{customer_id}/contacts`, `/data_exchange/customers/contacts`.
pub fn collection(endpoint: Endpoint) -> Cow<'static, str> {
    match endpoint {
        Endpoint::Customers => Cow::Borrowed("/customers"),
        Endpoint::DataExchangeCustomers => Cow::Borrowed("/data_exchange/customers"),
        Endpoint::Licenses => Cow::Borrowed("/licenses"),
        Endpoint::CustomerContacts { customer_id } => {
            Cow::Owned(format!("/customers/{customer_id}/contacts"))
        }
        Endpoint::DataExchangeContacts => Cow::Borrowed("/data_exchange/customers/contacts"),
    }
}

/// The full path of the endpoint for `isv`.
pub fn path(isv: Uuid, endpoint: Endpoint) -> String {
    format!("{}{}", isv_base(isv), collection(endpoint))
}

/// The endpoint a full path names, if it is one of `isv`'s.
pub fn endpoint_of(isv: Uuid, path: &str) -> Option<Endpoint> {
    let collection = path.strip_prefix(&isv_base(isv))?;
    if let Some(customer_id) = collection
        .strip_prefix("/customers/")
        .and_then(|rest| rest.strip_suffix("/contacts"))
    {
        return customer_id
            .parse()
            .ok()
            .map(|customer_id| Endpoint::CustomerContacts { customer_id });
    }
    [
        Endpoint::Customers,
        Endpoint::DataExchangeCustomers,
        Endpoint::Licenses,
        Endpoint::DataExchangeContacts,
    ]
    .into_iter()
    .find(|endpoint| self::collection(*endpoint) == collection)
}

/// The base path of every request for `isv`.
pub fn isv_base(isv: Uuid) -> String {
    format!("/api/v2/isv/{isv}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_back_as_their_endpoint() {
        let isv = Uuid::from_u128(7);
        for endpoint in [
            Endpoint::Customers,
            Endpoint::DataExchangeCustomers,
            Endpoint::Licenses,
            Endpoint::CustomerContacts {
                customer_id: Uuid::from_u128(9),
            },
            Endpoint::DataExchangeContacts,
        ] {
            assert_eq!(endpoint_of(isv, &path(isv, endpoint)), Some(endpoint));
            assert_eq!(endpoint_of(Uuid::from_u128(8), &path(isv, endpoint)), None);
        }
        assert_eq!(
            path(isv, Endpoint::DataExchangeCustomers),
            "/api/v2/isv/00000000-0000-0000-0000-000000000007/data_exchange/customers"
        );
        assert_eq!(endpoint_of(isv, "/api/v2/isv/x/licenses/filtered"), None);
        let base = isv_base(isv);
        assert_eq!(
            endpoint_of(isv, &format!("{base}/customers/x/contacts")),
            None
        );
        assert_eq!(
            method(Endpoint::DataExchangeContacts, Action::Update),
            "PUT"
        );
    }
}
