//! Calendar dates and SLASCONE's instants: the one place that turns one into the other.
//!
//! A manifest writes a calendar day (`expires: 2027-06-30`); SLASCONE stores an instant
//! (`expiration_date_utc`). The project's `timezone` (an IANA name, default `UTC`) relates the
//! two, always by the same rule:
//!
//! - an expiry is sent as the last second of its day in that zone (23:59:59), a start as the
//!   first (00:00:00), each converted to UTC;
//! - an instant SLASCONE holds stands for the calendar day it falls on in that zone, so the time
//!   of day a portal user or the server picked never causes a difference. With
//!   `timezone: Europe/Berlin`, `2027-06-29T22:00:00Z` (local midnight of 30 June) and
//!   `2027-06-30T21:59:59Z` both read as `2027-06-30`.
//!
//! Time zones come from the database bundled into the binary, so a result never depends on the
//! machine it is computed on.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// The name of the zone used when a project names none.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// The time zone calendar days are read and written in.
#[derive(Clone, PartialEq, Eq)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// UTC: what a project without `timezone` uses.
    pub fn utc() -> Zone {
        Zone {
            name: DEFAULT_TIMEZONE.to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// The zone of an IANA name such as `Europe/Berlin`; `Err` with the reason otherwise.
    pub fn named(name: &str) -> Result<Zone, String> {
        if name == DEFAULT_TIMEZONE {
            return Ok(Zone::utc());
        }
        TimeZone::get(name)
            .map(|tz| Zone {
                name: name.to_owned(),
                tz,
            })
            .map_err(|_| format!("`{name}` is not a time zone of the IANA database"))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendar day `instant` (a date-time as SLASCONE writes it) falls on in this zone.
    /// An instant without an offset is taken as UTC, as SLASCONE's `*_utc` field names say.
    pub fn day_of(&self, instant: &str) -> Option<Date> {
        let instant = instant.trim();
        let timestamp = match instant.parse::<Timestamp>() {
            Ok(timestamp) => timestamp,
            Err(_) => instant
                .parse::<DateTime>()
                .ok()?
                .to_zoned_datetime(TimeZone::UTC)
                .ok()?
                .timestamp(),
        };
        Some(timestamp.to_zoned_datetime(self.tz.clone()).date())
    }

    /// Today in this zone, by the system clock.
    pub fn today(&self) -> Date {
        Timestamp::now().to_zoned_datetime(self.tz.clone()).date()
    }

    /// The last second of `date` in this zone, as a UTC date-time: how an expiry is sent.
    pub fn end_of_day(&self, date: Date) -> String {
        self.instant(date.to_datetime(jiff::civil::time(23, 59, 59, 0)))
    }

    /// The first instant of `date` in this zone, as a UTC date-time: how a start is sent.
    pub fn start_of_day(&self, date: Date) -> String {
        self.instant(date.to_datetime(jiff::civil::Time::midnight()))
    }

    fn instant(&self, local: DateTime) -> String {
        match local.to_zoned_datetime(self.tz.clone()) {
            Ok(zoned) => zoned.timestamp().to_string(),
            // Only dates at the very ends of the representable range fail; they are refused
            // long before (manifest dates are four-digit years).
            Err(_) => format!("{}T00:00:00Z", format_date(local.date())),
        }
    }
}

impl Default for Zone {
    fn default() -> Self {
        Zone::utc()
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `YYYY-MM-DD`, exactly, naming a real calendar day of a year from 1 on (`0000-01-01` is a
/// typing slip or a placeholder, never a license's day).
pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    let shape = bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    text.parse::<Date>().ok().filter(|date| date.year() >= 1)
}

/// A day as manifests and plans write it: `2027-06-30`.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Date {
        parse_date(text).unwrap()
    }

    #[test]
    fn an_expiry_is_the_last_second_of_its_day_in_the_zone() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(berlin.end_of_day(day("2027-06-30")), "2027-06-30T21:59:59Z");
        assert_eq!(berlin.end_of_day(day("2027-12-31")), "2027-12-31T22:59:59Z");
        assert_eq!(
            berlin.start_of_day(day("2027-06-30")),
            "2027-06-29T22:00:00Z"
        );
        assert_eq!(
            Zone::utc().end_of_day(day("2027-06-30")),
            "2027-06-30T23:59:59Z"
        );
        let tokyo = Zone::named("Asia/Tokyo").unwrap();
        assert_eq!(
            tokyo.start_of_day(day("2027-01-01")),
            "2026-12-31T15:00:00Z"
        );
    }

    #[test]
    fn an_instant_reads_as_its_day_in_the_zone() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        for instant in [
            "2027-06-29T22:00:00Z",
            "2027-06-30T21:59:59Z",
            "2027-06-30T21:59:59.999Z",
            "2027-06-30T12:00:00+02:00",
            "2027-06-30T10:00:00",
        ] {
            assert_eq!(berlin.day_of(instant), Some(day("2027-06-30")), "{instant}");
        }
        assert_eq!(
            berlin.day_of("2027-06-30T22:00:00Z"),
            Some(day("2027-07-01"))
        );
        assert_eq!(
            Zone::utc().day_of("2027-06-29T22:00:00Z"),
            Some(day("2027-06-29"))
        );
        assert_eq!(berlin.day_of("next tuesday"), None);
    }

    #[test]
    fn what_is_sent_reads_back_as_the_same_day() {
        for name in [
            "UTC",
            "Europe/Berlin",
            "America/Los_Angeles",
            "Pacific/Kiritimati",
        ] {
            let zone = Zone::named(name).unwrap();
            for text in ["2027-03-28", "2027-10-31", "2028-02-29", "2027-12-31"] {
                let date = day(text);
                assert_eq!(
                    zone.day_of(&zone.end_of_day(date)),
                    Some(date),
                    "{name} {text}"
                );
                assert_eq!(
                    zone.day_of(&zone.start_of_day(date)),
                    Some(date),
                    "{name} {text}"
                );
            }
        }
    }

    #[test]
    fn unknown_zones_and_malformed_dates_are_refused() {
        assert!(
            Zone::named("Europe/Atlantis")
                .unwrap_err()
                .contains("Europe/Atlantis")
        );
        assert!(Zone::named("").is_err());
        for text in [
            "2027-02-30",
            "27-06-30",
            "2027-6-30",
            "2027-06-30T00:00:00Z",
            " 2027-06-30",
            "0000-00-00",
            "0000-01-01",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
        assert_eq!(format_date(day("0999-01-02")), "0999-01-02");
    }
}
