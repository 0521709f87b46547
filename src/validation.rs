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
