//! The apply report as data: one entry per planned change, what this run did with it.
//! [`crate::render::apply_report`] shows it as text, JSON or markdown.

use serde::Serialize;
use uuid::Uuid;

use super::{Done, Failure};
use crate::model::{Kind, Origin};
use crate::plan::{Action, Change};

/// What happened to one change: what this run did, not what it intended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// This run made the object.
    Created,
    /// This run changed the object.
    Updated,
    /// The object to be created was in SLASCONE already, as wanted: someone else made it.
    Exists,
    Failed,
    Skipped,
}

impl Status {
    /// True when SLASCONE now holds what the change wanted.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Created | Status::Updated | Status::Exists)
    }
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub kind: Kind,
    pub key: String,
    pub action: Action,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SLASCONE's error id, for a 409.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slascone_error_id: Option<i64>,
    /// Where the manifest declares the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Entry {
    fn base(change: &Change, status: Status) -> Entry {
        Entry {
            kind: change.kind(),
            key: change.key.clone(),
            action: change.action,
            status,
            id: None,
            reason: None,
            slascone_error_id: None,
            origin: change.origin.as_ref().map(Origin::to_string),
        }
    }

    pub fn done(change: &Change, done: Done) -> Entry {
        let (status, id) = match done {
            Done::Created(id) => (Status::Created, id),
            Done::Updated(id) => (Status::Updated, id),
            Done::Exists(id) => (Status::Exists, id),
        };
        Entry {
            id: Some(id),
            ..Entry::base(change, status)
        }
    }

    pub fn failed(change: &Change, failure: Failure) -> Entry {
        let (reason, slascone_error_id, id) = match failure {
            Failure::Api(error) => (error.to_string(), error.business_id(), None),
            Failure::Invalid(message) => (message, None, None),
            Failure::Kept { id, message } => (message, None, Some(id)),
        };
        Entry {
            id,
            reason: Some(reason),
            slascone_error_id,
            ..Entry::base(change, Status::Failed)
        }
    }

    pub fn skipped(change: &Change, reason: String) -> Entry {
        Entry {
            reason: Some(reason),
            ..Entry::base(change, Status::Skipped)
        }
    }
}

/// Counts of an apply, one per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplySummary {
    pub created: usize,
    pub updated: usize,
    pub exists: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// The version of the apply report's JSON: 2 since `status` says what the run did (`created`,
/// `updated`, `exists`) rather than `applied`.
pub const REPORT_FORMAT_VERSION: u32 = 2;

/// Everything apply did, in plan order (customers, then licenses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyReport {
    pub format_version: u32,
    pub summary: ApplySummary,
    pub results: Vec<Entry>,
}

impl ApplyReport {
    pub fn new(results: Vec<Entry>) -> ApplyReport {
        let mut summary = ApplySummary::default();
        for entry in &results {
            *match entry.status {
                Status::Created => &mut summary.created,
                Status::Updated => &mut summary.updated,
                Status::Exists => &mut summary.exists,
                Status::Failed => &mut summary.failed,
                Status::Skipped => &mut summary.skipped,
            } += 1;
        }
        ApplyReport {
            format_version: REPORT_FORMAT_VERSION,
            summary,
            results,
        }
    }

    /// True when some change failed or was skipped.
    pub fn is_partial(&self) -> bool {
        self.summary.failed + self.summary.skipped > 0
    }
}
