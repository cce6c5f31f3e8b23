//! Latency buckets that are exactly compatible with `hdrhistogram`.
//!
//! The hot path cannot afford `hdrhistogram::Histogram` per thread and per model (a
//! default histogram is 26 KiB of `u64` counts), and retained minutes cannot afford it
//! either. So modelmeter computes the same bucket index as `hdrhistogram` for the same
//! bounds ([`BucketLayout`]), counts into a dense `u32` array while a minute is open, and
//! keeps sealed minutes as a varint-encoded list of non-empty buckets ([`CompactCounts`]).
//! Sealed minutes reach users as [`LatencyHistogram`](crate::LatencyHistogram), which
//! wraps these counts with their layout; converting one to a real `Histogram<u64>`
//! records each bucket's lowest value, which lands in the very same bucket, so the
//! conversion loses nothing.
//!
//! ## Memory
//!
//! The default layout (1 µs to 1 h, 2 significant digits) has 3,328 buckets: 13 KiB per
//! open dense array. A sealed minute costs about 2 to 3 bytes per non-empty bucket; a
//! model serving ~100 requests a minute fills 30 to 60 buckets.

mod compact;
mod layout;

pub(crate) use compact::{CompactCounts, CompactIter};
pub(crate) use layout::BucketLayout;
