//! Every field a JSON body gets wrong, not only the first. serde stops at its first error;
//! when it refuses a body, the body is walked against the operation's request schema from
//! the OpenAPI document ([`crate::route_table`]), so the client sees every missing,
//! mistyped, invalid and unknown field in one 422 (`required`, `invalid_type`,
//! `invalid_value`, `unknown_field`). What the schema cannot say stays serde's message.

use crate::validation::FieldError;
use serde_json::{Map, Value};

/// JSON Schema `true`: anything goes (an unresolvable `$ref` must not invent errors).
static ANYTHING: Value = Value::Bool(true);
/// Deeper than any body of this API; a guard against cyclic schemas.
const MAX_DEPTH: usize = 32;

/// At most this many field errors in one answer: a body of thousands of wrong array items
/// need not make an answer as large.
const MAX_ERRORS: usize = 100;

/// The field errors of `value` against `schema`, sorted by field path.
pub fn check(value: &Value, schema: &Value, components: &Map<String, Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    Walk { components }.walk(value, schema, "", 0, &mut errors);
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.truncate(MAX_ERRORS);
    errors
}

struct Walk<'a> {
    components: &'a Map<String, Value>,
}

impl<'a> Walk<'a> {
    fn resolve(&self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..MAX_DEPTH {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                return schema;
            };
            match reference
                .strip_prefix("#/components/schemas/")
                .and_then(|name| self.components.get(name))
            {
                Some(target) => schema = target,
                None => return &ANYTHING,
            }
        }
        &ANYTHING
    }

    fn walk(
        &self,
        value: &Value,
        schema: &'a Value,
        path: &str,
        depth: usize,
        errors: &mut Vec<FieldError>,
    ) {
        let schema = self.resolve(schema);
        let Some(rules) = schema.as_object() else {
            return;
        };
        if depth > MAX_DEPTH {
            return;
        }
        for part in rules
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.walk(value, part, path, depth + 1, errors);
        }
        let alternatives = rules
            .get("oneOf")
            .or_else(|| rules.get("anyOf"))
            .and_then(Value::as_array);
        if let Some(alternatives) = alternatives {
            self.walk_alternatives(value, alternatives, path, depth, errors);
        }
        if let Some(expected) = rules.get("type") {
            if !has_type(value, expected) {
                let message = format!("must be {}", type_names(expected));
                errors.push(FieldError::new(path, "invalid_type", message));
                return;
            }
        }
        if let Some(allowed) = rules.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
                let message = format!("must be one of {}", list.join(", "));
                errors.push(FieldError::new(path, "invalid_value", message));
                return;
            }
        }
        match value {
            Value::Object(fields) => self.walk_object(fields, rules, path, depth, errors),
            Value::Array(items) => {
                if let Some(item_schema) = rules.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        let item_path = format!("{path}[{i}]");
                        self.walk(item, item_schema, &item_path, depth + 1, errors);
                    }
                }
            }
            Value::String(s) => {
                if let Some(format) = rules.get("format").and_then(Value::as_str) {
                    if !format_ok(format, s) {
                        let message = format!("must be a valid {format}");
                        errors.push(FieldError::new(path, "invalid_value", message));
                    }
                }
            }
            Value::Number(n) => {
                let out_of_range = n.as_f64().is_some_and(|x| {
                    let below = rules
                        .get("minimum")
                        .and_then(Value::as_f64)
                        .is_some_and(|m| x < m);
                    let above = rules
                        .get("maximum")
                        .and_then(Value::as_f64)
                        .is_some_and(|m| x > m);
                    below || above
                });
                if out_of_range {
                    errors.push(FieldError::new(path, "invalid_value", "is out of range"));
                }
            }
            _ => {}
        }
    }

    fn walk_object(
        &self,
        fields: &Map<String, Value>,
        rules: &'a Map<String, Value>,
        path: &str,
        depth: usize,
        errors: &mut Vec<FieldError>,
    ) {
        let empty = Map::new();
        let properties = rules
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let join = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        for name in rules
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str() {
                if !fields.contains_key(name) {
                    errors.push(FieldError::new(join(name), "required", "is required"));
                }
            }
        }
        let closed = rules.get("additionalProperties") == Some(&Value::Bool(false));
        for (key, field) in fields {
            match properties.get(key) {
                Some(field_schema) => self.walk(field, field_schema, &join(key), depth + 1, errors),
                None if closed => errors.push(FieldError::new(
                    join(key),
                    "unknown_field",
                    "is not a field of this body",
                )),
                None => {}
            }
        }
    }

    /// `oneOf` / `anyOf`: fine when one alternative accepts the value; otherwise the errors
    /// of the only non-null alternative (an `Option`), or one `invalid_value`.
    fn walk_alternatives(
        &self,
        value: &Value,
        alternatives: &'a [Value],
        path: &str,
        depth: usize,
        errors: &mut Vec<FieldError>,
    ) {
        let mut tried = Vec::new();
        for alternative in alternatives {
            let mut found = Vec::new();
            self.walk(value, alternative, path, depth + 1, &mut found);
            if found.is_empty() {
                return;
            }
            let is_null = self.resolve(alternative).get("type") == Some(&Value::from("null"));
            if !is_null {
                tried.push(found);
            }
        }
        if tried.len() == 1 {
            errors.append(&mut tried[0]);
        } else {
            errors.push(FieldError::new(
                path,
                "invalid_value",
                "matches none of the accepted forms",
            ));
        }
    }
}

