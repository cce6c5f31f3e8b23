//! The at-rest form of a stored bucket, of a dimension value's bucket, and of an
//! hour's band counters.
//!
//! A bucket (format 3) is a format byte, its 30 counters as little-endian `u64`s, its
//! latency counts in their compact form (varint pairs) behind a varint length, a byte
//! saying whether streaming timings follow (two timings of 4 `u64`s and two
//! length-prefixed compact counts), the named scores (a varint count, then each
//! name's length and bytes, sum and count), and the cached-input and reasoning tokens
//! (two `u64`s). Format 2 is the same without the last two and reads with them zero;
//! format 1, written before error kinds, streaming and feedback existed, is its 19
//! counters and the latency counts, and still reads (its errors count as `Other`).
//!
//! Decoding checks everything it reads, so a store damaged in a way its checksums
//! missed is refused, never trusted: counts must be well-formed varints, in increasing
//! bucket order inside the layout, and sum to the counts they belong to; error kinds
//! must sum to the errors; names must be UTF-8.

use std::sync::Arc;

use crate::aggregate::{Aggregate, SumCount, Totals};
use crate::bands::{BANDS, BandTotals, Bands};
use crate::dimension::{DimAgg, DimTotals};
use crate::failure::KINDS;
use crate::feedback::Scores;
use crate::hdr::CompactCounts;
use crate::stream::{StreamAgg, Timing};

const FORMAT: u8 = 3;
/// The bucket format before cached-input and reasoning tokens.
const FORMAT_2: u8 = 2;
/// The bucket format before error kinds, streaming and feedback.
const FORMAT_1: u8 = 1;
/// The band counters' format, unchanged since the first.
const BANDS_FORMAT: u8 = 1;
const TOTALS: usize = 30;

fn put(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_sum(out: &mut Vec<u8>, s: &SumCount) {
    put(out, s.sum);
    put(out, s.count);
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_timing(out: &mut Vec<u8>, t: &Timing) {
    for v in [t.count, t.sum_us, t.min_us, t.max_us] {
        put(out, v);
    }
}

/// Reads fixed-width numbers, failing at the end instead of panicking.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u64(&mut self) -> Result<u64, String> {
        let (head, rest) = self
            .0
            .split_first_chunk::<8>()
            .ok_or("the value ends early")?;
        self.0 = rest;
        Ok(u64::from_le_bytes(*head))
    }

    fn sum(&mut self) -> Result<SumCount, String> {
        Ok(SumCount {
            sum: self.u64()?,
            count: self.u64()?,
        })
    }

    fn bytes(&mut self) -> Result<&[u8], String> {
        let len = self.varint()?;
        if len > self.0.len() as u64 {
            return Err("a length runs past the value".into());
        }
        let (head, rest) = self.0.split_at(len as usize);
        self.0 = rest;
        Ok(head)
    }

    fn timing(&mut self) -> Result<Timing, String> {
        Ok(Timing {
            count: self.u64()?,
            sum_us: self.u64()?,
            min_us: self.u64()?,
            max_us: self.u64()?,
        })
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first().ok_or("a varint ends early")?;
            self.0 = rest;
            v |= u64::from(b & 0x7f)
                .checked_shl(shift)
                .filter(|x| x >> shift == u64::from(b & 0x7f))
                .ok_or("a varint overflows")?;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("a varint overflows".into())
    }
}

pub(crate) fn encode_bucket(a: &Aggregate) -> Vec<u8> {
    let t = &a.totals;
    let latency = a.latency.as_bytes();
    let mut out = Vec::with_capacity(1 + TOTALS * 8 + latency.len());
    out.push(FORMAT);
    for v in [t.count, t.errors, t.cache_hits] {
        put(&mut out, v);
    }
    put_sum(&mut out, &t.cost);
    for v in [t.latency_sum_us, t.latency_min_us, t.latency_max_us] {
        put(&mut out, v);
    }
    for s in [&t.complexity, &t.accuracy, &t.satisfaction] {
        put_sum(&mut out, s);
    }
    put(&mut out, t.input_tokens);
    put(&mut out, t.output_tokens);
    put_sum(&mut out, &t.hit_cost);
    put(&mut out, t.hit_latency_sum_us);
    for v in t.error_kinds.0 {
        put(&mut out, v);
    }
    for v in [t.retries, t.fallbacks, t.streaming, t.feedback] {
        put(&mut out, v);
    }
    put_bytes(&mut out, latency);
    match &a.stream {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_timing(&mut out, &s.ttft);
            put_timing(&mut out, &s.tpot);
            put_bytes(&mut out, s.ttft_counts.as_bytes());
            put_bytes(&mut out, s.tpot_counts.as_bytes());
        }
    }
    put_varint(&mut out, a.scores.0.len() as u64);
    for (name, sum) in &a.scores.0 {
        put_bytes(&mut out, name.as_bytes());
        put_sum(&mut out, sum);
    }
    put(&mut out, t.cached_input_tokens);
    put(&mut out, t.reasoning_tokens);
    out
}

