//! Token-usage distributions: counts per OpenTelemetry GenAI bucket.
//!
//! `gen_ai.client.token_usage` is a histogram with the bucket bounds the semantic
//! conventions advise, powers of four from 1 to 67,108,864. Counting a selection costs
//! a `leading_zeros` per token type and two adds on the hot path; the counts travel from the open
//! cell to each sealed [`MinuteBucket`](crate::MinuteBucket) and into the Prometheus
//! histograms.

use serde::{Deserialize, Serialize};

/// The upper bounds of the token-usage buckets (OpenTelemetry GenAI semantic
/// conventions): 1, 4, 16, ..., 67,108,864. A last bucket counts larger values.
pub const TOKEN_BOUNDS: [u64; 14] = {
    let mut b = [1u64; 14];
    let mut i = 1;
    while i < 14 {
        b[i] = b[i - 1] * 4;
        i += 1;
    }
    b
};

/// Buckets per token type: one per bound and one above the last.
pub(crate) const SLOTS: usize = TOKEN_BOUNDS.len() + 1;

/// The bucket of a token count: the first bound at or above it, or the overflow slot.
#[inline]
pub(crate) fn slot(tokens: u64) -> u8 {
    if tokens <= 1 {
        return 0;
    }
    // ceil(log4(v)) = ceil(ceil(log2(v)) / 2).
    let log2 = 64 - (tokens - 1).leading_zeros();
    (log2.div_ceil(2)).min(TOKEN_BOUNDS.len() as u32) as u8
}

/// Selections by token-usage bucket, for input and for output tokens.
///
/// `input[i]` counts the selections whose input token count is at most
/// [`TOKEN_BOUNDS`]`[i]` and above the bound before it; the last element counts those
/// above 67,108,864. Only selections that reported tokens
/// ([`Selection::tokens`](crate::Selection::tokens)) are counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input tokens per selection, by bucket.
    pub input: [u64; SLOTS],
    /// Output tokens per selection, by bucket.
    pub output: [u64; SLOTS],
}

impl TokenUsage {
    /// Selections that reported tokens.
    pub fn count(&self) -> u64 {
        self.input.iter().sum()
    }

    /// Adds a cell's counts (`[input.., output..]`).
    pub(crate) fn add_cell(&mut self, cell: &[u32; 2 * SLOTS]) {
        let (input, output) = cell.split_at(SLOTS);
        for k in 0..SLOTS {
            self.input[k] += u64::from(input[k]);
            self.output[k] += u64::from(output[k]);
        }
    }

    /// Adds another distribution.
    pub(crate) fn merge(&mut self, o: &TokenUsage) {
        for k in 0..SLOTS {
            self.input[k] += o.input[k];
            self.output[k] += o.output[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_the_semantic_conventions() {
        assert_eq!(TOKEN_BOUNDS[0], 1);
        assert_eq!(TOKEN_BOUNDS[1], 4);
        assert_eq!(TOKEN_BOUNDS[13], 67_108_864);
    }

    #[test]
    fn each_count_lands_in_the_first_bound_at_or_above_it() {
        let expected = |v: u64| {
            TOKEN_BOUNDS
                .iter()
                .position(|&b| v <= b)
                .unwrap_or(TOKEN_BOUNDS.len()) as u8
        };
        let mut edges = vec![0, 1, 2, 3, u64::MAX, u64::MAX - 1];
        for b in TOKEN_BOUNDS {
            edges.extend([b - 1, b, b + 1]);
        }
        for v in edges.into_iter().chain((0..5000).map(|i| i * 7919)) {
            assert_eq!(slot(v), expected(v), "{v}");
        }
    }
}
