//! The sandbox's mutable state: customers, licenses and contact persons in creation order, with
//! the indexes that keep every request proportional to its answer, and the snapshot layout of the
//! state file.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

use crate::remote::wire::{CustomerContactDto, CustomerDto, LicenseDto};

/// Customers and licenses. Rows are never removed (the API the sandbox serves has no deletes), so
/// a row's position in its vector is a stable creation sequence number.
#[derive(Debug, Default)]
pub(crate) struct Store {
    customers: Vec<CustomerDto>,
    customer_by_id: HashMap<Uuid, usize>,
    customer_by_number: HashMap<String, usize>,
    licenses: Vec<LicenseDto>,
    license_by_id: HashMap<Uuid, usize>,
    license_by_key: HashMap<(Uuid, String), usize>,
    /// Per product: license positions, ascending.
    licenses_by_product: HashMap<Uuid, Vec<usize>>,
    /// Per customer: license positions, ascending. Customers without licenses have no entry.
    licenses_by_customer: HashMap<Uuid, Vec<usize>>,
    /// Per product: how many of its licenses each customer holds.
    product_customers: HashMap<Uuid, HashMap<Uuid, usize>>,
    contacts: Vec<CustomerContactDto>,
    /// Each customer's and license's JSON once a listing wrote it, until the row is replaced.
    customer_json: Vec<Cached>,
    license_json: Vec<Cached>,
    contact_by_id: HashMap<Uuid, usize>,
    /// Per customer: contact positions, ascending.
    contacts_by_customer: HashMap<Uuid, Vec<usize>>,
    /// What each license's holders use; set through `PUT /_sandbox/usage/{license_id}`.
    usage: HashMap<Uuid, Usage>,
}

/// A row's JSON as listings answer it, written by the first listing that needs it.
///
/// A listing of 200,000 licenses is 350 MB of JSON; serialised afresh for every read, the
/// sandbox of a benchmark spent more of the cores it shares with the client on writing it than
/// the client spent on reading it. A replaced row gets an empty cell, so no answer is stale.
type Cached = std::sync::OnceLock<Box<[u8]>>;

/// The JSON of `rows` as one array: what `serde_json::to_vec` of the rows gives, from each row's
/// cached JSON.
fn json_array<'a, T: Serialize + 'a>(
    rows: impl ExactSizeIterator<Item = (&'a T, &'a Cached)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + rows.len() * 512);
    out.push(b'[');
    for (n, (row, cached)) in rows.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        // A row serialises to JSON whatever it holds (no maps with non-text keys), so the
        // empty object is never what a listing sends.
        let json = cached.get_or_init(|| {
            serde_json::to_vec(row)
                .unwrap_or_else(|_| b"{}".to_vec())
                .into_boxed_slice()
        });
        out.extend_from_slice(json);
    }
    out.push(b']');
    out
}

/// How much of a license is in use: tokens assigned to devices, named users, floating tokens.
/// Users and floating tokens may be `null`: the light listing then answers them as `null`,
/// which the reference allows (`active_users` and `active_floating_tokens` are nullable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Usage {
    #[serde(default)]
    pub(crate) tokens: u32,
    #[serde(default = "none_in_use")]
    pub(crate) users: Option<u32>,
    #[serde(default = "none_in_use")]
    pub(crate) floating_tokens: Option<u32>,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            tokens: 0,
            users: none_in_use(),
            floating_tokens: none_in_use(),
        }
    }
}

pub(crate) fn none_in_use() -> Option<u32> {
    Some(0)
}

/// The layout of a snapshot of the state.
#[derive(Serialize)]
struct StateFileRef<'a> {
    customers: &'a [CustomerDto],
    licenses: &'a [LicenseDto],
    contacts: &'a [CustomerContactDto],
    usage: &'a HashMap<Uuid, Usage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateFile {
    #[serde(default)]
    pub(crate) customers: Vec<CustomerDto>,
    #[serde(default)]
    pub(crate) licenses: Vec<LicenseDto>,
    #[serde(default)]
    pub(crate) contacts: Vec<CustomerContactDto>,
    #[serde(default)]
    pub(crate) usage: HashMap<Uuid, Usage>,
}