/// Decodes compact counts that must fit a layout of `buckets` buckets and sum to
/// `total`.
fn decode_counts(
    bytes: &[u8],
    buckets: usize,
    total: u64,
    what: &str,
) -> Result<CompactCounts, String> {
    let mut r = Reader(bytes);
    let mut pairs = Vec::new();
    let (mut index, mut sum) = (0u64, 0u64);
    while !r.0.is_empty() {
        let delta = r.varint()?;
        let count = r.varint()?;
        if !pairs.is_empty() && delta == 0 {
            return Err(format!("{what} buckets out of order"));
        }
        index = index
            .checked_add(delta)
            .ok_or_else(|| format!("a {what} bucket overflows"))?;
        if index >= buckets as u64 {
            return Err(format!(
                "{what} bucket {index} outside a layout of {buckets}"
            ));
        }
        sum = sum
            .checked_add(count)
            .ok_or_else(|| format!("{what} counts overflow"))?;
        pairs.push((index as usize, count));
    }
    if sum != total {
        return Err(format!("{what} counts sum to {sum}, expected {total}"));
    }
    Ok(CompactCounts::from_sorted(pairs))
}

/// Decodes a bucket whose latency counts must fit a layout of `buckets` buckets.
pub(crate) fn decode_bucket(bytes: &[u8], buckets: usize) -> Result<Aggregate, String> {
    let (&format, rest) = bytes.split_first().ok_or("an empty bucket")?;
    if ![FORMAT, FORMAT_2, FORMAT_1].contains(&format) {
        return Err(format!("bucket format {format}, expected {FORMAT}"));
    }
    let mut r = Reader(rest);
    let mut totals = Totals {
        count: r.u64()?,
        errors: r.u64()?,
        cache_hits: r.u64()?,
        cost: r.sum()?,
        latency_sum_us: r.u64()?,
        latency_min_us: r.u64()?,
        latency_max_us: r.u64()?,
        complexity: r.sum()?,
        accuracy: r.sum()?,
        satisfaction: r.sum()?,
        input_tokens: r.u64()?,
        output_tokens: r.u64()?,
        hit_cost: r.sum()?,
        hit_latency_sum_us: r.u64()?,
        ..Totals::default()
    };
    if format == FORMAT_1 {
        totals.error_kinds.0[crate::ErrorKind::Other.slot()] = totals.errors;
        let latency = decode_counts(r.0, buckets, totals.count, "latency")?;
        return Ok(Aggregate {
            totals,
            latency,
            ..Aggregate::default()
        });
    }
    for k in 0..KINDS {
        totals.error_kinds.0[k] = r.u64()?;
    }
    let by_kind = totals
        .error_kinds
        .0
        .iter()
        .try_fold(0u64, |a, &b| a.checked_add(b))
        .ok_or("error kinds overflow")?;
    if by_kind != totals.errors {
        return Err(format!(
            "error kinds sum to {by_kind}, the bucket has {} errors",
            totals.errors
        ));
    }
    totals.retries = r.u64()?;
    totals.fallbacks = r.u64()?;
    totals.streaming = r.u64()?;
    totals.feedback = r.u64()?;
    for (name, n) in [
        ("fallbacks", totals.fallbacks),
        ("streaming", totals.streaming),
    ] {
        if n > totals.count {
            return Err(format!(
                "{name} {n} exceed the bucket's {} selections",
                totals.count
            ));
        }
    }
    let latency = decode_counts(r.bytes()?, buckets, totals.count, "latency")?;
    let (&has_stream, rest) = r.0.split_first().ok_or("the value ends early")?;
    r.0 = rest;
    let stream = match has_stream {
        0 => None,
        1 => {
            let ttft = r.timing()?;
            let tpot = r.timing()?;
            // Every timed selection was streamed, and has a first token before its
            // time per output token.
            if ttft.count > totals.streaming || tpot.count > ttft.count {
                return Err(format!(
                    "{} first tokens and {} per-token times for {} streamed selections",
                    ttft.count, tpot.count, totals.streaming
                ));
            }
            for t in [&ttft, &tpot] {
                if t.count > 0 && t.min_us > t.max_us {
                    return Err(format!(
                        "a timing's minimum {} exceeds its maximum {}",
                        t.min_us, t.max_us
                    ));
                }
            }
            let ttft_counts =
                decode_counts(r.bytes()?, buckets, ttft.count, "time to first token")?;
            let tpot_counts =
                decode_counts(r.bytes()?, buckets, tpot.count, "time per output token")?;
            Some(Box::new(StreamAgg {
                ttft,
                tpot,
                ttft_counts,
                tpot_counts,
            }))
        }
        other => return Err(format!("streaming flag {other}")),
    };
    let names = r.varint()?;
    if names > crate::feedback::MAX_SCORE_NAMES as u64 {
        return Err(format!("{names} score names"));
    }
    let mut scores = Scores::default();
    for _ in 0..names {
        let name = std::str::from_utf8(r.bytes()?).map_err(|_| "a score name is not UTF-8")?;
        if name.is_empty()
            || name.len() > crate::feedback::MAX_SCORE_NAME_LEN
            || name.chars().any(char::is_control)
        {
            return Err(format!("score name {name:?} breaks the name rules"));
        }
        let name: Arc<str> = name.into();
        scores.add(&name, r.sum()?);
    }
    if format == FORMAT {
        totals.cached_input_tokens = r.u64()?;
        totals.reasoning_tokens = r.u64()?;
        if totals.cached_input_tokens > totals.input_tokens
            || totals.reasoning_tokens > totals.output_tokens
        {
            return Err("cached or reasoning tokens exceed their whole".into());
        }
    }
    if !r.0.is_empty() {
        return Err("the bucket runs long".into());
    }
    Ok(Aggregate {
        totals,
        latency,
        stream,
        scores,
    })
}

