//! Partner job boards: their rate limit, key rotation, publication formats and webhooks.

use super::parse::{parse_or, SettingsError};
use std::time::Duration;

/// Partner job boards: rate limit, key rotation, publication formats and webhooks.
#[derive(Clone, Debug)]
pub struct PartnerSettings {
    /// `PARTNER_RATE_LIMIT` (default 600): requests a partner may make per window, counted
    /// in the database so that every instance shares the budget.
    pub rate_limit: i32,
    /// `PARTNER_RATE_WINDOW_SECONDS` (default 60).
    pub rate_window: Duration,
    /// `PARTNER_KEY_OVERLAP_HOURS` (default 24): how long the previous keys keep working
    /// after a rotation (a rotation may ask for less, down to 0).
    pub key_overlap_hours: i64,
    /// `OFFER_URL_TEMPLATE` (default `{PUBLIC_BASE_URL}/api/v1/offers/{slug}`): the page of
    /// an offer that feeds and JSON-LD link to; `{slug}` and `{id}` are replaced.
    pub offer_url_template: String,
    /// `FEED_PUBLISHER` (default `Passerelle`): the publisher named by the feeds.
    pub feed_publisher: String,
    /// `ORGANIZATION_URL` (default unset): the city's own site, the employer's `sameAs` in
    /// JSON-LD and the publisher's URL in the XML feed (else `PUBLIC_BASE_URL`).
    pub organization_url: Option<String>,
    /// `ORGANIZATION_LOGO_URL` (default unset): the employer's logo in JSON-LD.
    pub organization_logo_url: Option<String>,
    pub webhooks: WebhookSettings,
}

/// Outbound webhook calls.
#[derive(Clone, Copy, Debug)]
pub struct WebhookSettings {
    /// `WEBHOOK_ALLOW_HTTP` (default false): accept `http://` endpoints (tests only).
    pub allow_http: bool,
    /// `WEBHOOK_ALLOW_LOOPBACK` (default false): accept endpoints on 127.0.0.0/8 and ::1
    /// (tests only). Private, link-local and metadata addresses are always refused.
    pub allow_loopback: bool,
    /// `WEBHOOK_TIMEOUT_SECONDS` (default 10): the whole of one delivery attempt.
    pub timeout: Duration,
    /// `WEBHOOK_MAX_RESPONSE_BYTES` (default 16384): the most of an answer that is read.
    pub max_response_bytes: usize,
}

