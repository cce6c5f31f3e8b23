//! A selection's dimension values as the host set them, borrowed.

use super::{BUILT_IN, Combo, DimensionValue, MAX_ATTRIBUTES, REQUESTED_DIM};

/// The dimension values of one [`Selection`](crate::Selection): the built-ins by
/// index, then up to [`MAX_ATTRIBUTES`] attributes in the order they were set.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Tags<'a> {
    pub built_in: [Option<&'a str>; BUILT_IN.len()],
    pub attrs: [(&'a str, &'a str); MAX_ATTRIBUTES],
    pub attr_len: u8,
    /// An attribute past [`MAX_ATTRIBUTES`] was set: the selection is refused.
    pub too_many: bool,
    /// Whether anything was set: one load decides the common case.
    any: bool,
    /// Whether a value was set as text, to be looked up.
    pub strings: bool,
    /// The ids set through [`DimensionValue`] handles.
    pub handles: Combo,
    /// The monitor of the handles set.
    pub monitor: u64,
    /// The handles set came from more than one monitor.
    pub foreign: bool,
    /// A handle set was folded into `__other__`.
    pub folded: bool,
    /// The key of the last handle set, to name in an error.
    pub handle_key: &'a str,
    /// The requested model set through a handle; empty when none was.
    requested: &'a str,
}

impl<'a> Tags<'a> {
    /// Whether nothing was set: the common case.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        !self.any
    }

    #[inline(always)]
    pub(crate) fn set_built_in(&mut self, dim: usize, value: &'a str) {
        self.any = true;
        self.strings = true;
        self.built_in[dim] = Some(value);
    }

    /// Sets `key` to `value`. A key set twice keeps its last value: lookups read the
    /// attributes in order, so the later one wins, and only when all
    /// [`MAX_ATTRIBUTES`] places are taken are repeated keys merged to make room.
    #[inline(always)]
    pub(crate) fn set_attr(&mut self, key: &'a str, value: &'a str) {
        self.any = true;
        self.strings = true;
        let len = usize::from(self.attr_len);
        if len < MAX_ATTRIBUTES {
            self.attrs[len] = (key, value);
            self.attr_len += 1;
        } else {
            self.set_attr_full(key, value);
        }
    }

    #[cold]
    #[inline(never)]
    fn set_attr_full(&mut self, key: &'a str, value: &'a str) {
        let mut kept = 0;
        for i in 0..usize::from(self.attr_len) {
            let (k, v) = self.attrs[i];
            if let Some(earlier) = self.attrs[..kept].iter_mut().find(|(e, _)| *e == k) {
                earlier.1 = v;
            } else {
                self.attrs[kept] = (k, v);
                kept += 1;
            }
        }
        if let Some(earlier) = self.attrs[..kept].iter_mut().find(|(e, _)| *e == key) {
            earlier.1 = value;
        } else if kept < MAX_ATTRIBUTES {
            self.attrs[kept] = (key, value);
            kept += 1;
        } else {
            self.too_many = true;
        }
        self.attr_len = kept as u8;
    }

    /// Sets a value through its handle. Without a branch: a setter that writes on one
    /// path and not the other makes the compiler keep the selection being built in
    /// memory and copy it whole through each setter (6 ns for three handles).
    #[inline(always)]
    pub(crate) fn set_handle(&mut self, v: &'a DimensionValue) {
        // Whether a selection fell back compares the requested model's name with the
        // served model's: a requested-model handle carries its name.
        // A select, not a branch: empty means "not a requested model".
        let name: &'a str = &v.requested;
        self.requested = if name.is_empty() {
            self.requested
        } else {
            name
        };
        self.any = true;
        // Monitor ids count from 1: 0 is "no handle yet".
        self.foreign |= (self.monitor != 0) & (self.monitor != v.monitor);
        self.monitor = v.monitor;
        self.handles = Combo(self.handles.0 & !v.mask | v.bits);
        self.folded |= v.is_folded();
        self.handle_key = &v.key;
    }

    #[cfg(test)]
    fn keys(&self) -> Vec<(&'a str, &'a str)> {
        self.attributes().to_vec()
    }

    /// The values set as text alone.
    pub(crate) fn without_handles(&self) -> Self {
        Self {
            handles: Combo::default(),
            ..*self
        }
    }

    /// The built-in dimensions set, by index.
    pub(crate) fn built_in(&self) -> impl Iterator<Item = (usize, &'a str)> + '_ {
        self.built_in
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
    }

    /// The attributes set, as `(key, value)`, in the order set (a key may come twice;
    /// its last value is the one that counts).
    pub(crate) fn attributes(&self) -> &[(&'a str, &'a str)] {
        &self.attrs[..usize::from(self.attr_len)]
    }

    /// The requested model, when set (through a handle, which wins, or as text).
    pub(crate) fn requested_model(&self) -> Option<&'a str> {
        match self.requested {
            "" => self.built_in[REQUESTED_DIM],
            name => Some(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_keeps_its_last_value_and_frees_its_place_when_needed() {
        let mut t = Tags::default();
        for (k, v) in [("team", "a"), ("x", "1"), ("team", "b"), ("y", "2")] {
            t.set_attr(k, v);
        }
        // Four places taken, one key twice: a fifth key merges the repeat away.
        t.set_attr("z", "3");
        assert!(!t.too_many);
        assert_eq!(
            t.keys(),
            [("team", "b"), ("x", "1"), ("y", "2"), ("z", "3")]
        );
        t.set_attr("team", "c");
        assert_eq!(t.keys()[0], ("team", "c"));
        assert!(!t.too_many);
        t.set_attr("w", "4");
        assert!(t.too_many, "a fifth distinct key");
    }
}
