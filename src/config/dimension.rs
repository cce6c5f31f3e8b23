//! `recording.dimensions`: the keys a selection may be broken down by, beyond the model.

use serde::{Deserialize, Serialize};

use crate::dimension::{BUILT_IN, MAX_ATTRIBUTES, MAX_KEY_LEN, MAX_VALUES_CAP};
use crate::error::ConfigError;

/// One dimension and how many distinct values it keeps before new ones share
/// `__other__`.
///
/// A key is either one of the built-in dimensions (`provider`, `operation`,
/// `requested_model`, which exist without being declared; declaring one only sets its
/// cap) or a host attribute set with [`Selection::attr`](crate::Selection::attr): up to
/// [`MAX_ATTRIBUTES`] of them, 1 to [`MAX_KEY_LEN`] bytes of lowercase ASCII letters,
/// digits and `_`, starting with a letter (it becomes a Prometheus label name).
///
/// ```
/// let config = modelmeter::Config::from_json_str(
///     r#"{"recording": {"dimensions": [{"key": "team", "maxValues": 50}]}}"#,
/// )?;
/// assert_eq!(config.recording.dimensions[0].key, "team");
/// # Ok::<(), modelmeter::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct DimensionConfig {
    /// The key.
    pub key: String,
    /// Distinct values kept, `1..=`[`MAX_VALUES_CAP`]; past it, values share
    /// `__other__` and each such selection is counted in
    /// [`Health::dimensions`](crate::Health::dimensions).
    pub max_values: usize,
}

/// `cost.budget.scoped[]`: a daily or monthly budget (or both) for the selections with
/// one dimension value, such as team `search`.
///
/// ```
/// let config = modelmeter::Config::from_json_str(r#"{
///     "recording": {"dimensions": [{"key": "team", "maxValues": 100}]},
///     "cost": {"budget": {"scoped": [
///         {"dimension": "team", "value": "search", "dailyUsd": 50, "monthlyUsd": 1200}
///     ]}}
/// }"#)?;
/// assert_eq!(config.cost.budget.scoped[0].daily_usd, Some(50.0));
/// # Ok::<(), modelmeter::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ScopedBudget {
    /// The dimension: a built-in one or a key of `recording.dimensions`.
    pub dimension: String,
    /// The value whose spend is limited.
    pub value: String,
    /// Limit per UTC day.
    #[serde(default)]
    pub daily_usd: Option<f64>,
    /// Limit per UTC calendar month.
    #[serde(default)]
    pub monthly_usd: Option<f64>,
}

impl ScopedBudget {
    /// A budget for `value` of `dimension`, with neither limit set yet.
    pub fn new(dimension: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            dimension: dimension.into(),
            value: value.into(),
            daily_usd: None,
            monthly_usd: None,
        }
    }

    /// The limit per UTC day.
    pub fn daily_usd(mut self, usd: f64) -> Self {
        self.daily_usd = Some(usd);
        self
    }

    /// The limit per UTC calendar month.
    pub fn monthly_usd(mut self, usd: f64) -> Self {
        self.monthly_usd = Some(usd);
        self
    }
}

impl DimensionConfig {
    /// `key` with room for `max_values` values.
    pub fn new(key: impl Into<String>, max_values: usize) -> Self {
        Self {
            key: key.into(),
            max_values,
        }
    }
}

/// Checks every declaration: well-formed keys, caps in range, no key twice, at most
/// [`MAX_ATTRIBUTES`] attribute keys.
pub(super) fn validate(dimensions: &[DimensionConfig]) -> Result<(), ConfigError> {
    let mut attributes = 0;
    for (i, d) in dimensions.iter().enumerate() {
        let field = format!("recording.dimensions[{i}]");
        if !valid_key(&d.key) {
            return Err(ConfigError::invalid(
                &format!("{field}.key"),
                format!("{:?}", d.key),
                "must be 1 to 64 bytes of a-z, 0-9 and _, starting with a letter",
            ));
        }
        if RESERVED_KEYS.contains(&d.key.as_str()) {
            return Err(ConfigError::invalid(
                &format!("{field}.key"),
                format!("{:?}", d.key),
                "is reserved: its Prometheus families would collide with the monitor's own",
            ));
        }
        if d.max_values == 0 || d.max_values > MAX_VALUES_CAP {
            return Err(ConfigError::invalid(
                &format!("{field}.maxValues"),
                d.max_values,
                "must be 1..=10000",
            ));
        }
        if dimensions[..i].iter().any(|o| o.key == d.key) {
            return Err(ConfigError::invalid(
                &format!("{field}.key"),
                format!("{:?}", d.key),
                "is declared twice",
            ));
        }
        if !BUILT_IN.contains(&d.key.as_str()) {
            attributes += 1;
            if attributes > MAX_ATTRIBUTES {
                return Err(ConfigError::invalid(
                    &format!("{field}.key"),
                    format!("{:?}", d.key),
                    "is a fifth attribute key; at most 4 may be declared",
                ));
            }
        }
    }
    Ok(())
}

/// Keys whose families (`modelmeter_<key>_selections_total`, ...) are already the
/// monitor's own (`modelmeter_overflow_selections_total`, ...), and `model`.
const RESERVED_KEYS: [&str; 5] = [
    "model",
    "overflow",
    "dimension_overflow",
    "cached_input",
    "reasoning",
];

fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    (1..=MAX_KEY_LEN).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        && key != "model"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(dims: &[(&str, usize)]) -> Result<(), ConfigError> {
        let dims: Vec<_> = dims
            .iter()
            .map(|(k, n)| DimensionConfig::new(*k, *n))
            .collect();
        validate(&dims)
    }

    #[test]
    fn each_bad_declaration_names_its_field() {
        assert!(check(&[("team", 100), ("provider", 8)]).is_ok());
        let field = |r: Result<(), ConfigError>| match r {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(check(&[("Team", 1)])), "recording.dimensions[0].key");
        assert_eq!(field(check(&[("model", 1)])), "recording.dimensions[0].key");
        assert_eq!(
            field(check(&[("reasoning", 1)])),
            "recording.dimensions[0].key"
        );
        assert_eq!(field(check(&[("", 1)])), "recording.dimensions[0].key");
        assert_eq!(
            field(check(&[("team", 0)])),
            "recording.dimensions[0].maxValues"
        );
        assert_eq!(
            field(check(&[("team", 5), ("team", 6)])),
            "recording.dimensions[1].key"
        );
        assert_eq!(
            field(check(&[
                ("a", 1),
                ("b", 1),
                ("provider", 1),
                ("c", 1),
                ("d", 1),
                ("e", 1)
            ])),
            "recording.dimensions[5].key"
        );
    }
}
