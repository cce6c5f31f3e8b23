//! Failure kinds: why a selection failed, for routers that treat a timeout, a 429 and a
//! content-filter refusal differently.
//!
//! Every failed selection has exactly one [`ErrorKind`]; [`Selection::error`]`(true)`
//! without a kind counts as [`ErrorKind::Other`], so the counts per kind always sum to
//! the error count.
//!
//! [`Selection::error`]: crate::Selection::error

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a selection failed.
///
/// The [`Display`](fmt::Display) form (`"rate_limited"`, ...) is the `error.type` label
/// of the Prometheus output and the key in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request ran out of time, at the router or the provider.
    Timeout,
    /// The provider refused for rate or quota (HTTP 429).
    RateLimited,
    /// The provider failed (HTTP 5xx, overloaded).
    ServerError,
    /// The request was refused as malformed or too large (HTTP 4xx other than 429).
    BadRequest,
    /// The provider's content filter refused the prompt or the answer.
    ContentFilter,
    /// The caller gave up (client disconnect, cancelled stream).
    Cancelled,
    /// Any other failure, and failures reported without a kind.
    Other,
}

/// Number of [`ErrorKind`]s: the length of the per-kind counters.
pub(crate) const KINDS: usize = 7;

impl ErrorKind {
    /// Every kind, in counter order.
    pub const ALL: [ErrorKind; KINDS] = [
        Self::Timeout,
        Self::RateLimited,
        Self::ServerError,
        Self::BadRequest,
        Self::ContentFilter,
        Self::Cancelled,
        Self::Other,
    ];

    /// The kind's name, as in JSON and the `error.type` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::BadRequest => "bad_request",
            Self::ContentFilter => "content_filter",
            Self::Cancelled => "cancelled",
            Self::Other => "other",
        }
    }

    pub(crate) fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Failed selections per [`ErrorKind`], in [`ErrorKind::ALL`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KindCounts(pub [u64; KINDS]);

impl KindCounts {
    pub(crate) fn merge(&mut self, o: &KindCounts) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a = a.saturating_add(b);
        }
    }

    /// The non-zero counts, by kind.
    pub(crate) fn to_map(self) -> std::collections::BTreeMap<ErrorKind, u64> {
        ErrorKind::ALL
            .into_iter()
            .zip(self.0)
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_slots_follow_all() {
        for (i, k) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(k.slot(), i);
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
    }
}