/// The dimension bucket's format: a format byte, its 13 counters as little-endian
/// `u64`s, and its latency counts (empty for dimensions that keep none) behind a varint
/// length.
const DIM_FORMAT: u8 = 1;

pub(crate) fn encode_dim(a: &DimAgg) -> Vec<u8> {
    let t = &a.totals;
    let latency = a.latency.as_bytes();
    let mut out = Vec::with_capacity(1 + 13 * 8 + 2 + latency.len());
    out.push(DIM_FORMAT);
    for v in [t.count, t.errors, t.cache_hits] {
        put(&mut out, v);
    }
    put_sum(&mut out, &t.cost);
    for v in [
        t.latency_sum_us,
        t.latency_min_us,
        t.latency_max_us,
        t.input_tokens,
        t.output_tokens,
        t.cached_input_tokens,
        t.reasoning_tokens,
        t.fallbacks,
    ] {
        put(&mut out, v);
    }
    put_bytes(&mut out, latency);
    out
}

/// Decodes a dimension bucket whose latency counts, when it has any, must fit a layout
/// of `buckets` buckets.
pub(crate) fn decode_dim(bytes: &[u8], buckets: usize) -> Result<DimAgg, String> {
    let (&format, rest) = bytes.split_first().ok_or("an empty bucket")?;
    if format != DIM_FORMAT {
        return Err(format!(
            "dimension bucket format {format}, expected {DIM_FORMAT}"
        ));
    }
    let mut r = Reader(rest);
    let totals = DimTotals {
        count: r.u64()?,
        errors: r.u64()?,
        cache_hits: r.u64()?,
        cost: r.sum()?,
        latency_sum_us: r.u64()?,
        latency_min_us: r.u64()?,
        latency_max_us: r.u64()?,
        input_tokens: r.u64()?,
        output_tokens: r.u64()?,
        cached_input_tokens: r.u64()?,
        reasoning_tokens: r.u64()?,
        fallbacks: r.u64()?,
    };
    for (what, part) in [
        ("errors", totals.errors),
        ("cache hits", totals.cache_hits),
        ("fallbacks", totals.fallbacks),
        ("costs", totals.cost.count),
    ] {
        if part > totals.count {
            return Err(format!(
                "{what} {part} exceed the bucket's {} selections",
                totals.count
            ));
        }
    }
    let counts = r.bytes()?;
    let latency = if counts.is_empty() {
        CompactCounts::default()
    } else {
        decode_counts(counts, buckets, totals.count, "latency")?
    };
    if !r.0.is_empty() {
        return Err("bytes after the dimension bucket".into());
    }
    Ok(DimAgg { totals, latency })
}

