//! What every section of the settings shares: the error, and reading a value or a list of
//! networks from a variable, with errors that name the variable.

use crate::proxies::Cidr;

/// A setting that cannot be used, and why (naming the variable, never a secret's value).
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct SettingsError(pub String);

/// A comma-separated list of CIDRs (or bare addresses), errors naming the variable.
pub(super) fn parse_cidrs(name: &str, list: &str) -> Result<Vec<Cidr>, SettingsError> {
    list.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<Cidr>()
                .map_err(|e| SettingsError(format!("{name}: {e}")))
        })
        .collect()
}

pub(super) fn parse_or<'a, T: std::str::FromStr>(
    get: impl Fn(&str) -> Option<&'a str>,
    name: &str,
    default: T,
) -> Result<T, SettingsError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|e| SettingsError(format!("{name}={raw:?} is not valid: {e}"))),
    }
}
