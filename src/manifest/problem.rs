//! Problems found in manifests, each with the place it was found.

use std::fmt;

use crate::model::Origin;
use crate::text::shown;

/// One mistake in the manifests: where (when the place is known), what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Option<Origin>,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn at(origin: Origin, message: impl Into<String>) -> Self {
        Problem {
            origin: Some(origin),
            message: message.into(),
            hint: None,
        }
    }

    /// A problem with no position, e.g. a file that cannot be read; the message names the file.
    pub fn general(message: impl Into<String>) -> Self {
        Problem {
            origin: None,
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // File names, field names and values come from the manifests: one problem stays on
        // its line (and its hint's), whatever they hold.
        if let Some(origin) = &self.origin {
            write!(f, "{}: ", shown(&origin.to_string()))?;
        }
        f.write_str(&shown(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", shown(hint))?;
        }
        Ok(())
    }
}

/// Every problem found in one run. Displayed one per line (plus its hint), sorted by file, line
/// and column; problems without a position come first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// The problems in display order.
    pub fn sorted(&self) -> Vec<&Problem> {
        let mut sorted: Vec<&Problem> = self.0.iter().collect();
        sorted.sort_by(|a, b| a.origin.cmp(&b.origin));
        sorted
    }
}

impl Problems {
    /// Replaces `secret` wherever a message or hint quotes it (a key pasted as, say, an
    /// `isv_id` is quoted by "not a valid UUID"); the position still shows where it is written.
    pub fn redact(&mut self, secret: &str) {
        if secret.len() < super::MIN_SECRET_LEN {
            return;
        }
        const SHOWN: &str = "<the admin key>";
        for problem in &mut self.0 {
            if problem.message.contains(secret) {
                problem.message = problem.message.replace(secret, SHOWN);
            }
            if let Some(hint) = &mut problem.hint
                && hint.contains(secret)
            {
                *hint = hint.replace(secret, SHOWN);
            }
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.sorted().into_iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

impl From<Vec<Problem>> for Problems {
    fn from(problems: Vec<Problem>) -> Self {
        Problems(problems)
    }
}