impl PartnerSettings {
    /// `PARTNER_*`, `OFFER_URL_TEMPLATE`, `FEED_PUBLISHER`, `ORGANIZATION_URL`,
    /// `ORGANIZATION_LOGO_URL` and `WEBHOOK_*`.
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        public_base_url: &str,
    ) -> Result<Self, SettingsError> {
        let rate_limit = parse_or(&get, "PARTNER_RATE_LIMIT", 600i32)?;
        let rate_window = parse_or(&get, "PARTNER_RATE_WINDOW_SECONDS", 60u64)?;
        if rate_limit < 1 || rate_window < 1 {
            return Err(SettingsError(
                "PARTNER_RATE_LIMIT and PARTNER_RATE_WINDOW_SECONDS must be at least 1".into(),
            ));
        }
        let key_overlap_hours = parse_or(&get, "PARTNER_KEY_OVERLAP_HOURS", 24i64)?;
        if !(0..=24 * 90).contains(&key_overlap_hours) {
            return Err(SettingsError(
                "PARTNER_KEY_OVERLAP_HOURS must be between 0 and 2160 (90 days)".into(),
            ));
        }
        let offer_url_template = get("OFFER_URL_TEMPLATE")
            .map(str::to_owned)
            .unwrap_or_else(|| default_offer_url_template(public_base_url));
        if !(offer_url_template.starts_with("https://")
            || offer_url_template.starts_with("http://"))
            || !(offer_url_template.contains("{slug}") || offer_url_template.contains("{id}"))
        {
            return Err(SettingsError(
                "OFFER_URL_TEMPLATE must be an http(s) URL containing {slug} or {id}".into(),
            ));
        }
        let absolute_url = |name: &str| match get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) if v.starts_with("https://") || v.starts_with("http://") => {
                Ok(Some(v.to_owned()))
            }
            Some(_) => Err(SettingsError(format!("{name} must be an http(s) URL"))),
        };
        let organization_url = absolute_url("ORGANIZATION_URL")?;
        let organization_logo_url = absolute_url("ORGANIZATION_LOGO_URL")?;
        let timeout = parse_or(&get, "WEBHOOK_TIMEOUT_SECONDS", 10u64)?;
        let lease = parse_or(&get, "JOB_LEASE_SECONDS", 300u64)?;
        if timeout == 0 || lease <= timeout.saturating_mul(2) {
            return Err(SettingsError(format!(
                "WEBHOOK_TIMEOUT_SECONDS must be at least 1 and less than half of \
             JOB_LEASE_SECONDS ({lease})"
            )));
        }
        let max_response_bytes = parse_or(&get, "WEBHOOK_MAX_RESPONSE_BYTES", 16 * 1024usize)?;
        if max_response_bytes < 256 {
            return Err(SettingsError(
                "WEBHOOK_MAX_RESPONSE_BYTES must be at least 256".into(),
            ));
        }
        Ok(PartnerSettings {
            rate_limit,
            rate_window: Duration::from_secs(rate_window),
            key_overlap_hours,
            offer_url_template,
            feed_publisher: get("FEED_PUBLISHER").unwrap_or("Passerelle").to_owned(),
            organization_url,
            organization_logo_url,
            webhooks: WebhookSettings {
                allow_http: parse_or(&get, "WEBHOOK_ALLOW_HTTP", false)?,
                allow_loopback: parse_or(&get, "WEBHOOK_ALLOW_LOOPBACK", false)?,
                timeout: Duration::from_secs(timeout),
                max_response_bytes,
            },
        })
    }
}

/// `OFFER_URL_TEMPLATE` when it is unset: the offer's JSON in this API (no page exists
/// without the city's site; `serve` warns about it).
pub fn default_offer_url_template(public_base_url: &str) -> String {
    format!("{public_base_url}/api/v1/offers/{{slug}}")
}

#[cfg(test)]
mod tests {
    use crate::settings::{env, Settings};

    #[test]
    fn partner_settings_have_safe_defaults_and_are_checked() {
        let s = Settings::from_map(&env(&[])).unwrap().partners;
        assert_eq!((s.rate_limit, s.rate_window.as_secs()), (600, 60));
        assert_eq!(s.key_overlap_hours, 24);
        assert!(!s.webhooks.allow_http && !s.webhooks.allow_loopback);
        assert_eq!((s.organization_url, s.organization_logo_url), (None, None));
        assert_eq!(
            s.offer_url_template,
            "http://localhost:8080/api/v1/offers/{slug}"
        );
        for (pairs, name) in [
            (vec![("PARTNER_RATE_LIMIT", "0")], "PARTNER_RATE_LIMIT"),
            (
                vec![("PARTNER_KEY_OVERLAP_HOURS", "-1")],
                "PARTNER_KEY_OVERLAP_HOURS",
            ),
            (
                vec![("OFFER_URL_TEMPLATE", "/offres")],
                "OFFER_URL_TEMPLATE",
            ),
            (
                vec![("WEBHOOK_TIMEOUT_SECONDS", "200")],
                "WEBHOOK_TIMEOUT_SECONDS",
            ),
            (vec![("WEBHOOK_ALLOW_HTTP", "yes")], "WEBHOOK_ALLOW_HTTP"),
            (
                vec![("ORGANIZATION_URL", "www.grenoble.fr")],
                "ORGANIZATION_URL",
            ),
            (
                vec![("ORGANIZATION_LOGO_URL", "logo.png")],
                "ORGANIZATION_LOGO_URL",
            ),
        ] {
            let err = Settings::from_map(&env(&pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }
}
