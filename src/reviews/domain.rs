//! Review rules in plain Rust: scorecard criteria and their defaults, checking a review
//! against them, weighted means, and who may see which reviews.

use crate::{offers::domain::Requirements, validation::FieldError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use utoipa::ToSchema;

pub const RECOMMENDATIONS: [&str; 4] = ["strong_no", "no", "yes", "strong_yes"];

/// `RECOMMENDATIONS` as a schema.
pub fn recommendation_schema() -> utoipa::openapi::Object {
    crate::validation::string_enum_schema(
        &RECOMMENDATIONS,
        false,
        "`strong_no`, `no`, `yes` or `strong_yes`.",
    )
}
pub const MAX_CRITERIA: usize = 12;

/// One line of an offer's scorecard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// snake_case, unique in the offer.
    #[schema(example = "languages")]
    pub key: String,
    #[schema(example = "Langues (français C1, anglais B2)")]
    pub label: String,
    /// 1 to 10.
    #[schema(minimum = 1, maximum = 10, example = 2)]
    pub weight: i32,
}

/// The default scorecard: one criterion per kind of requirement the offer lists, and
/// motivation always.
pub fn default_criteria(r: &Requirements) -> Vec<Criterion> {
    let mut out = Vec::new();
    let mut add = |key: &str, label: String, weight: i32| {
        out.push(Criterion {
            key: key.into(),
            label,
            weight,
        })
    };
    let names = |items: Vec<&str>| items.join(", ");
    if !r.education_levels.is_empty() {
        add(
            "education",
            format!(
                "Niveau d’études ({})",
                names(
                    r.education_levels
                        .iter()
                        .map(|l| l.level.as_str())
                        .collect()
                )
            ),
            2,
        );
    }
    if !r.fields_of_study.is_empty() {
        add(
            "fields_of_study",
            format!(
                "Domaine d’études ({})",
                names(r.fields_of_study.iter().map(|f| f.name.as_str()).collect())
            ),
            2,
        );
    }
    if !r.languages.is_empty() {
        add(
            "languages",
            format!(
                "Langues ({})",
                names(r.languages.iter().map(|l| l.code.as_str()).collect())
            ),
            1,
        );
    }
    if !r.skills.is_empty() {
        add(
            "skills",
            format!(
                "Compétences ({})",
                names(r.skills.iter().map(|s| s.name.as_str()).collect())
            ),
            2,
        );
    }
    add("motivation", "Motivation et adéquation au poste".into(), 3);
    out
}

