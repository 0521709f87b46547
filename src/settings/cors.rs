//! The browser origins allowed to call the API.

use super::parse::SettingsError;

/// `CORS_ALLOWED_ORIGINS`: comma-separated origins, each `http(s)://…`, trailing `/` dropped.
pub(super) fn allowed_origins<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Vec<String>, SettingsError> {
    let cors_invalid = get("CORS_ALLOWED_ORIGINS")
        .into_iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .find(|o| !(o.is_empty() || o.starts_with("https://") || o.starts_with("http://")));
    if let Some(o) = cors_invalid {
        return Err(SettingsError(format!(
            "CORS_ALLOWED_ORIGINS: {o:?} is not an origin like https://stages.ville.example"
        )));
    }
    Ok(get("CORS_ALLOWED_ORIGINS")
        .map(|list| {
            list.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use crate::settings::{env, Settings};

    #[test]
    fn cors_origins_are_parsed_and_checked() {
        let s = Settings::from_map(&env(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://a.example/, http://localhost:3000",
        )]))
        .unwrap();
        assert_eq!(
            s.cors_allowed_origins,
            ["https://a.example", "http://localhost:3000"]
        );
        assert!(Settings::from_map(&env(&[("CORS_ALLOWED_ORIGINS", "a.example")])).is_err());
    }
}
