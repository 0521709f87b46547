//! The proxies in front of the service, whose forwarding header is believed.

use super::parse::{parse_cidrs, SettingsError};
use crate::proxies::Cidr;

/// `TRUSTED_PROXIES`, and the retired `TRUST_FORWARDED_FOR` refused with what replaces it.
pub(super) fn trusted_proxies<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Vec<Cidr>, SettingsError> {
    if let Some(old) = get("TRUST_FORWARDED_FOR").map(str::trim) {
        if !(old.is_empty() || old.eq_ignore_ascii_case("false")) {
            return Err(SettingsError(
                "TRUST_FORWARDED_FOR was removed: it believed the left-most X-Forwarded-For entry, \
                 which clients write themselves. Set TRUSTED_PROXIES to your proxies' addresses \
                 (CIDRs, e.g. TRUSTED_PROXIES=10.0.0.0/8) and unset TRUST_FORWARDED_FOR"
                    .to_owned(),
            ));
        }
    }
    get("TRUSTED_PROXIES").map_or(Ok(Vec::new()), |list| parse_cidrs("TRUSTED_PROXIES", list))
}

#[cfg(test)]
mod tests {
    use crate::proxies::ForwardedHeader;
    use crate::settings::{env, Settings};

    #[test]
    fn trusted_proxies_are_cidrs_and_the_retired_setting_is_refused() {
        let s = Settings::from_map(&env(&[
            ("TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32,192.0.2.1"),
            ("FORWARDED_HEADER", "Forwarded"),
        ]))
        .unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        assert_eq!(s.forwarded_header, ForwardedHeader::Forwarded);
        let s = Settings::from_map(&env(&[("TRUST_FORWARDED_FOR", "false")])).unwrap();
        assert!(s.trusted_proxies.is_empty());
        assert_eq!(s.forwarded_header, ForwardedHeader::XForwardedFor);
        let err = Settings::from_map(&env(&[("TRUST_FORWARDED_FOR", "true")])).unwrap_err();
        assert!(err.0.contains("TRUSTED_PROXIES"), "{}", err.0);
        let err = Settings::from_map(&env(&[("TRUSTED_PROXIES", "proxy.lan")])).unwrap_err();
        assert!(err.0.starts_with("TRUSTED_PROXIES"), "{}", err.0);
        assert!(Settings::from_map(&env(&[("FORWARDED_HEADER", "x-real-ip")])).is_err());
    }
}
