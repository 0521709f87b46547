//! The organisation's words, which a new staff password must not be built on.

/// The organisation's words: those of its name, the labels of the public host other than
/// `www`, `localhost` and the top-level domain (`stages.grenoble.fr` gives `stages` and
/// `grenoble`), and `passerelle`.
pub(super) fn organization_words(name: &str, public_base_url: &str) -> Vec<String> {
    use crate::words::identity_words;
    let host = public_base_url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    let mut labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 1 {
        labels.pop();
    }
    let mut words = identity_words(name);
    words.extend(
        labels
            .into_iter()
            .filter(|l| !matches!(*l, "www" | "localhost"))
            .filter(|l| !l.chars().all(|c| c.is_ascii_digit()))
            .flat_map(identity_words),
    );
    words.push("passerelle".into());
    words.sort();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_words_come_from_the_name_the_public_host_and_the_product() {
        assert_eq!(
            organization_words("Ville de Saint-Étienne", "https://stages.saint-etienne.fr"),
            vec![
                "etienne",
                "passerelle",
                "saint",
                "saintetienne",
                "stages",
                "ville",
                "villedesaintetienne"
            ]
        );
        assert_eq!(
            organization_words("", "http://127.0.0.1:8080"),
            vec!["passerelle"]
        );
    }
}