fn has_type(value: &Value, expected: &Value) -> bool {
    let one = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => true,
    };
    match expected {
        Value::String(t) => one(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(one),
        _ => true,
    }
}

fn type_names(expected: &Value) -> String {
    let name = |t: &str| match t {
        "object" | "array" | "integer" => format!("an {t}"),
        "null" => "null".to_owned(),
        other => format!("a {other}"),
    };
    match expected {
        Value::String(t) => name(t),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(name)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "something else".to_owned(),
    }
}

fn format_ok(format: &str, s: &str) -> bool {
    match format {
        "uuid" => uuid::Uuid::parse_str(s).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(value: Value, schema: Value, components: Value) -> Vec<(String, String)> {
        let components = components.as_object().cloned().unwrap_or_default();
        check(&value, &schema, &components)
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn lists_every_missing_mistyped_and_unknown_field() {
        let components = json!({
            "Contract": {"type": "object", "required": ["paid"],
                "properties": {"paid": {"type": "boolean"}}},
            "Kind": {"type": "string", "enum": ["a", "b"]}
        });
        let schema = json!({
            "type": "object",
            "required": ["title", "starts_on", "seats"],
            "additionalProperties": false,
            "properties": {
                "title": {"type": "string"},
                "starts_on": {"type": "string", "format": "date"},
                "seats": {"type": "integer", "minimum": 0},
                "tags": {"type": "array", "items": {"type": "string"}},
                "kind": {"$ref": "#/components/schemas/Kind"},
                "contract": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Contract"}]},
                "note": {"type": ["string", "null"]}
            }
        });
        let found = codes(
            json!({"starts_on": "soon", "seats": -1, "tags": ["x", 2], "kind": "c",
                   "contract": {}, "note": null, "colour": "red"}),
            schema,
            components,
        );
        let want = [
            ("colour", "unknown_field"),
            ("contract.paid", "required"),
            ("kind", "invalid_value"),
            ("seats", "invalid_value"),
            ("starts_on", "invalid_value"),
            ("tags[1]", "invalid_type"),
            ("title", "required"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect();
        assert_eq!(found, want);
    }

    #[test]
    fn a_body_of_the_wrong_type_and_unknown_refs() {
        let schema = json!({"type": "object", "properties": {}});
        assert_eq!(
            codes(json!([1]), schema, json!({})),
            vec![("".to_owned(), "invalid_type".to_owned())]
        );
        let many = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(
            codes(json!(vec![1; 5000]), many, json!({})).len(),
            MAX_ERRORS
        );
        let unresolved = json!({"$ref": "#/components/schemas/Missing"});
        assert!(codes(json!(1), unresolved, json!({})).is_empty());
    }
}
