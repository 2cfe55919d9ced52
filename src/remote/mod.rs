//! The SLASCONE API: wire types and the async client. The only place that does network I/O as a
//! client.

pub mod client;
pub mod endpoint;
pub mod error;
pub mod wire;

pub use client::{
    AdminKey, Client, ClientConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_REQUEST_TIMEOUT, DEFAULT_TOTAL_TIMEOUT, RequestLog, RetryPolicy,
};
pub use error::ApiError;
