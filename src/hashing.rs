//! Hash maps and sets for the large, in-process matching of a plan: ids and names of hundreds of
//! thousands of objects, looked up a few times each. std's SipHash guards maps that face
//! untrusted keys chosen to collide; these face keys from the account's own manifests and
//! SLASCONE, and foldhash (randomly seeded per process) hashed them several times faster.

/// A `HashMap` with foldhash; build it with `default()` or `with_capacity_and_hasher`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with foldhash; build it with `default()` or `with_capacity_and_hasher`.
pub type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
