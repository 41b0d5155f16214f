use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;

/// Earliest and latest instants accepted as event times: anything outside is a broken
/// template (seconds read as milliseconds, a year 0), not a real event.
const EARLIEST_YEAR: i32 = 2000;
const LATEST_YEAR: i32 = 2100;
/// Epoch values at or above this are milliseconds, below it seconds (1e11 s is year 5138).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Parses an Extole event time: RFC 3339 / ISO 8601 with or without an offset (UTC when
/// absent), `YYYY-MM-DD HH:MM:SS`, a bare date, or epoch seconds or milliseconds.
pub fn parse_event_time(value: &Value) -> Option<DateTime<Utc>> {
    let parsed = match value {
        Value::Number(n) => n.as_i64().and_then(from_epoch),
        Value::String(s) => parse_text(s.trim()),
        _ => None,
    }?;
    // A leap second (23:59:60) would be written back as `:60`, which Braze refuses: it is
    // kept as the last instant of the minute before.
    let parsed = parsed.with_nanosecond(parsed.nanosecond().min(999_999_999)).unwrap_or(parsed);
    (EARLIEST_YEAR..=LATEST_YEAR)
        .contains(&chrono::Datelike::year(&parsed))
        .then_some(parsed)
}

fn parse_text(text: &str) -> Option<DateTime<Utc>> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().and_then(from_epoch);
    }
    let parsed = match DateTime::parse_from_rfc3339(text) {
        Ok(t) => t,
        Err(_) => DateTime::parse_from_rfc3339(&as_rfc3339(text)?).ok()?,
    };
    Some(parsed.with_timezone(&Utc))
}

/// The other layouts templates use, rewritten as RFC 3339 for chrono to parse and check:
/// `YYYY-MM-DD`, and `YYYY-MM-DD HH:MM:SS[.fff]` or `...THH:MM:SS[.fff]` with no offset (UTC)
/// or an offset without its colon (`+0100`). (Only RFC 3339 goes to chrono: its general
/// pattern parser cost the Worker's WebAssembly about 5 KB gzip for these few layouts.)
fn as_rfc3339(text: &str) -> Option<String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (date, rest) = (text.get(..10)?, &text[10..]);
    let date_ok = date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-' && digits(&date[..4]) && digits(&date[5..7]) && digits(&date[8..]);
    if !date_ok {
        return None;
    }
    if rest.is_empty() {
        return Some(format!("{date}T00:00:00Z"));
    }
    let rest = rest.strip_prefix([' ', 'T', 't'])?;
    let time_end = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(time_end);
    let (hms, fraction) = time.split_once('.').map_or((time, None), |(hms, f)| (hms, Some(f)));
    let hms_ok = hms.len() == 8 && hms.as_bytes()[2] == b':' && hms.as_bytes()[5] == b':' && digits(&hms[..2]) && digits(&hms[3..5]) && digits(&hms[6..]);
    if !hms_ok || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    let zone = if zone.is_empty() {
        "Z".to_string()
    } else if zone.len() == 5 && zone.starts_with(['+', '-']) && digits(&zone[1..]) {
        format!("{}:{}", &zone[..3], &zone[3..])
    } else {
        zone.to_string() // `Z` or `+hh:mm` as they are; anything else chrono refuses
    };
    Some(format!("{date}T{time}{zone}"))
}

fn from_epoch(value: i64) -> Option<DateTime<Utc>> {
    if value >= MILLIS_THRESHOLD {
        DateTime::from_timestamp_millis(value)
    } else {
        DateTime::from_timestamp(value, 0)
    }
}

/// Braze's event time format: RFC 3339 in UTC with milliseconds.
pub fn format_braze_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn iso(value: Value) -> Option<String> {
        parse_event_time(&value).map(|t| format_braze_time(&t))
    }

    #[test]
    fn accepts_the_formats_templates_use() {
        let expected = Some("2026-11-22T18:44:31.120Z".to_string());
        assert_eq!(iso(json!("2026-11-22T18:44:31.120Z")), expected);
        assert_eq!(iso(json!("2026-11-22T19:44:31.120+01:00")), expected);
        assert_eq!(iso(json!("2026-11-22T19:44:31.120+0100")), expected);
        assert_eq!(iso(json!("2026-11-22T18:44:31.120")), expected);
        assert_eq!(iso(json!("2026-11-22 18:44:31.120")), expected);
        assert_eq!(iso(json!(1795373071120_i64)), expected);
        assert_eq!(iso(json!("1795373071120")), expected);
        assert_eq!(iso(json!(1795373071)), Some("2026-11-22T18:44:31.000Z".into()));
        assert_eq!(iso(json!("2026-11-22")), Some("2026-11-22T00:00:00.000Z".into()));
        assert_eq!(iso(json!("2026-12-31T23:59:60Z")), Some("2026-12-31T23:59:59.999Z".into()), "leap second");
    }

    /// The same inputs through chrono's own strftime parsing of the layouts: whatever the
    /// relay reads, chrono reads as the same instant. (chrono is more lenient: it also takes
    /// one-digit fields, five-digit years and `+hh` offsets, which templates do not send.)
    #[test]
    fn never_disagrees_with_chrono_parse_from_str() {
        use chrono::{NaiveDate, NaiveDateTime};
        fn reference(text: &str) -> Option<DateTime<Utc>> {
            if let Ok(t) = DateTime::parse_from_rfc3339(text) {
                return Some(t.with_timezone(&Utc));
            }
            if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
                return Some(t.with_timezone(&Utc));
            }
            for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
                if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                    return Some(Utc.from_utc_datetime(&t));
                }
            }
            if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
            }
            None
        }
        let dates = ["2026-11-22", "2026-1-2", "2026-02-30", "2024-02-29", "99999-01-01", "+2026-11-22", "2026-11-22x"];
        let times = ["18:44:31", "18:44:31.120", "8:4:3", "18:44:31.123456789", "18:44:60", "24:00:00", "18:44", "18:44:31."];
        let offsets = ["", "Z", "z", "+0100", "+01:00", "-0530", "+01", "+010", " +0100", "UTC"];
        let mut inputs = vec![String::new(), " ".into(), "2026-11-22 ".into(), " 2026-11-22".into()];
        for date in dates {
            inputs.push(date.into());
            for separator in ["T", " ", "t", "  ", "_"] {
                for time in times {
                    for offset in offsets {
                        inputs.push(format!("{date}{separator}{time}{offset}"));
                    }
                }
            }
        }
        let mut accepted = 0;
        for input in &inputs {
            if let Some(t) = parse_text(input) {
                // A space or a `t` before the time is read as a `T`, with or without an
                // offset (chrono's layouts take each only in some combinations).
                let with_t = |text: &str| text.get(..10).map(|date| format!("{date}T{}", &text[11..]));
                let same = reference(input).or_else(|| with_t(input).and_then(|t| reference(&t)));
                assert_eq!(Some(t), same, "{input:?}");
                accepted += 1;
            }
        }
        // Every two-digit-field layout with a valid date and time is read.
        assert!(accepted > 100, "only {accepted} inputs read");
    }

    #[test]
    fn rejects_nonsense_and_out_of_range() {
        for bad in [json!("yesterday"), json!(""), json!("2026-13-01"), json!(true), json!(-5), json!("0001-01-01T00:00:00Z"), json!(1.5), json!({"t": 1})] {
            assert_eq!(parse_event_time(&bad), None, "{bad}");
        }
    }
}
