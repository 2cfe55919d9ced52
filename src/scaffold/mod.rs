//! Writing values into manifest files that people maintain by hand, changing nothing else.
//!
//! - [`edit`] rewrites single YAML scalars in place, byte-exact: the core of `pull`, which writes
//!   the values SLASCONE holds back into the manifest where they are written.

pub mod edit;
