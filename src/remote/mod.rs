//! The SLASCONE API: wire types and the async client. The only place that does network I/O as a
//! client.

pub mod client;
pub mod error;
pub mod wire;

pub use client::{AdminKey, Client, ClientConfig, RetryPolicy};
pub use error::ApiError;
