//! A selection's dimension values as the host set them, borrowed.

use super::{BUILT_IN, Combo, DimensionValue, MAX_ATTRIBUTES, REQUESTED_DIM};

const _: () = assert!(MAX_ATTRIBUTES == 4, "Tags::set_attr writes places 0 to 3");

/// The dimension values of one [`Selection`](crate::Selection): the built-ins by
/// index, then up to [`MAX_ATTRIBUTES`] attributes in the order they were set.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Tags<'a> {
    pub built_in: [Option<&'a str>; BUILT_IN.len()],
    /// `None` past `attr_len`: a selection without attributes initializes one word
    /// per place, not four.
    pub attrs: [Option<(&'a str, &'a str)>; MAX_ATTRIBUTES],
    pub attr_len: u8,
    /// An attribute past [`MAX_ATTRIBUTES`] was set: the selection is refused.
    pub too_many: bool,
    /// Whether anything was set: one load decides the common case.
    any: bool,
    /// Whether a value was set as text, to be looked up.
    pub strings: bool,
    /// The ids set through [`DimensionValue`] handles.
    pub handles: Combo,
    /// The OR of the marks of the handles set ([`DimensionValue::mark`]), and the OR
    /// of their complements: the handles came from one monitor when the two share no
    /// bit above the lowest, and one was folded when the lowest bit of the first is set.
    pub marks: u64,
    pub not_marks: u64,
    /// The last handle set, to name in an error.
    pub last: Option<&'a DimensionValue>,
    /// The requested model's handle, when one was set.
    requested: Option<&'a DimensionValue>,
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
        // Constant indices, not `attrs[len]`: a write at a runtime index makes the
        // compiler keep the selection being built in memory and copy it whole (416
        // bytes) when the setter returns; with constant ones, where the length is
        // known, the match folds away.
        let kv = Some((key, value));
        match self.attr_len {
            0 => self.attrs[0] = kv,
            1 => self.attrs[1] = kv,
            2 => self.attrs[2] = kv,
            3 => self.attrs[3] = kv,
            _ => {}
        }
        if usize::from(self.attr_len) < MAX_ATTRIBUTES {
            self.attr_len += 1;
        } else {
            let all = self.attrs.map(|a| a.unwrap_or_default());
            let (attrs, kept) = merge_repeats(all, key, value);
            self.attrs = attrs.map(Some);
            self.too_many |= kept > MAX_ATTRIBUTES;
            self.attr_len = kept.min(MAX_ATTRIBUTES) as u8;
        }
    }

    /// Sets a value through its handle. Without a branch: a setter that writes on one
    /// path and not the other makes the compiler keep the selection being built in
    /// memory and copy it whole through each setter (6 ns for three handles). Each
    /// line is one or two instructions: the handle carries its words ready-made.
    #[inline(always)]
    pub(crate) fn set_handle(&mut self, v: &'a DimensionValue) {
        self.any = true;
        // Whether a selection fell back compares the requested model's name with the
        // served model's: a select, not a branch.
        self.requested = if v.dim == REQUESTED_DIM {
            Some(v)
        } else {
            self.requested
        };
        self.marks |= v.mark;
        self.not_marks |= !v.mark;
        self.handles = Combo(self.handles.0 & v.keep | v.bits);
        self.last = Some(v);
    }

    /// Whether every handle set came from the monitor `id`, none folded (and one was
    /// set at least).
    #[inline(always)]
    pub(crate) fn handles_only_of(&self, id: u64) -> bool {
        (self.marks == id << 1) & (self.not_marks == !(id << 1))
    }

    /// Whether the handles set came from more than one monitor, or from one that is
    /// not `id`.
    pub(crate) fn foreign_to(&self, id: u64) -> bool {
        (self.marks & self.not_marks) >> 1 != 0 || self.marks >> 1 != id
    }

    /// Whether a handle set was folded into `__other__`.
    pub(crate) fn folded(&self) -> bool {
        self.marks & 1 != 0
    }

    #[cfg(test)]
    fn keys(&self) -> Vec<(&'a str, &'a str)> {
        self.attributes().collect()
    }

    /// The values set as text alone.
    pub(crate) fn without_handles(&self) -> Self {
        Self {
            handles: Combo::default(),
            marks: 0,
            not_marks: 0,
            last: None,
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
    pub(crate) fn attributes(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.attrs[..usize::from(self.attr_len)]
            .iter()
            .flatten()
            .copied()
    }

    /// The requested model, when set (through a handle, which wins, or as text).
    pub(crate) fn requested_model(&self) -> Option<&'a str> {
        match self.requested {
            Some(v) => Some(&v.value),
            None => self.built_in[REQUESTED_DIM],
        }
    }
}

/// All [`MAX_ATTRIBUTES`] places taken, `key` set again: merges repeated keys (each
/// keeping its last value) and sets `key`, returning the attributes and how many
/// there are (one more than [`MAX_ATTRIBUTES`] when a fifth distinct key came).
#[cold]
#[inline(never)]
fn merge_repeats<'a>(
    mut attrs: [(&'a str, &'a str); MAX_ATTRIBUTES],
    key: &'a str,
    value: &'a str,
) -> ([(&'a str, &'a str); MAX_ATTRIBUTES], usize) {
    let mut kept = 0;
    for i in 0..MAX_ATTRIBUTES {
        let (k, v) = attrs[i];
        if let Some(earlier) = attrs[..kept].iter_mut().find(|(e, _)| *e == k) {
            earlier.1 = v;
        } else {
            attrs[kept] = (k, v);
            kept += 1;
        }
    }
    if let Some(earlier) = attrs[..kept].iter_mut().find(|(e, _)| *e == key) {
        earlier.1 = value;
    } else if kept < MAX_ATTRIBUTES {
        attrs[kept] = (key, value);
        kept += 1;
    } else {
        kept += 1;
    }
    (attrs, kept)
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
