//! French reference data the feeds need in words: the région of a postal code and the names
//! of the education levels. Plain data, no I/O.

/// The régions (since 2016) and the départements they hold, by the first two digits of the
/// postal code (`20` is Corse, 2A and 2B alike).
const METROPOLITAN: [(&str, &[&str]); 13] = [
    (
        "Auvergne-Rhône-Alpes",
        &[
            "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
        ],
    ),
    (
        "Bourgogne-Franche-Comté",
        &["21", "25", "39", "58", "70", "71", "89", "90"],
    ),
    ("Bretagne", &["22", "29", "35", "56"]),
    ("Centre-Val de Loire", &["18", "28", "36", "37", "41", "45"]),
    ("Corse", &["20"]),
    (
        "Grand Est",
        &["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"],
    ),
    ("Hauts-de-France", &["02", "59", "60", "62", "80"]),
    (
        "Île-de-France",
        &["75", "77", "78", "91", "92", "93", "94", "95"],
    ),
    ("Normandie", &["14", "27", "50", "61", "76"]),
    (
        "Nouvelle-Aquitaine",
        &[
            "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
        ],
    ),
    (
        "Occitanie",
        &[
            "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
        ],
    ),
    ("Pays de la Loire", &["44", "49", "53", "72", "85"]),
    (
        "Provence-Alpes-Côte d'Azur",
        &["04", "05", "06", "13", "83", "84"],
    ),
];

/// The overseas régions, by the first three digits.
const OVERSEAS: [(&str, &str); 5] = [
    ("971", "Guadeloupe"),
    ("972", "Martinique"),
    ("973", "Guyane"),
    ("974", "La Réunion"),
    ("976", "Mayotte"),
];

/// The région of a French postal code (`38000` → `Auvergne-Rhône-Alpes`); `None` for a code
/// that is not five digits or names no région (Saint-Pierre-et-Miquelon, Monaco, the
/// Pacific collectivities).
pub fn region_of_postal_code(code: &str) -> Option<&'static str> {
    let code = code.trim();
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if code.starts_with("97") || code.starts_with("98") {
        return OVERSEAS
            .iter()
            .find(|(prefix, _)| code.starts_with(prefix))
            .map(|(_, region)| *region);
    }
    METROPOLITAN
        .iter()
        .find(|(_, departments)| departments.contains(&&code[..2]))
        .map(|(region, _)| *region)
}

/// The région of a location, when it is in France.
pub fn region(country: &str, postal_code: &str) -> Option<&'static str> {
    country
        .eq_ignore_ascii_case("FR")
        .then(|| region_of_postal_code(postal_code))
        .flatten()
}

/// An education level as French readers know it (`master_1` → `Master 1`); the code itself
/// when it is not one of `EDUCATION_LEVELS`.
pub fn education_level_name(level: &str) -> &str {
    match level {
        "bac" => "Baccalauréat",
        "bac_1" => "Bac +1",
        "bac_2" => "Bac +2",
        "bac_3" => "Bac +3",
        "licence_3" => "Licence 3",
        "master_1" => "Master 1",
        "master_2" => "Master 2",
        "doctorate" => "Doctorat",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offers::domain::EDUCATION_LEVELS;

    #[test]
    fn every_metropolitan_department_is_in_exactly_one_region() {
        for n in 1..=95 {
            let dept = format!("{n:02}");
            let holders = METROPOLITAN
                .iter()
                .filter(|(_, ds)| ds.contains(&dept.as_str()))
                .count();
            assert_eq!(holders, 1, "département {dept}");
        }
        let all: usize = METROPOLITAN.iter().map(|(_, ds)| ds.len()).sum();
        assert_eq!(all, 95);
    }

    #[test]
    fn postal_codes_name_their_region() {
        assert_eq!(region_of_postal_code("38000"), Some("Auvergne-Rhône-Alpes"));
        assert_eq!(region_of_postal_code("75011"), Some("Île-de-France"));
        assert_eq!(region_of_postal_code("20000"), Some("Corse"));
        assert_eq!(region_of_postal_code("01000"), Some("Auvergne-Rhône-Alpes"));
        assert_eq!(region_of_postal_code("97400"), Some("La Réunion"));
        assert_eq!(region_of_postal_code("97500"), None);
        assert_eq!(region_of_postal_code("98000"), None);
        assert_eq!(region_of_postal_code("3800"), None);
        assert_eq!(region_of_postal_code("38OOO"), None);
        assert_eq!(region("fr", "69001"), Some("Auvergne-Rhône-Alpes"));
        assert_eq!(region("BE", "38000"), None);
    }

    #[test]
    fn every_education_level_has_a_name() {
        for level in EDUCATION_LEVELS {
            assert_ne!(education_level_name(level), level);
        }
        assert_eq!(education_level_name("other"), "other");
    }
}
