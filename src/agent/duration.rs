//! Human durations for `--interval` and `--grace`: `200ms`, `30s`, `5m`, `1h30m`, `1d`.

use std::time::Duration;

/// Parses a duration written as one or more number-and-unit pairs (units `ms`, `s`, `m`, `h`,
/// `d`). Zero is refused: an interval of nothing would spin.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; write it like 200ms, 30s, 5m, 1h30m or 1d");
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        let part = u32::try_from(number)
            .ok()
            .and_then(|n| unit.checked_mul(n))
            .ok_or_else(bad)?;
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    if total.is_zero() {
        return Err(format!(
            "`{text}` is no time at all; give a duration above zero"
        ));
    }
    Ok(total)
}

/// A duration as [`parse`] reads it, in its largest exact units (`1h30m`, `200ms`).
pub fn show(duration: Duration) -> String {
    let mut millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if millis >= size {
            out.push_str(&format!("{}{unit}", millis / size));
            millis %= size;
        }
    }
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_units_and_their_sums() {
        assert_eq!(parse("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 1d "), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("1m30s500ms"), Ok(Duration::from_millis(90_500)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for text in [
            "",
            "5",
            "m",
            "5x",
            "1.5m",
            "-1s",
            "5 m",
            "0s",
            "99999999999h",
        ] {
            assert!(parse(text).is_err(), "{text:?} parsed");
        }
        assert_eq!(
            parse("5x").unwrap_err(),
            "`5x` is not a duration; write it like 200ms, 30s, 5m, 1h30m or 1d"
        );
    }

    #[test]
    fn shows_what_it_reads() {
        for text in ["200ms", "30s", "5m", "1h30m", "1d", "1m30s500ms"] {
            assert_eq!(show(parse(text).unwrap()), text);
        }
    }
}
