//! A selection's dimension values as the host set them, borrowed.

use super::{BUILT_IN, MAX_ATTRIBUTES};

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
}

impl<'a> Tags<'a> {
    /// Whether nothing was set: the common case.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.attr_len == 0 && self.built_in == [None; BUILT_IN.len()] && !self.too_many
    }

    #[inline]
    pub(crate) fn set_built_in(&mut self, dim: usize, value: &'a str) {
        self.built_in[dim] = Some(value);
    }

    /// Sets `key` to `value`, replacing a value set before for the same key.
    #[inline]
    pub(crate) fn set_attr(&mut self, key: &'a str, value: &'a str) {
        self.any = true;
        let len = usize::from(self.attr_len);
        if let Some(a) = self.attrs[..len].iter_mut().find(|(k, _)| *k == key) {
            a.1 = value;
        } else if len < MAX_ATTRIBUTES {
            self.attrs[len] = (key, value);
            self.attr_len += 1;
        } else {
            self.too_many = true;
        }
    }

    /// The built-in dimensions set, by index.
    pub(crate) fn built_in(&self) -> impl Iterator<Item = (usize, &'a str)> + '_ {
        self.built_in
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
    }

    /// The attributes set, as `(key, value)`.
    pub(crate) fn attributes(&self) -> &[(&'a str, &'a str)] {
        &self.attrs[..usize::from(self.attr_len)]
    }

    /// The requested model, when set.
    pub(crate) fn requested_model(&self) -> Option<&'a str> {
        self.built_in[super::REQUESTED_DIM]
    }
}