/// Which licenses a listing wants; `None` means "no filter".
pub(crate) struct LicenseQuery<'a> {
    pub(crate) product: Option<Uuid>,
    pub(crate) customer: Option<Uuid>,
    pub(crate) key_search: Option<&'a str>,
    pub(crate) offset: usize,
    pub(crate) limit: usize,
}

/// One page of a listing: where its rows are in the store ([`Store::license`],
/// [`Store::licenses_json`]).
pub(crate) struct LicensePage {
    pub(crate) positions: Vec<usize>,
    pub(crate) total: usize,
    pub(crate) customer_count: usize,
}

fn number_key(number: Option<&str>) -> Option<&str> {
    number.filter(|n| !n.is_empty())
}

fn insert_sorted(list: &mut Vec<usize>, pos: usize) {
    if let Err(at) = list.binary_search(&pos) {
        list.insert(at, pos);
    }
}

fn remove_sorted(list: &mut Vec<usize>, pos: usize) {
    if let Ok(at) = list.binary_search(&pos) {
        list.remove(at);
    }
}

impl Store {
    /// Inserts the customer, or replaces the one with its id.
    pub(crate) fn upsert_customer(&mut self, customer: CustomerDto) {
        match self.customer_index(customer.id) {
            Some(pos) => self.replace_customer(pos, customer),
            None => {
                self.insert_customer(customer);
            }
        }
    }

    /// Inserts the license, or replaces the one with its id.
    pub(crate) fn upsert_license(&mut self, license: LicenseDto) {
        match self.license_index(license.id) {
            Some(pos) => self.replace_license(pos, license),
            None => {
                self.insert_license(license);
            }
        }
    }

    /// Inserts the contact, or replaces the one with its id.
    pub(crate) fn upsert_contact(&mut self, contact: CustomerContactDto) {
        match self.contact_index(contact.id) {
            Some(pos) => self.replace_contact(pos, contact),
            None => {
                self.insert_contact(contact);
            }
        }
    }

