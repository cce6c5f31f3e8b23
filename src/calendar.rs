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

/// RFC 3339 in UTC with seconds, `YYYY-MM-DDTHH:MM:SSZ`, for Unix seconds.
pub(crate) fn rfc3339(secs: u64) -> String {
    let (y, mo, d) = civil_from_days((secs / DAY) as i64);
    let (h, m, s) = (secs % DAY / 3600, secs % 3600 / 60, secs % 60);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// Unix milliseconds of an RFC 3339 UTC time, `YYYY-MM-DDTHH:MM:SSZ` with optional
/// fractional seconds (to the millisecond); `None` for anything else (other offsets
/// included: configuration times are written in UTC).
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || !matches!(b[b.len() - 1], b'Z' | b'z') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let ms = match &s[19..s.len() - 1] {
        "" => 0,
        f if f.starts_with('.') && f.len() > 1 => {
            let digits = &f[1..];
            if !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let padded = format!("{:0<3}", &digits[..digits.len().min(3)]);
            padded.parse::<u64>().ok()?
        }
        _ => return None,
    };
    let days_in = |y: i64, m: u32| {
        days_from_civil(y + i64::from(m == 12), m % 12 + 1, 1) - days_from_civil(y, m, 1)
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    if d < 1 || i64::from(d) > days_in(i64::from(y), mo) {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d) as u64;
    Some(((days * DAY + u64::from(h) * 3600 + u64::from(mi) * 60 + u64::from(sec)) * 1000) + ms)
}

/// RFC 3339 in UTC of a time, with milliseconds when it has any
/// (`2026-11-23T01:01:05.250Z`); times before 1970 read as the epoch.
pub(crate) fn rfc3339_time(t: std::time::SystemTime) -> String {
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let whole = rfc3339(ms / 1000);
    match ms % 1000 {
        0 => whole,
        frac => format!("{}.{frac:03}Z", &whole[..whole.len() - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parses_back_what_it_writes_and_refuses_the_rest() {
        for secs in [0, 1_795_392_000, 1_795_392_000 + 86_399, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs * 1000));
        }
        assert_eq!(
            parse_rfc3339("2026-11-23T00:00:00.25Z"),
            Some(1_795_392_000_250)
        );
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T00:00:00",
            "2026-11-23T00:00:00+01:00",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T00:00:00.Z",
            "1969-12-31T23:59:59Z",
            "２026-11-23T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_392_000 + 3665), "2026-11-23T01:01:05Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_392_000_250);
        assert_eq!(rfc3339_time(t), "2026-11-23T00:00:00.250Z");
    }

    #[test]
    fn round_trip_and_months() {
        for days in [-1000, 0, 11_016, 20_415, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // 2026-11-23 lies in November: 30 days from 2026-11-01.
        let (s, e) = month_bounds(1_795_392_000);
        assert_eq!(rfc3339(s), "2026-11-01T00:00:00Z");
        assert_eq!(rfc3339(e), "2026-12-01T00:00:00Z");
        let (s, e) = month_bounds(951_782_400);
        assert_eq!((e - s) / DAY, 29);
        assert_eq!(
            day_bounds(1_795_392_000 + 5),
            (1_795_392_000, 1_795_478_400)
        );
    }
}