pub(crate) fn encode_bands(b: &Bands) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + BANDS * 10 * 8);
    out.push(BANDS_FORMAT);
    for t in &b.bands {
        for v in [t.count, t.errors, t.cache_hits] {
            put(&mut out, v);
        }
        for s in [&t.cost, &t.accuracy, &t.satisfaction] {
            put_sum(&mut out, s);
        }
        put(&mut out, t.latency_sum_us);
    }
    out
}

pub(crate) fn decode_bands(bytes: &[u8]) -> Result<Bands, String> {
    let (&format, rest) = bytes.split_first().ok_or("empty band counters")?;
    if format != BANDS_FORMAT {
        return Err(format!("band format {format}, expected {BANDS_FORMAT}"));
    }
    let mut r = Reader(rest);
    let mut out = Bands::default();
    for t in &mut out.bands {
        *t = BandTotals {
            count: r.u64()?,
            errors: r.u64()?,
            cache_hits: r.u64()?,
            cost: r.sum()?,
            accuracy: r.sum()?,
            satisfaction: r.sum()?,
            latency_sum_us: r.u64()?,
        };
    }
    if !r.0.is_empty() {
        return Err("band counters run long".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> Aggregate {
        let mut totals = Totals {
            count: 7,
            errors: 1,
            latency_min_us: 3,
            latency_max_us: 9_000_000,
            ..Totals::default()
        };
        totals.cost = SumCount { sum: 12, count: 5 };
        totals.hit_latency_sum_us = u64::MAX;
        totals.error_kinds.0[1] = 1;
        totals.streaming = 3;
        totals.feedback = 2;
        (totals.input_tokens, totals.cached_input_tokens) = (100, 40);
        (totals.output_tokens, totals.reasoning_tokens) = (50, 10);
        let timing = |count| Timing {
            count,
            sum_us: 90,
            min_us: 10,
            max_us: 50,
        };
        let mut scores = Scores::default();
        scores.add(
            &"helpful".into(),
            SumCount {
                sum: 700_000,
                count: 2,
            },
        );
        Aggregate {
            totals,
            latency: CompactCounts::from_sorted([(0, 2), (130, 4), (1_000, 1)]),
            stream: Some(Box::new(StreamAgg {
                ttft: timing(3),
                tpot: timing(2),
                ttft_counts: CompactCounts::from_sorted([(10, 1), (40, 2)]),
                tpot_counts: CompactCounts::from_sorted([(12, 2)]),
            })),
            scores,
        }
    }

    #[test]
    fn dimension_buckets_round_trip_and_refuse_contradictions() {
        let totals = DimTotals {
            count: 7,
            errors: 2,
            cache_hits: 3,
            cost: SumCount { sum: 12, count: 7 },
            latency_sum_us: 900,
            latency_min_us: 3,
            latency_max_us: 600,
            input_tokens: 100,
            output_tokens: 50,
            cached_input_tokens: 40,
            reasoning_tokens: 10,
            fallbacks: 1,
        };
        for latency in [
            CompactCounts::default(),
            CompactCounts::from_sorted([(0, 2), (130, 4), (1_000, 1)]),
        ] {
            let a = DimAgg { totals, latency };
            assert_eq!(decode_dim(&encode_dim(&a), 2_000), Ok(a));
        }
        let bad = |f: fn(&mut DimAgg)| {
            let mut a = DimAgg {
                totals,
                latency: CompactCounts::from_sorted([(0, 7)]),
            };
            f(&mut a);
            decode_dim(&encode_dim(&a), 2_000)
        };
        assert!(bad(|a| a.totals.fallbacks = 8).is_err());
        assert!(bad(|a| a.totals.errors = 8).is_err());
        assert!(bad(|a| a.latency = CompactCounts::from_sorted([(0, 6)])).is_err());
        assert!(bad(|a| a.latency = CompactCounts::from_sorted([(2_000, 7)])).is_err());
        let good = encode_dim(&DimAgg {
            totals,
            latency: CompactCounts::default(),
        });
        assert!(decode_dim(&good[..good.len() - 3], 2_000).is_err());
        assert!(decode_dim(&[2], 2_000).is_err());
    }

    #[test]
    fn counts_that_contradict_each_other_are_refused() {
        let mut a = bucket();
        a.totals.fallbacks = u64::MAX;
        assert!(decode_bucket(&encode_bucket(&a), 2_000).is_err());
        let mut a = bucket();
        a.stream.as_mut().unwrap().tpot.count = 4;
        assert!(decode_bucket(&encode_bucket(&a), 2_000).is_err());
        let mut a = bucket();
        a.scores
            .add(&"bad\nname".into(), SumCount { sum: 1, count: 1 });
        assert!(decode_bucket(&encode_bucket(&a), 2_000).is_err());
    }

    #[test]
    fn format_1_buckets_still_read() {
        let a = bucket();
        let mut v1 = vec![FORMAT_1];
        v1.extend_from_slice(&encode_bucket(&a)[1..1 + 19 * 8]);
        v1.extend_from_slice(a.latency.as_bytes());
        let read = decode_bucket(&v1, 2_000).unwrap();
        assert_eq!(read.totals.count, 7);
        assert_eq!(read.totals.error_kinds.0[crate::ErrorKind::Other.slot()], 1);
        assert_eq!((read.stream, read.latency), (None, a.latency));
    }

    #[test]
    fn format_2_buckets_read_without_cached_or_reasoning_tokens() {
        let a = bucket();
        let mut v2 = encode_bucket(&a);
        v2[0] = FORMAT_2;
        v2.truncate(v2.len() - 16);
        let read = decode_bucket(&v2, 2_000).unwrap();
        assert_eq!(
            (
                read.totals.cached_input_tokens,
                read.totals.reasoning_tokens
            ),
            (0, 0)
        );
        assert_eq!(read.totals.input_tokens, 100);
        let mut bad = a.clone();
        bad.totals.cached_input_tokens = 101;
        assert!(decode_bucket(&encode_bucket(&bad), 2_000).is_err());
    }

    #[test]
    fn buckets_and_bands_read_back_equal() {
        let a = bucket();
        assert_eq!(decode_bucket(&encode_bucket(&a), 2_000).unwrap(), a);
        let mut b = Bands::default();
        b.bands[3].count = 4;
        b.bands[9].satisfaction = SumCount { sum: 1, count: 1 };
        assert_eq!(decode_bands(&encode_bands(&b)).unwrap(), b);
    }

    #[test]
    fn damaged_values_are_refused_not_trusted() {
        let good = encode_bucket(&bucket());
        // Every truncation, and every single flipped byte, is refused or decodes to
        // something consistent; none panics.
        for n in 0..good.len() {
            assert!(decode_bucket(&good[..n], 2_000).is_err(), "cut at {n}");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xa5;
            if let Ok(a) = decode_bucket(&bad, 2_000) {
                assert_eq!(
                    a.latency.iter().map(|(_, c)| c).sum::<u64>(),
                    a.totals.count
                );
                assert_eq!(a.totals.error_kinds.0.iter().sum::<u64>(), a.totals.errors);
                if let Some(s) = &a.stream {
                    assert_eq!(
                        s.ttft_counts.iter().map(|(_, c)| c).sum::<u64>(),
                        s.ttft.count
                    );
                }
            }
        }
        assert!(
            decode_bucket(&good, 1_000).is_err(),
            "a bucket past the layout"
        );
        let mut long = good.clone();
        long.extend([0x80; 12]);
        assert!(decode_bucket(&long, 2_000).is_err());
        assert!(decode_bands(&good).is_err());
    }
}