/// Checks a scorecard sent by a manager.
pub fn check_criteria(criteria: &[Criterion]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if criteria.is_empty() || criteria.len() > MAX_CRITERIA {
        errors.push(FieldError::new(
            "criteria",
            "count",
            format!("must have 1 to {MAX_CRITERIA} criteria"),
        ));
    }
    let mut keys = HashSet::new();
    for (i, c) in criteria.iter().enumerate() {
        let valid_key = !c.key.is_empty()
            && c.key.len() <= 40
            && c.key
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !valid_key {
            errors.push(FieldError::new(
                format!("[{i}].key"),
                "invalid_key",
                "must be 1 to 40 characters of a-z, 0-9 and _",
            ));
        } else if !keys.insert(c.key.as_str()) {
            errors.push(FieldError::new(
                format!("[{i}].key"),
                "duplicate",
                "appears twice",
            ));
        }
        if c.label.trim().is_empty() || c.label.chars().count() > 100 {
            errors.push(FieldError::new(
                format!("[{i}].label"),
                "length",
                "must have 1 to 100 characters",
            ));
        }
        if !(1..=10).contains(&c.weight) {
            errors.push(FieldError::new(
                format!("[{i}].weight"),
                "range",
                "must be between 1 and 10",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A reviewer's review as they send it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// `{"<criterion key>": 1..5}`, one score for every criterion of the offer.
    #[schema(example = json!({"education": 4, "languages": 5, "motivation": 3}))]
    pub scores: BTreeMap<String, i64>,
    /// `strong_no`, `no`, `yes` or `strong_yes`.
    #[schema(schema_with = recommendation_schema, example = "yes")]
    pub recommendation: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub comment: String,
}

/// Checks a review against the offer's criteria: every criterion scored 1 to 5, nothing else.
pub fn check_review(input: &ReviewInput, criteria: &[Criterion]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    for c in criteria {
        match input.scores.get(&c.key) {
            None => errors.push(FieldError::new(
                format!("scores.{}", c.key),
                "required",
                "every criterion needs a score",
            )),
            Some(s) if !(1..=5).contains(s) => errors.push(FieldError::new(
                format!("scores.{}", c.key),
                "range",
                "must be between 1 and 5",
            )),
            Some(_) => {}
        }
    }
    for key in input.scores.keys() {
        if !criteria.iter().any(|c| &c.key == key) {
            errors.push(FieldError::new(
                format!("scores.{key}"),
                "unknown_criterion",
                "is not a criterion of this offer",
            ));
        }
    }
    if !RECOMMENDATIONS.contains(&input.recommendation.as_str()) {
        errors.push(FieldError::new(
            "recommendation",
            "invalid_choice",
            "must be one of strong_no, no, yes, strong_yes",
        ));
    }
    if input.comment.chars().count() > 5000 {
        errors.push(FieldError::new(
            "comment",
            "too_long",
            "must have at most 5000 characters",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The weighted mean of one review's scores.
pub fn weighted_mean(scores: &BTreeMap<String, i64>, criteria: &[Criterion]) -> Option<f64> {
    let (sum, weights) =
        criteria
            .iter()
            .fold((0.0, 0.0), |(sum, weights), c| match scores.get(&c.key) {
                Some(s) => (
                    sum + *s as f64 * f64::from(c.weight),
                    weights + f64::from(c.weight),
                ),
                None => (sum, weights),
            });
    (weights > 0.0).then(|| sum / weights)
}

/// Independent scoring: managers see every review; a reviewer sees the others' only once
/// their own is in.
pub fn sees_other_reviews(is_manager: bool, has_own_review: bool) -> bool {
    is_manager || has_own_review
}

/// Stages in which an application may be reviewed.
pub fn is_reviewable(status: crate::applications::domain::ApplicationStatus) -> bool {
    use crate::applications::domain::ApplicationStatus::*;
    matches!(status, Submitted | Screening | Shortlisted | Interview)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria() -> Vec<Criterion> {
        vec![
            Criterion {
                key: "education".into(),
                label: "Études".into(),
                weight: 2,
            },
            Criterion {
                key: "motivation".into(),
                label: "Motivation".into(),
                weight: 3,
            },
        ]
    }

    #[test]
    fn defaults_follow_the_requirements() {
        let fixture: crate::offers::domain::OfferInput =
            serde_json::from_str(include_str!("../../demo/grenoble-offer.json")).unwrap();
        let keys: Vec<String> = default_criteria(&fixture.requirements)
            .into_iter()
            .map(|c| c.key)
            .collect();
        assert_eq!(
            keys,
            [
                "education",
                "fields_of_study",
                "languages",
                "skills",
                "motivation"
            ]
        );
        let none = default_criteria(&Requirements::default());
        assert_eq!(none.len(), 1);
        assert!(check_criteria(&default_criteria(&fixture.requirements)).is_ok());
    }

    #[test]
    fn criteria_are_checked() {
        let mut c = criteria();
        c.push(Criterion {
            key: "Motivation!".into(),
            label: "".into(),
            weight: 11,
        });
        c.push(Criterion {
            key: "education".into(),
            label: "x".into(),
            weight: 1,
        });
        let fields: Vec<String> = check_criteria(&c)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["[2].key", "[2].label", "[2].weight", "[3].key"]);
        assert!(check_criteria(&[]).is_err());
    }

    #[test]
    fn reviews_score_every_criterion_and_nothing_else() {
        let ok = ReviewInput {
            scores: [("education".to_owned(), 4), ("motivation".to_owned(), 5)].into(),
            recommendation: "yes".into(),
            comment: String::new(),
        };
        assert!(check_review(&ok, &criteria()).is_ok());
        let bad = ReviewInput {
            scores: [("education".to_owned(), 6), ("humour".to_owned(), 3)].into(),
            recommendation: "maybe".into(),
            comment: String::new(),
        };
        let fields: Vec<String> = check_review(&bad, &criteria())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "scores.education",
                "scores.motivation",
                "scores.humour",
                "recommendation"
            ]
        );
    }

    #[test]
    fn the_mean_is_weighted() {
        let scores = [("education".to_owned(), 2), ("motivation".to_owned(), 5)].into();
        // (2×2 + 5×3) / 5 = 3.8
        assert!((weighted_mean(&scores, &criteria()).unwrap() - 3.8).abs() < 1e-9);
        assert_eq!(weighted_mean(&BTreeMap::new(), &criteria()), None);
    }

    #[test]
    fn reviewers_see_others_only_after_their_own() {
        assert!(!sees_other_reviews(false, false));
        assert!(sees_other_reviews(false, true));
        assert!(sees_other_reviews(true, false));
    }
}
