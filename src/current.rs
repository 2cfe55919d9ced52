//! Reading SLASCONE: the catalog, every customer, and the licenses of the products the manifests
//! use, with the fewest requests; then reducing the wire objects to the name-based model.
//!
//! The request count of a read is fixed: `GET /customers/types`, `GET /licenses/types`,
//! `GET /products`, `GET /customers`, and for each product the manifests use: its detail, its
//! templates, one `licenses/filtered` count and the pages of `licenses/filtered/detailed` (none
//! when the count is 0). No request per object, except one `GET /customers/{id}/contacts` per
//! customer whose contacts are managed ([`fetch_contacts`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use crate::dates::Zone;
use crate::fanout;
use crate::model::{CurrentLicense, CurrentState};
use crate::remote::catalog::{Catalog, ProductCatalog};
use crate::remote::convert::{current_contact, current_customer, current_license};
use crate::remote::wire::*;
use crate::remote::{ApiError, Client};

/// Everything read from SLASCONE, as the wire objects (apply writes them back whole).
#[derive(Debug, Clone, Default)]
pub struct Remote {
    pub catalog: Catalog,
    pub customers: Vec<CustomerDto>,
    pub licenses: Vec<LicenseDto>,
    /// The contacts of the customers whose contacts were read.
    pub contacts: Vec<CustomerContactDto>,
}

/// What to read besides the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The catalog, all customers, and the licenses of the products.
    Everything,
    /// Only the catalog (what applying a saved plan needs to turn names into ids).
    CatalogOnly,
}

/// Reads the catalog, all customers, and the licenses of `products` (names the manifests use;
/// unknown names are skipped here and reported by name resolution). At most `parallelism`
/// requests are in flight.
pub async fn fetch(
    client: &Client,
    products: &BTreeSet<String>,
    parallelism: usize,
    scope: Scope,
) -> Result<Remote, ApiError> {
    let (catalog, customers) = fetch_catalog(client, products, parallelism, scope).await?;
    let licenses = if scope == Scope::Everything {
        fetch_licenses(client, &catalog, products, parallelism).await?
    } else {
        Vec::new()
    };
    Ok(Remote {
        catalog,
        customers,
        licenses,
        contacts: Vec::new(),
    })
}

/// The contacts of `customers` (remote ids), one request each, at most `parallelism` in flight;
/// sorted by customer, then e-mail.
pub async fn fetch_contacts(
    client: &Client,
    customers: &[Uuid],
    parallelism: usize,
) -> Result<Vec<CustomerContactDto>, ApiError> {
    let lists = fanout::try_all(customers.iter().copied(), parallelism, |customer_id| {
        let client = client.clone();
        async move {
            let mut contacts = client.list_contacts(customer_id).await?;
            // The customer is the one asked about, whatever the answer says.
            for contact in &mut contacts {
                contact.customer_id = customer_id;
            }
            Ok::<_, ApiError>(contacts)
        }
    })
    .await?;
    let mut all: Vec<CustomerContactDto> = lists.into_iter().flatten().collect();
    all.sort_by(|a, b| (a.customer_id, &a.email).cmp(&(b.customer_id, &b.email)));
    Ok(all)
}

/// What SLASCONE holds whatever the manifests say: the customer and license types, the products
/// and, for [`Scope::Everything`], all customers. The first part of a read, and the one that
/// needs no manifest, so it can run while they load.
#[derive(Debug, Clone, Default)]
pub struct Basics {
    pub customer_types: Vec<CustomerTypeDto>,
    pub license_types: Vec<LicenseTypeDto>,
    pub products: Vec<ProductDto>,
    pub customers: Vec<CustomerDto>,
}

/// Reads the [`Basics`]: four requests side by side, and the pages of the customer listing.
pub async fn fetch_basics(client: &Client, scope: Scope) -> Result<Basics, ApiError> {
    let customers = async {
        if scope == Scope::Everything {
            client.list_customers().await
        } else {
            Ok(Vec::new())
        }
    };
    let (customer_types, license_types, products, customers) = tokio::try_join!(
        client.customer_types(),
        client.license_types(),
        client.products(),
        customers,
    )?;
    Ok(Basics {
        customer_types,
        license_types,
        products,
        customers,
    })
}

/// The first part of [`fetch`]: the catalog (with the features, limitations, variables and
/// editions of `products`) and, for [`Scope::Everything`], all customers.
pub async fn fetch_catalog(
    client: &Client,
    products: &BTreeSet<String>,
    parallelism: usize,
    scope: Scope,
) -> Result<(Catalog, Vec<CustomerDto>), ApiError> {
    let basics = fetch_basics(client, scope).await?;
    catalog_of(client, basics, products, parallelism).await
}

