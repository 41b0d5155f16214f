use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
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
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    // Offsets written without a colon (`+0000`), as some templates do.
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
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().and_then(from_epoch);
    }
    None
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

    #[test]
    fn rejects_nonsense_and_out_of_range() {
        for bad in [json!("yesterday"), json!(""), json!("2026-13-01"), json!(true), json!(-5), json!("0001-01-01T00:00:00Z"), json!(1.5), json!({"t": 1})] {
            assert_eq!(parse_event_time(&bad), None, "{bad}");
        }
    }
}
