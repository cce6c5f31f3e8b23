//! UTC calendar arithmetic (proleptic Gregorian, Howard Hinnant's civil algorithms):
//! day and month boundaries for budgets and report schedules, and timestamps for logs.

const DAY: u64 = 86_400;

/// `(year, month 1..=12, day 1..=31)` of a count of days since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a civil date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Start and end (Unix seconds) of the UTC day holding `secs`.
pub(crate) fn day_bounds(secs: u64) -> (u64, u64) {
    let start = secs / DAY * DAY;
    (start, start + DAY)
}

/// Start and end (Unix seconds) of the UTC calendar month holding `secs`.
pub(crate) fn month_bounds(secs: u64) -> (u64, u64) {
    let (y, m, _) = civil_from_days((secs / DAY) as i64);
    let start = days_from_civil(y, m, 1);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let end = days_from_civil(ny, nm, 1);
    (start.max(0) as u64 * DAY, end.max(0) as u64 * DAY)
}

/// `YYYY-MM-DDTHH:MMZ` for Unix seconds.
pub(crate) fn utc_minute(secs: u64) -> String {
    let (y, mo, d) = civil_from_days((secs / DAY) as i64);
    let (h, m) = (secs % DAY / 3600, secs % 3600 / 60);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(utc_minute(0), "1970-01-01T00:00Z");
        assert_eq!(utc_minute(1_795_392_000 + 3660), "2026-11-23T01:01Z");
        assert_eq!(utc_minute(951_782_400), "2000-02-29T00:00Z");
    }

    #[test]
    fn round_trip_and_months() {
        for days in [-1000, 0, 11_016, 20_415, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // 2026-11-23 lies in November: 30 days from 2026-11-01.
        let (s, e) = month_bounds(1_795_392_000);
        assert_eq!(utc_minute(s), "2026-11-01T00:00Z");
        assert_eq!(utc_minute(e), "2026-12-01T00:00Z");
        let (s, e) = month_bounds(951_782_400);
        assert_eq!((e - s) / DAY, 29);
        assert_eq!(
            day_bounds(1_795_392_000 + 5),
            (1_795_392_000, 1_795_478_400)
        );
    }
}