    /// The whole state as one snapshot.
    pub(crate) fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(&StateFileRef {
            customers: &self.customers,
            licenses: &self.licenses,
            contacts: &self.contacts,
            usage: &self.usage,
        })
    }

    /// What a license's holders use now (nothing, unless set).
    pub(crate) fn usage(&self, license_id: Uuid) -> Usage {
        self.usage.get(&license_id).copied().unwrap_or_default()
    }

    pub(crate) fn set_usage(&mut self, license_id: Uuid, usage: Usage) {
        self.usage.insert(license_id, usage);
    }

    /// The contacts of a customer, in creation order.
    pub(crate) fn contacts_of(
        &self,
        customer_id: Uuid,
    ) -> impl Iterator<Item = &CustomerContactDto> {
        self.contacts_by_customer
            .get(&customer_id)
            .into_iter()
            .flatten()
            .map(|&pos| &self.contacts[pos])
    }

    pub(crate) fn contact_index(&self, id: Uuid) -> Option<usize> {
        self.contact_by_id.get(&id).copied()
    }

    pub(crate) fn contact(&self, pos: usize) -> &CustomerContactDto {
        &self.contacts[pos]
    }

    /// The position of the customer's contact with `email` (in any case).
    pub(crate) fn contact_by_email(&self, customer_id: Uuid, email: &str) -> Option<usize> {
        self.contacts_by_customer
            .get(&customer_id)?
            .iter()
            .copied()
            .find(|&pos| crate::model::same_email(&self.contacts[pos].email, email))
    }

    pub(crate) fn insert_contact(&mut self, contact: CustomerContactDto) -> usize {
        let pos = self.contacts.len();
        self.contact_by_id.insert(contact.id, pos);
        insert_sorted(
            self.contacts_by_customer
                .entry(contact.customer_id)
                .or_default(),
            pos,
        );
        self.contacts.push(contact);
        pos
    }

    /// Contacts keep their customer: a write names the customer in its path.
    pub(crate) fn replace_contact(&mut self, pos: usize, contact: CustomerContactDto) {
        self.contacts[pos] = contact;
    }

    pub(crate) fn customers(&self) -> &[CustomerDto] {
        &self.customers
    }

    pub(crate) fn customer_index(&self, id: Uuid) -> Option<usize> {
        self.customer_by_id.get(&id).copied()
    }

    pub(crate) fn customer(&self, pos: usize) -> &CustomerDto {
        &self.customers[pos]
    }

    pub(crate) fn customer_by_number(&self, number: &str) -> Option<usize> {
        self.customer_by_number.get(number).copied()
    }

    pub(crate) fn insert_customer(&mut self, customer: CustomerDto) -> usize {
        let pos = self.customers.len();
        self.customer_by_id.insert(customer.id, pos);
        if let Some(number) = number_key(customer.customer_number.as_deref()) {
            self.customer_by_number.insert(number.to_owned(), pos);
        }
        self.customers.push(customer);
        self.customer_json.push(Cached::new());
        pos
    }

    pub(crate) fn replace_customer(&mut self, pos: usize, customer: CustomerDto) {
        if let Some(old) = number_key(self.customers[pos].customer_number.as_deref()) {
            self.customer_by_number.remove(old);
        }
        if let Some(number) = number_key(customer.customer_number.as_deref()) {
            self.customer_by_number.insert(number.to_owned(), pos);
        }
        self.customers[pos] = customer;
        self.customer_json[pos] = Cached::new();
    }

    /// The JSON of the customers at `positions`, as one array.
    pub(crate) fn customers_json(&self, positions: &[usize]) -> Vec<u8> {
        json_array(
            positions
                .iter()
                .map(|&pos| (&self.customers[pos], &self.customer_json[pos])),
        )
    }

    pub(crate) fn license_index(&self, id: Uuid) -> Option<usize> {
        self.license_by_id.get(&id).copied()
    }

    pub(crate) fn license(&self, pos: usize) -> &LicenseDto {
        &self.licenses[pos]
    }

    pub(crate) fn license_by_key(&self, product: Uuid, key: &str) -> Option<usize> {
        self.license_by_key.get(&(product, key.to_owned())).copied()
    }

    fn index_license(&mut self, pos: usize) {
        let license = &self.licenses[pos];
        let (product, customer) = (license.product_id, license.customer_id);
        if let Some(key) = number_key(license.legacy_license_key.as_deref()) {
            self.license_by_key.insert((product, key.to_owned()), pos);
        }
        insert_sorted(self.licenses_by_product.entry(product).or_default(), pos);
        insert_sorted(self.licenses_by_customer.entry(customer).or_default(), pos);
        *self
            .product_customers
            .entry(product)
            .or_default()
            .entry(customer)
            .or_default() += 1;
    }

    fn unindex_license(&mut self, pos: usize) {
        let license = &self.licenses[pos];
        let (product, customer) = (license.product_id, license.customer_id);
        if let Some(key) = number_key(license.legacy_license_key.as_deref()) {
            self.license_by_key.remove(&(product, key.to_owned()));
        }
        if let Some(list) = self.licenses_by_product.get_mut(&product) {
            remove_sorted(list, pos);
        }
        if let Some(list) = self.licenses_by_customer.get_mut(&customer) {
            remove_sorted(list, pos);
            if list.is_empty() {
                self.licenses_by_customer.remove(&customer);
            }
        }
        if let Some(counts) = self.product_customers.get_mut(&product)
            && let Some(count) = counts.get_mut(&customer)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(&customer);
            }
        }
    }

    pub(crate) fn insert_license(&mut self, license: LicenseDto) -> usize {
        let pos = self.licenses.len();
        self.license_by_id.insert(license.id, pos);
        self.licenses.push(license);
        self.license_json.push(Cached::new());
        self.index_license(pos);
        pos
    }

    pub(crate) fn replace_license(&mut self, pos: usize, license: LicenseDto) {
        self.unindex_license(pos);
        self.licenses[pos] = license;
        self.license_json[pos] = Cached::new();
        self.index_license(pos);
    }

    /// The JSON of the licenses at `positions`, as one array.
    pub(crate) fn licenses_json(&self, positions: &[usize]) -> Vec<u8> {
        json_array(
            positions
                .iter()
                .map(|&pos| (&self.licenses[pos], &self.license_json[pos])),
        )
    }

    /// The licenses of a customer, in creation order.
    pub(crate) fn licenses_of(&self, customer_id: Uuid) -> impl Iterator<Item = &LicenseDto> {
        self.licenses_by_customer
            .get(&customer_id)
            .into_iter()
            .flatten()
            .map(|&pos| &self.licenses[pos])
    }

    pub(crate) fn license_count(&self, customer_id: Uuid) -> usize {
        self.licenses_by_customer
            .get(&customer_id)
            .map_or(0, Vec::len)
    }

    /// One page of the licenses matching `query`, in creation order, with the total count.
    pub(crate) fn list_licenses(&self, query: &LicenseQuery<'_>) -> LicensePage {
        let empty: &[usize] = &[];
        let by_product = query.product.map(|p| {
            self.licenses_by_product
                .get(&p)
                .map_or(empty, Vec::as_slice)
        });
        let by_customer = query.customer.map(|c| {
            self.licenses_by_customer
                .get(&c)
                .map_or(empty, Vec::as_slice)
        });
        let needle = query
            .key_search
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_lowercase);

        // Without a search and with at most one filter, the index list is exactly the answer.
        if needle.is_none() && (by_product.is_none() || by_customer.is_none()) {
            let (total, customer_count, page): (usize, usize, Vec<usize>) =
                match (query.product, by_product, by_customer) {
                    (Some(product), Some(list), None) => (
                        list.len(),
                        self.product_customers.get(&product).map_or(0, HashMap::len),
                        page_of(list.iter().copied(), query),
                    ),
                    (_, None, Some(list)) => (
                        list.len(),
                        usize::from(!list.is_empty()),
                        page_of(list.iter().copied(), query),
                    ),
                    _ => (
                        self.licenses.len(),
                        self.licenses_by_customer.len(),
                        page_of(0..self.licenses.len(), query),
                    ),
                };
            return LicensePage {
                positions: page,
                total,
                customer_count,
            };
        }

        let candidates: Box<dyn Iterator<Item = usize> + '_> = match (by_product, by_customer) {
            (Some(p), Some(c)) if p.len() <= c.len() => Box::new(p.iter().copied()),
            (Some(_), Some(c)) => Box::new(c.iter().copied()),
            (Some(p), None) => Box::new(p.iter().copied()),
            (None, Some(c)) => Box::new(c.iter().copied()),
            (None, None) => Box::new(0..self.licenses.len()),
        };
        let mut positions = Vec::new();
        let mut total = 0;
        let mut customers = std::collections::HashSet::new();
        for pos in candidates {
            let license = &self.licenses[pos];
            if query.product.is_some_and(|p| p != license.product_id)
                || query.customer.is_some_and(|c| c != license.customer_id)
            {
                continue;
            }
            if let Some(needle) = &needle {
                let key_matches = license
                    .legacy_license_key
                    .as_deref()
                    .is_some_and(|k| k.to_lowercase().contains(needle.as_str()));
                if !key_matches && !license.id.to_string().contains(needle.as_str()) {
                    continue;
                }
            }
            if total >= query.offset && positions.len() < query.limit {
                positions.push(pos);
            }
            total += 1;
            customers.insert(license.customer_id);
        }
        LicensePage {
            positions,
            total,
            customer_count: customers.len(),
        }
    }
}

