//! A dimension value looked up once, for selections that skip the lookup.

use std::sync::Arc;

/// A dimension value resolved once with
/// [`Monitor::dimension_value`](crate::Monitor::dimension_value), to set on
/// selections with [`Selection::value`](crate::Selection::value): as a
/// [`ModelHandle`](crate::ModelHandle) does for a model, it spares each selection the
/// lookup of the value by its text. A selection may mix handles and strings; a handle
/// wins over a string for the same dimension.
///
/// A handle belongs to the monitor that made it; a selection carrying one from another
/// monitor is refused ([`RecordError::ForeignDimensionValue`](crate::RecordError::ForeignDimensionValue)).
/// A value past its dimension's cap gets a handle to `__other__`, and every selection
/// recorded with it is counted as folded, as with the string.
///
/// ```
/// use modelmeter::{Monitor, Selection};
/// use std::time::Duration;
///
/// let monitor = Monitor::builder().dimension("team", 50).background(false).build()?;
/// let openai = monitor.dimension_value("provider", "openai")?;
/// let search = monitor.dimension_value("team", "search")?;
/// let s = Selection::new("gpt-4o", Duration::from_millis(840))
///     .value(&openai)
///     .value(&search);
/// monitor.record_selection(&s)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionValue {
    /// The monitor's id (from 1) shifted left once, and 1 when the value is folded: a
    /// selection ORs the marks of its handles (and their complements), which tells
    /// at recording whether they all came from one monitor and whether any is folded.
    pub(super) mark: u64,
    pub(super) dim: usize,
    pub(super) id: u16,
    /// The id in its place in a [`Combo`](super::Combo), and the other places' mask:
    /// what setting the handle on a selection writes and keeps.
    pub(super) bits: u128,
    pub(super) keep: u128,
    pub(super) key: Arc<str>,
    pub(super) value: Arc<str>,
}

impl DimensionValue {
    /// The dimension (`provider`, `operation`, `requested_model` or a declared key).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value, as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the value came after its dimension's cap filled, so that its
    /// selections are counted under `__other__`.
    pub fn is_folded(&self) -> bool {
        self.id == super::values::OTHER_ID
    }
}
