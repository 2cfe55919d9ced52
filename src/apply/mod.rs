//! Apply: sends the plan's changes to SLASCONE.

pub mod body;
