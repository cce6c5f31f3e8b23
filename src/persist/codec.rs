//! The at-rest form of a stored bucket and of an hour's band counters.
//!
//! A bucket is a format byte, its 20 counters as little-endian `u64`s, then its latency
//! counts in their compact form (varint pairs). Decoding checks everything it reads, so
//! a store damaged in a way its checksums missed is refused, never trusted: the counts
//! must be well-formed varints, in increasing bucket order inside the layout, and sum
//! to the bucket's count.

use crate::aggregate::{Aggregate, SumCount, Totals};
use crate::bands::{BANDS, BandTotals, Bands};
use crate::hdr::CompactCounts;

const FORMAT: u8 = 1;
const TOTALS: usize = 20;

fn put(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_sum(out: &mut Vec<u8>, s: &SumCount) {
    put(out, s.sum);
    put(out, s.count);
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
    out.extend_from_slice(latency);
    out
}

/// Decodes a bucket whose latency counts must fit a layout of `buckets` buckets.
pub(crate) fn decode_bucket(bytes: &[u8], buckets: usize) -> Result<Aggregate, String> {
    let (&format, rest) = bytes.split_first().ok_or("an empty bucket")?;
    if format != FORMAT {
        return Err(format!("bucket format {format}, expected {FORMAT}"));
    }
    let mut r = Reader(rest);
    let totals = Totals {
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
    };
    let mut pairs = Vec::new();
    let (mut index, mut sum) = (0u64, 0u64);
    while !r.0.is_empty() {
        let delta = r.varint()?;
        let count = r.varint()?;
        if !pairs.is_empty() && delta == 0 {
            return Err("latency buckets out of order".into());
        }
        index = index
            .checked_add(delta)
            .ok_or("a latency bucket overflows")?;
        if index >= buckets as u64 {
            return Err(format!(
                "latency bucket {index} outside a layout of {buckets}"
            ));
        }
        sum = sum.checked_add(count).ok_or("latency counts overflow")?;
        pairs.push((index as usize, count));
    }
    if sum != totals.count {
        return Err(format!(
            "latency counts sum to {sum}, the bucket counts {}",
            totals.count
        ));
    }
    Ok(Aggregate {
        totals,
        latency: CompactCounts::from_sorted(pairs),
    })
}

pub(crate) fn encode_bands(b: &Bands) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + BANDS * 10 * 8);
    out.push(FORMAT);
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
    if format != FORMAT {
        return Err(format!("band format {format}, expected {FORMAT}"));
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
        Aggregate {
            totals,
            latency: CompactCounts::from_sorted([(0, 2), (130, 4), (1_000, 1)]),
        }
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
