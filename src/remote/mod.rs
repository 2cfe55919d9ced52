//! The SLASCONE API: the only place that does network I/O as a client.
//!
//! - [`client`]: the client and one method per endpoint the reconciler calls;
//! - [`catalog`]: SLASCONE's catalog as read, which names resolve against;
//! - [`convert`]: wire ↔ model, both directions, by the field declarations;
//! - `transport`: sending, retrying and answering one request;
//! - `paging`: the paged license listing;
//! - `usage`: the paged reads of what is in use behind a license's limits;
//! - `secret`: the admin key, never shown;
//! - [`endpoint`]: the method and path each planned change is written to;
//! - [`wire`]: SLASCONE's DTOs, with their exact JSON names;
//! - [`error`]: every failure, naming its request.

pub mod catalog;
mod checks;
pub mod client;
pub mod convert;
mod decode;
pub mod endpoint;
pub mod error;
mod paging;
mod secret;
mod transport;
mod usage;
pub mod wire;

pub use client::{
    Client, ClientConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT, RequestLog, RetryPolicy,
};
pub use decode::decode_answer;
pub use error::ApiError;
pub use secret::AdminKey;
pub use usage::Assignments;
