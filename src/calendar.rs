//! The city's calendar: every date rule (an application deadline, a start date, a retention
//! period counted in days, a feed's day) is a day in the city's time zone (`CITY_TIME_ZONE`,
//! default `Europe/Paris`), not in UTC. A deadline of 15 January takes applications until
//! the end of 15 January in Paris: 23:00 UTC in winter, 22:00 UTC in summer.
//!
//! The zone rules come from the IANA database bundled in the binary (jiff), so a server
//! answers the same on every machine, with or without `/usr/share/zoneinfo`.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use jiff::{civil, tz::TimeZone, Timestamp};

/// The zone a French city runs on, used when `CITY_TIME_ZONE` is unset.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Paris";

/// The city's time zone and the day arithmetic done in it.
#[derive(Clone)]
pub struct CityCalendar {
    name: String,
    zone: TimeZone,
}

impl std::fmt::Debug for CityCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CityCalendar").field(&self.name).finish()
    }
}

impl PartialEq for CityCalendar {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Default for CityCalendar {
    #[allow(
        clippy::expect_used,
        reason = "a constant name of the bundled database, built by every unit test here"
    )]
    fn default() -> Self {
        CityCalendar::new(DEFAULT_TIME_ZONE).expect("the default zone is in the bundled database")
    }
}

impl CityCalendar {
    /// The calendar of an IANA zone name (`Europe/Paris`, `America/Cayenne`, `UTC`). An
    /// unknown name is refused: a typo must stop the server at start, not shift deadlines.
    pub fn new(name: &str) -> Result<Self, String> {
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!(
                "{name:?} is not an IANA time zone name (like {DEFAULT_TIME_ZONE})"
            ));
        }
        let zone = TimeZone::get(name).map_err(|_| {
            format!("{name:?} is not a time zone of the IANA database (like {DEFAULT_TIME_ZONE})")
        })?;
        Ok(CityCalendar {
            name: name.to_owned(),
            zone,
        })
    }

    /// The IANA name, as configured.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The city's date at `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        let date = to_jiff(now).to_zoned_datetime(self.zone.clone()).date();
        from_civil(date)
    }

    /// The first instant of `day` in the city (its local midnight, or the first time after
    /// a midnight that a clock change skips).
    pub fn day_start(&self, day: NaiveDate) -> DateTime<Utc> {
        let zoned = to_civil(day)
            .to_zoned_datetime(self.zone.clone())
            .and_then(|z| z.start_of_day());
        match zoned {
            Ok(z) => from_jiff(z.timestamp()),
            // Only at the far ends of the calendar, which no offer reaches.
            Err(_) => day.and_time(chrono::NaiveTime::MIN).and_utc(),
        }
    }

    /// The instant `day` ends in the city: the first instant of the next day. A deadline of
    /// `day` takes applications while `now < day_end(day)`.
    pub fn day_end(&self, day: NaiveDate) -> DateTime<Utc> {
        match day.succ_opt() {
            Some(next) => self.day_start(next),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// True while `day` has not ended in the city: through 23:59:59.999… local time.
    pub fn is_open_through(&self, day: NaiveDate, now: DateTime<Utc>) -> bool {
        now < self.day_end(day)
    }

    /// The last second of `day` in the city with its UTC offset on that day
    /// (`2027-01-15T23:59:59+01:00`), for documents that state when something ends.
    pub fn last_second(&self, day: NaiveDate) -> DateTime<FixedOffset> {
        let end = self.day_end(day) - chrono::TimeDelta::seconds(1);
        self.local(end)
    }

    /// `at` on the city's clock, with the offset in force then.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        let offset = self.zone.to_offset(to_jiff(at)).seconds();
        let offset = FixedOffset::east_opt(offset).unwrap_or(chrono::Offset::fix(&Utc));
        at.with_timezone(&offset)
    }
}

fn to_jiff(t: DateTime<Utc>) -> Timestamp {
    Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32).unwrap_or(
        if t.timestamp() < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        },
    )
}

fn from_jiff(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().max(0) as u32)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn to_civil(day: NaiveDate) -> civil::Date {
    // Offers' dates are years 2000..3000; clamp the rest into jiff's range.
    let year = day.year().clamp(-9999, 9999) as i16;
    civil::Date::new(year, day.month() as i8, day.day() as i8)
        .or_else(|_| civil::Date::new(year, day.month() as i8, 28))
        .unwrap_or(civil::Date::MIN)
}

fn from_civil(d: civil::Date) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year().into(), d.month() as u32, d.day() as u32)
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_paris_day_ends_at_local_midnight_in_winter_and_summer() {
        let paris = CityCalendar::default();
        assert_eq!(
            paris.day_end(day("2027-01-15")),
            utc("2027-01-15T23:00:00Z")
        );
        assert_eq!(
            paris.day_end(day("2027-07-15")),
            utc("2027-07-15T22:00:00Z")
        );
        let last = utc("2027-01-15T22:59:59.999Z");
        assert!(paris.is_open_through(day("2027-01-15"), last));
        assert!(!paris.is_open_through(day("2027-01-15"), utc("2027-01-15T23:00:00Z")));
        assert_eq!(paris.today(last), day("2027-01-15"));
        assert_eq!(paris.today(utc("2027-01-15T23:00:00Z")), day("2027-01-16"));
    }

    #[test]
    fn the_last_days_of_march_and_october_follow_the_clock_change() {
        let paris = CityCalendar::default();
        // 2027-03-28: clocks go forward at 02:00; the day has 23 hours.
        assert_eq!(
            paris.day_start(day("2027-03-28")),
            utc("2027-03-27T23:00:00Z")
        );
        assert_eq!(
            paris.day_end(day("2027-03-28")),
            utc("2027-03-28T22:00:00Z")
        );
        assert_eq!(
            paris.day_end(day("2027-03-31")),
            utc("2027-03-31T22:00:00Z")
        );
        // 2027-10-31: clocks go back at 03:00; the day has 25 hours.
        assert_eq!(
            paris.day_start(day("2027-10-31")),
            utc("2027-10-30T22:00:00Z")
        );
        assert_eq!(
            paris.day_end(day("2027-10-31")),
            utc("2027-10-31T23:00:00Z")
        );
        assert_eq!(
            paris.day_end(day("2027-10-30")),
            utc("2027-10-30T22:00:00Z")
        );
        assert_eq!(
            paris.last_second(day("2027-10-31")).to_rfc3339(),
            "2027-10-31T23:59:59+01:00"
        );
        assert_eq!(
            paris.last_second(day("2027-03-31")).to_rfc3339(),
            "2027-03-31T23:59:59+02:00"
        );
    }

    #[test]
    fn other_zones_and_bad_names() {
        let cayenne = CityCalendar::new("America/Cayenne").unwrap();
        assert_eq!(
            cayenne.day_end(day("2027-01-15")),
            utc("2027-01-16T03:00:00Z")
        );
        let utc_zone = CityCalendar::new("UTC").unwrap();
        assert_eq!(
            utc_zone.day_end(day("2027-01-15")),
            utc("2027-01-16T00:00:00Z")
        );
        for bad in [
            "",
            "Europe/Pariss",
            "Paris",
            "Europe/ Paris",
            "../etc/passwd",
        ] {
            assert!(CityCalendar::new(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
