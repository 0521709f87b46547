//! The city's calendar: its time zone, how often due offers are closed and published, and
//! whether publishing needs a second person's approval.

use super::parse::{parse_or, SettingsError};
use crate::calendar::{CityCalendar, DEFAULT_TIME_ZONE};
use std::time::Duration;

/// Whether an offer needs a second person's approval before it can be published.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PublicationApproval {
    /// Admins and managers publish their own drafts.
    #[default]
    None,
    /// A manager submits; a different admin or manager approves before anyone publishes.
    Required,
}

impl std::str::FromStr for PublicationApproval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(PublicationApproval::None),
            "required" => Ok(PublicationApproval::Required),
            _ => Err("expected none or required".into()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct CalendarSettings {
    /// `CITY_TIME_ZONE` (default `Europe/Paris`): the IANA zone every date rule is counted
    /// in. An unknown name stops the server at start.
    pub zone: CityCalendar,
    /// `PUBLICATION_APPROVAL` (default `none`; or `required`): four-eyes approval before an
    /// offer can be published or scheduled.
    pub approval: PublicationApproval,
    /// `CALENDAR_INTERVAL_SECONDS` (default 60, from 1 to 3600): how often `serve` queues
    /// the sweep that closes offers whose deadline day has ended and publishes those whose
    /// `publish_at` has come. The sweep runs at the start of each such period (on the
    /// minute with the default), and once at start, which catches up after a downtime.
    pub interval: Duration,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        CalendarSettings {
            zone: CityCalendar::default(),
            approval: PublicationApproval::None,
            interval: Duration::from_secs(60),
        }
    }
}

impl CalendarSettings {
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
        let zone = CityCalendar::new(get("CITY_TIME_ZONE").unwrap_or(DEFAULT_TIME_ZONE))
            .map_err(|e| SettingsError(format!("CITY_TIME_ZONE: {e}")))?;
        let interval = parse_or(&get, "CALENDAR_INTERVAL_SECONDS", 60u64)?;
        if !(1..=3600).contains(&interval) {
            return Err(SettingsError(
                "CALENDAR_INTERVAL_SECONDS must be between 1 and 3600".into(),
            ));
        }
        Ok(CalendarSettings {
            zone,
            approval: parse_or(&get, "PUBLICATION_APPROVAL", PublicationApproval::None)?,
            interval: Duration::from_secs(interval),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{env, Settings};

    #[test]
    fn the_city_time_zone_defaults_to_paris_and_an_unknown_one_stops_the_start() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert_eq!(s.calendar.zone.name(), "Europe/Paris");
        let s = Settings::from_map(&env(&[("CITY_TIME_ZONE", "America/Cayenne")])).unwrap();
        assert_eq!(s.calendar.zone.name(), "America/Cayenne");
        for bad in [
            "Europe/Pariss",
            "Paris",
            "Mars/Olympus_Mons",
            "Europe/ Paris",
        ] {
            let err = Settings::from_map(&env(&[("CITY_TIME_ZONE", bad)])).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("CITY_TIME_ZONE"), "{bad:?}: {text}");
            assert!(text.contains("IANA"), "{bad:?}: {text}");
        }
    }
}