fn page_of(positions: impl Iterator<Item = usize>, query: &LicenseQuery<'_>) -> Vec<usize> {
    positions.skip(query.offset).take(query.limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn license(product: Uuid, customer: Uuid, key: &str) -> LicenseDto {
        LicenseDto {
            id: Uuid::new_v4(),
            customer_id: customer,
            product_id: product,
            legacy_license_key: Some(key.into()),
            ..LicenseDto::default()
        }
    }

    fn query(
        product: Option<Uuid>,
        customer: Option<Uuid>,
        search: Option<&str>,
    ) -> LicenseQuery<'_> {
        LicenseQuery {
            product,
            customer,
            key_search: search,
            offset: 0,
            limit: 100,
        }
    }

    #[test]
    fn listing_uses_and_maintains_the_indexes() {
        let (p1, p2, c1, c2) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        let mut store = Store::default();
        store.insert_license(license(p1, c1, "KEY-A1"));
        store.insert_license(license(p1, c2, "KEY-A2"));
        let moved = store.insert_license(license(p2, c1, "KEY-B1"));

        let page = store.list_licenses(&query(Some(p1), None, None));
        assert_eq!((page.total, page.customer_count), (2, 2));
        let page = store.list_licenses(&query(Some(p1), Some(c1), None));
        assert_eq!((page.total, page.customer_count), (1, 1));
        // License ids are hex, so a search with a letter beyond `f` can only match keys.
        let page = store.list_licenses(&query(None, None, Some("key-b")));
        assert_eq!(page.total, 1);
        assert_eq!(
            store
                .license(page.positions[0])
                .legacy_license_key
                .as_deref(),
            Some("KEY-B1")
        );

        let mut changed = store.license(moved).clone();
        changed.product_id = p1;
        changed.customer_id = c2;
        store.replace_license(moved, changed);
        let page = store.list_licenses(&query(Some(p1), None, None));
        assert_eq!((page.total, page.customer_count), (3, 2));
        assert_eq!(store.list_licenses(&query(Some(p2), None, None)).total, 0);
        assert_eq!(store.license_by_key(p1, "KEY-B1"), Some(moved));
        assert_eq!(store.license_by_key(p2, "KEY-B1"), None);
        assert_eq!(
            store.list_licenses(&query(None, None, None)).customer_count,
            2
        );
    }

    /// A listing's JSON is each row's JSON as last written: what serialising the rows gives,
    /// before and after a row is replaced, for both a search page and an indexed one.
    #[test]
    fn listed_json_is_never_stale() {
        let (product, customer) = (Uuid::new_v4(), Uuid::new_v4());
        let mut store = Store::default();
        let first = store.insert_license(license(product, customer, "KEY-1"));
        store.insert_license(license(product, customer, "KEY-2"));
        let customer_pos = store.insert_customer(CustomerDto {
            id: customer,
            company_name: Some("Acme".into()),
            ..CustomerDto::default()
        });
        let fresh = |store: &Store, search: Option<&str>| {
            let page = store.list_licenses(&query(Some(product), None, search));
            let rows: Vec<&LicenseDto> = page
                .positions
                .iter()
                .map(|&pos| store.license(pos))
                .collect();
            (
                store.licenses_json(&page.positions),
                serde_json::to_vec(&rows).unwrap(),
            )
        };
        for search in [None, Some("key")] {
            let (cached, written) = fresh(&store, search);
            assert_eq!(cached, written);
        }
        let mut changed = store.license(first).clone();
        changed.token_limit = 42;
        store.replace_license(first, changed);
        for search in [None, Some("key")] {
            let (cached, written) = fresh(&store, search);
            assert_eq!(cached, written);
            assert!(
                String::from_utf8(cached)
                    .unwrap()
                    .contains("\"token_limit\":42")
            );
        }
        assert_eq!(
            store.customers_json(&[customer_pos]),
            serde_json::to_vec(&[store.customer(customer_pos)]).unwrap()
        );
        let mut renamed = store.customer(customer_pos).clone();
        renamed.company_name = Some("Acme Renamed".into());
        store.replace_customer(customer_pos, renamed);
        assert_eq!(
            store.customers_json(&[customer_pos]),
            serde_json::to_vec(&[store.customer(customer_pos)]).unwrap()
        );
    }
}
