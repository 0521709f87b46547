//! Field errors and closed sets of values, the leaf every layer shares: a domain rule, a
//! query parser or the JSON checker says which field is wrong and why, without knowing about
//! HTTP (`error.rs` turns a list of them into a 422 problem), and a field holding one of a
//! domain's constants documents them as an `enum`. Nothing here imports from the rest of the
//! crate.

use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a JSON path relative to the body or the query (`contract.paid`).
    #[schema(example = "email")]
    pub field: String,
    /// A stable snake_case code (`required`, `too_long`, `invalid_email`, ...).
    #[schema(example = "invalid_email")]
    pub code: String,
    /// A sentence for people.
    #[schema(example = "must be a valid email address")]
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A closed set of strings as an OpenAPI schema (`enum`), for the fields that hold one of
/// the constants here (`#[schema(schema_with = …)]`), so the spec lists the allowed values
/// and generated clients type them. `nullable`: `null` is allowed too.
pub fn string_enum_schema(
    values: &[&str],
    nullable: bool,
    description: &str,
) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let (schema_type, nulls) = if nullable {
        (
            SchemaType::from_iter([Type::String, Type::Null]),
            vec![serde_json::Value::Null],
        )
    } else {
        (SchemaType::Type(Type::String), vec![])
    };
    let values = values
        .iter()
        .map(|v| serde_json::Value::from(*v))
        .chain(nulls);
    ObjectBuilder::new()
        .schema_type(schema_type)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// Reads a form of text fields (multipart parts, query parameters) as a list of named checks:
/// each reader records what is wrong with its field and returns the value only when it is
/// right, so a parser reads top to bottom as the form's fields, and every error is reported
/// at once by [`Form::finish`]. Blank values are absent, as a browser sends an empty input.
pub struct Form<'a> {
    fields: &'a std::collections::HashMap<String, String>,
    errors: Vec<FieldError>,
}

impl<'a> Form<'a> {
    pub fn new(fields: &'a std::collections::HashMap<String, String>) -> Self {
        Form {
            fields,
            errors: Vec::new(),
        }
    }

    /// The trimmed value, `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Records an error.
    pub fn fail(&mut self, field: &str, code: &str, message: &str) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// Records `code` on `field` unless `value` is absent or passes `ok`.
    pub fn check<T: ?Sized>(
        &mut self,
        field: &str,
        value: Option<&T>,
        ok: impl FnOnce(&T) -> bool,
        code: &str,
        message: &str,
    ) {
        if value.is_some_and(|v| !ok(v)) {
            self.fail(field, code, message);
        }
    }

    /// Optional text of at most `max` characters.
    pub fn text(&mut self, name: &str, max: usize) -> Option<String> {
        let v = self.get(name)?;
        if v.chars().count() > max {
            self.fail(
                name,
                "too_long",
                &format!("must have at most {max} characters"),
            );
            return None;
        }
        Some(v.to_owned())
    }

    /// Required text of at most `max` characters.
    pub fn required(&mut self, name: &str, max: usize) -> Option<String> {
        if self.get(name).is_none() {
            self.fail(name, "required", "is required");
            return None;
        }
        self.text(name, max)
    }

    /// A required `YYYY-MM-DD` date.
    pub fn date(&mut self, name: &str) -> Option<chrono::NaiveDate> {
        let Some(v) = self.get(name) else {
            self.fail(name, "required", "is required");
            return None;
        };
        let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
        if d.is_none() {
            self.fail(name, "invalid_date", "must be a date as YYYY-MM-DD");
        }
        d
    }

    /// An optional `YYYY-MM-DD` date.
    pub fn optional_date(&mut self, name: &str) -> Option<chrono::NaiveDate> {
        self.get(name)?;
        self.date(name)
    }

    /// Optional, one of `allowed` (`invalid_choice` otherwise, with `message`).
    pub fn one_of(&mut self, name: &str, allowed: &[&str], message: &str) -> Option<String> {
        let v = self.get(name)?;
        if !allowed.contains(&v) {
            self.fail(name, "invalid_choice", message);
            return None;
        }
        Some(v.to_owned())
    }

    /// An optional whole number within `range` (`range` otherwise, with `message`).
    pub fn whole_number(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<i32>,
        message: &str,
    ) -> Option<i32> {
        let v = self.get(name)?;
        match v.parse::<i32>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                self.fail(name, "range", message);
                None
            }
        }
    }

    /// `true` or `false`, `None` when absent.
    pub fn optional_boolean(&mut self, name: &str) -> Option<bool> {
        match self.get(name)? {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.fail(name, "invalid_boolean", "must be true or false");
                None
            }
        }
    }

    /// `true` or `false`, `default` when absent.
    pub fn boolean(&mut self, name: &str, default: bool) -> bool {
        self.optional_boolean(name).unwrap_or(default)
    }

    /// The value built from the fields when every check passed, else every error found.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(self.errors),
        }
    }
}
