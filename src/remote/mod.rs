//! The SLASCONE API: wire types and the async client.

pub mod wire;
