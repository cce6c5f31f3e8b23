//! Display names of the crate's enums: the same words serde writes, so a log line, a
//! CSV cell, an error message and the JSON say `no_data` alike (never `Debug` output).

/// Implements `as_str` and `Display` for a fieldless enum from its serde names.
macro_rules! serde_names {
    ($t:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $t {
            /// Every variant, for the test that names match serde's.
            #[cfg(test)]
            pub(crate) const VARIANTS: &'static [$t] = &[$(<$t>::$variant),+];

            /// The name, as serialized.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }

        /// The serialized name.
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

    };
}

pub(crate) use serde_names;

/// A duration for people: `250ms`, `45s`, `5m`, `1h5m`, `2d3h`; `ms` where it is not
/// whole seconds, and only the two largest units.
pub(crate) fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 != 0 || ms == 0 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    let (days, hours, minutes, secs) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) if secs == 0 => format!("{minutes}m"),
        (0, 0, _) => format!("{minutes}m{secs}s"),
        (0, _, 0) => format!("{hours}h"),
        (0, _, _) => format!("{hours}h{minutes}m"),
        (_, 0, _) => format!("{days}d"),
        _ => format!("{days}d{hours}h"),
    }
}

#[cfg(test)]
mod tests {
    use crate::alerts::{AlertEventKind, AlertState, IncidentEventKind};
    use crate::cost::BudgetPeriod;
    use crate::heuristics::{Level, Priority};
    use crate::reports::ReportSchedule;
    use crate::rules::Severity;

    #[test]
    fn durations_read_as_people_write_them() {
        use std::time::Duration;
        let cases = [
            (Duration::from_millis(250), "250ms"),
            (Duration::ZERO, "0ms"),
            (Duration::from_secs(45), "45s"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(330), "5m30s"),
            (Duration::from_secs(3900), "1h5m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_secs(2 * 86_400 + 3 * 3600 + 60), "2d3h"),
        ];
        for (d, want) in cases {
            assert_eq!(super::duration(d), want);
        }
    }

    fn check<T: serde::Serialize + std::fmt::Display>(variants: &[T]) {
        for v in variants {
            assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{v}\""));
        }
    }

    #[test]
    fn display_names_are_serde_names() {
        check(Severity::VARIANTS);
        check(AlertEventKind::VARIANTS);
        check(AlertState::VARIANTS);
        check(IncidentEventKind::VARIANTS);
        check(Priority::VARIANTS);
        check(Level::VARIANTS);
        check(ReportSchedule::VARIANTS);
        check(BudgetPeriod::VARIANTS);
    }
}