/// The catalog from the [`Basics`] and the details and editions of `products`, read side by
/// side; with the customers the basics hold.
pub async fn catalog_of(
    client: &Client,
    basics: Basics,
    products: &BTreeSet<String>,
    parallelism: usize,
) -> Result<(Catalog, Vec<CustomerDto>), ApiError> {
    let Basics {
        customer_types,
        license_types,
        products: all_products,
        customers,
    } = basics;
    let wanted: Vec<(String, Uuid, ReadKind)> = all_products
        .iter()
        .filter(|p| products.contains(&p.name))
        .flat_map(|p| {
            [ReadKind::Detail, ReadKind::Templates].map(|read| (p.name.clone(), p.id, read))
        })
        .collect();
    let reads = fanout::try_all(wanted, parallelism, |(name, id, read)| {
        let client = client.clone();
        async move {
            let read = match read {
                ReadKind::Detail => Read::Detail(client.product_detail(id).await?),
                ReadKind::Templates => Read::Templates(client.templates(id).await?),
            };
            Ok::<_, ApiError>((name, read))
        }
    })
    .await?;
    let mut catalog = Catalog {
        customer_types,
        license_types,
        products: BTreeMap::new(),
        zone: Zone::utc(),
        custom_lists: None,
    };
    for product in all_products {
        catalog.products.insert(
            product.name.clone(),
            ProductCatalog {
                product,
                features: Vec::new(),
                limitations: Vec::new(),
                variables: Vec::new(),
                constrained_variables: Vec::new(),
                software_releases: Vec::new(),
                editions: Vec::new(),
            },
        );
    }
    for (name, read) in reads {
        let entry = catalog
            .products
            .get_mut(&name)
            .expect("every product was inserted above");
        match read {
            Read::Detail(detail) => {
                entry.features = detail.features.unwrap_or_default();
                entry.limitations = detail.limitations.unwrap_or_default();
                entry.variables = detail.variables.unwrap_or_default();
                entry.constrained_variables = detail.constrained_variables.unwrap_or_default();
                entry.software_releases = detail.software_release_limitations.unwrap_or_default();
            }
            Read::Templates(templates) => entry.editions = templates,
        }
    }
    Ok((catalog, customers))
}

/// The second part of [`fetch`]: the licenses of `products`, sorted by id. Products are listed
/// side by side, and the pages of each within the client's in-flight limit.
pub async fn fetch_licenses(
    client: &Client,
    catalog: &Catalog,
    products: &BTreeSet<String>,
    parallelism: usize,
) -> Result<Vec<LicenseDto>, ApiError> {
    let mut licenses = list_licenses_with(client, catalog, products, parallelism, |mut page, _| {
        for license in &mut page {
            license.shrink_to_fit();
        }
        page
    })
    .await?;
    licenses.sort_unstable_by_key(|license| license.id);
    Ok(licenses)
}

/// [`fetch_licenses`] reduced to the model page by page, sorted by id, for callers that do not
/// write licenses back (`plan`): each page's wire objects are freed as soon as it is reduced,
/// so the listing never holds them all.
pub async fn fetch_current_licenses(
    client: &Client,
    catalog: &Catalog,
    products: &BTreeSet<String>,
    parallelism: usize,
) -> Result<Vec<CurrentLicense>, ApiError> {
    let mut licenses =
        list_licenses_with(client, catalog, products, parallelism, |page, catalog| {
            page.iter()
                .filter_map(|license| current_license(catalog, license))
                .collect()
        })
        .await?;
    licenses.sort_unstable_by_key(|license| license.id);
    Ok(licenses)
}

/// Lists the licenses of `products`, turning each page into `T`s with `convert`.
async fn list_licenses_with<T: Send + 'static>(
    client: &Client,
    catalog: &Catalog,
    products: &BTreeSet<String>,
    parallelism: usize,
    convert: fn(Vec<LicenseDto>, &Catalog) -> Vec<T>,
) -> Result<Vec<T>, ApiError> {
    let shared = Arc::new(catalog.clone());
    let ids: Vec<Uuid> = catalog
        .products
        .values()
        .filter(|product| products.contains(&product.product.name))
        .map(|product| product.product.id)
        .collect();
    let lists = fanout::try_all(ids, parallelism, |id| {
        let client = client.clone();
        let catalog = Arc::clone(&shared);
        async move {
            let mut out = Vec::new();
            client
                .list_licenses_each(id, |page| out.extend(convert(page, &catalog)))
                .await?;
            Ok::<_, ApiError>(out)
        }
    })
    .await?;
    Ok(lists.into_iter().flatten().collect())
}

#[derive(Clone, Copy)]
enum ReadKind {
    Detail,
    Templates,
}

enum Read {
    Detail(ProductDetailsDto),
    Templates(Vec<TemplateDto>),
}

/// Reduces what was read to the model the diff compares.
pub fn current_state(remote: &Remote) -> CurrentState {
    let mut current = current_state_of(&remote.catalog, &remote.customers, &remote.licenses);
    current.contacts = remote.contacts.iter().map(current_contact).collect();
    current
}

/// [`current_state`] of wire objects held apart from a [`Remote`].
pub fn current_state_of(
    catalog: &Catalog,
    customers: &[CustomerDto],
    licenses: &[LicenseDto],
) -> CurrentState {
    // Licenses are most of the work: half of them are reduced on another core.
    let (first_half, second_half) = licenses.split_at(licenses.len() / 2);
    let reduce = |licenses: &[LicenseDto]| -> Vec<CurrentLicense> {
        licenses
            .iter()
            .filter_map(|license| current_license(catalog, license))
            .collect()
    };
    std::thread::scope(|scope| {
        let second_half = scope.spawn(|| reduce(second_half));
        let customers = customers
            .iter()
            .map(|customer| current_customer(catalog, customer))
            .collect();
        let mut licenses = reduce(first_half);
        licenses.extend(
            second_half
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        );
        CurrentState {
            customers,
            licenses,
            contacts: Vec::new(),
        }
    })
}

/// Customer ids by key, for apply: which remote customer a license belongs to.
pub fn customer_ids(customers: &[CustomerDto]) -> HashMap<String, Uuid> {
    let mut ids = HashMap::with_capacity(customers.len() * 2);
    for customer in customers {
        ids.insert(customer.id.to_string(), customer.id);
        if let Some(number) = customer
            .customer_number
            .as_deref()
            .filter(|n| !n.is_empty())
        {
            ids.insert(number.to_string(), customer.id);
        }
    }
    ids
}
