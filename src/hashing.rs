//! Hash maps and sets for the large, in-process matching of a plan: ids and names of hundreds of
//! thousands of objects, looked up a few times each. std's SipHash guards maps that face
//! untrusted keys chosen to collide; these face keys from the account's own manifests and
//! SLASCONE, and foldhash (randomly seeded per process) hashed them several times faster.

/// A `HashMap` with foldhash; build it with `default()` or [`map_with_capacity`].
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with foldhash; build it with `default()` or [`set_with_capacity`].
pub type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// An empty [`HashMap`] with room for `n` entries.
pub fn map_with_capacity<K, V>(n: usize) -> HashMap<K, V> {
    HashMap::with_capacity_and_hasher(n, Default::default())
}

/// An empty [`HashSet`] with room for `n` entries.
pub fn set_with_capacity<T>(n: usize) -> HashSet<T> {
    HashSet::with_capacity_and_hasher(n, Default::default())
}
