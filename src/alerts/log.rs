//! [`Log`]: a capped history that numbers its entries, so that a persistent store can
//! write only the entries added since its last commit and drop the ones pushed out.

use std::collections::VecDeque;

/// The newest `cap` entries, each with its sequence number (1 for the first ever pushed).
#[derive(Debug, Clone)]
pub(crate) struct Log<T> {
    items: VecDeque<T>,
    cap: usize,
    /// Entries ever pushed; the newest entry's sequence number.
    pushed: u64,
}

impl<T> Log<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            items: VecDeque::new(),
            cap: cap.max(1),
            pushed: 0,
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        if self.items.len() == self.cap {
            self.items.pop_front();
        }
        self.items.push_back(item);
        self.pushed += 1;
    }

    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &T> + DoubleEndedIterator {
        self.items.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    #[cfg(feature = "persist")]
    /// The sequence number of the newest entry (0 when nothing was ever pushed).
    pub(crate) fn pushed(&self) -> u64 {
        self.pushed
    }

    #[cfg(feature = "persist")]
    /// The entries with sequence numbers above `seq`, oldest first, with their numbers.
    pub(crate) fn since(&self, seq: u64) -> impl Iterator<Item = (u64, &T)> {
        let first = self.first_seq();
        self.items
            .iter()
            .enumerate()
            .map(move |(i, t)| (first + i as u64, t))
            .filter(move |(s, _)| *s > seq)
    }

    #[cfg(feature = "persist")]
    /// The sequence number of the oldest entry kept.
    pub(crate) fn first_seq(&self) -> u64 {
        self.pushed + 1 - self.items.len() as u64
    }

    #[cfg(feature = "persist")]
    /// Rebuilds a log from stored entries (sequence number, entry), in any order.
    pub(crate) fn restore(cap: usize, mut entries: Vec<(u64, T)>) -> Self {
        entries.sort_by_key(|(seq, _)| *seq);
        let mut log = Self::new(cap);
        let pushed = entries.last().map_or(0, |(seq, _)| *seq);
        let keep = entries.len().saturating_sub(log.cap);
        log.items = entries.into_iter().skip(keep).map(|(_, t)| t).collect();
        log.pushed = pushed.max(log.items.len() as u64);
        log
    }
}

#[cfg(all(test, feature = "persist"))]
mod tests {
    use super::*;

    #[test]
    fn numbers_survive_eviction_and_restore() {
        let mut log = Log::new(3);
        for i in 1..=5 {
            log.push(i * 10);
        }
        assert_eq!(log.iter().copied().collect::<Vec<_>>(), [30, 40, 50]);
        assert_eq!(log.first_seq(), 3);
        assert_eq!(log.since(3).collect::<Vec<_>>(), [(4, &40), (5, &50)]);
        let stored: Vec<_> = log.since(0).map(|(s, t)| (s, *t)).collect();
        let back = Log::restore(3, stored);
        assert_eq!(back.pushed(), 5);
        assert_eq!(back.iter().copied().collect::<Vec<_>>(), [30, 40, 50]);
        assert_eq!(Log::<u8>::new(2).since(0).count(), 0);
    }
}
