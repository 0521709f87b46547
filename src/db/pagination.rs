//! Keyset pagination in the database: the opaque cursors every list hands out (one
//! [`Cursor`] codec, one implementation per kind of position) and the keyset predicates on a
//! [`Position`]. The HTTP side (`?limit=&cursor=`, the page body, `Link`) is
//! [`crate::http::pages`].

use crate::error::ApiError;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use diesel::{dsl, sql_types, BoolExpressionMethods, Expression, ExpressionMethods};
use uuid::Uuid;

/// An opaque cursor: a position in a list, sent as unpadded base64url of a short text.
///
/// Implementations only say what the text is; the base64 layer and the 422 are shared, so
/// every cursor of the API is read and rejected the same way. The texts are a wire format:
/// cursors issued earlier must still decode, so change one only by adding a new prefix.
pub trait Cursor: Sized {
    /// What a client is told when its cursor is not one of these (field `cursor`, code
    /// `invalid_cursor`).
    const INVALID: &'static str = "is not a cursor this API issued";

    /// The text inside the base64, e.g. `1764590400123456|<uuid>`.
    fn to_text(&self) -> String;

    /// Reads what [`Cursor::to_text`] wrote; `None` for anything else.
    fn from_text(text: &str) -> Option<Self>;

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_text())
    }

    /// 422 `invalid_cursor` on field `cursor` for anything [`Cursor::encode`] did not make.
    fn decode(raw: &str) -> Result<Self, ApiError> {
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| Self::from_text(&text))
            .ok_or_else(|| invalid_cursor::<Self>())
    }
}

/// The 422 for a cursor that is not a `C` (or not one for this sort).
pub fn invalid_cursor<C: Cursor>() -> ApiError {
    ApiError::invalid_field("cursor", "invalid_cursor", C::INVALID)
}

/// A position `(at, id)` in a list ordered by time, then key: `<unix micros>|<id>`. The key
/// is a row id, a `Uuid` for most lists, an `i64` for the audit log and histories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position<K = Uuid> {
    pub at: DateTime<Utc>,
    pub id: K,
}

impl<K: std::fmt::Display + std::str::FromStr> Cursor for Position<K> {
    fn to_text(&self) -> String {
        format!("{}|{}", self.at.timestamp_micros(), self.id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('|')?;
        Some(Position {
            at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

/// The rows after `p` in a list ordered by `(at, id)` ascending: `at > p.at OR (at = p.at
/// AND id > p.id)`. One keyset predicate for every list that pages on a [`Position`].
pub fn after<At, Id>(at: At, id: Id, p: Position) -> AfterPosition<At, Id>
where
    At: ExpressionMethods + Copy + Expression<SqlType = sql_types::Timestamptz>,
    Id: ExpressionMethods + Expression<SqlType = sql_types::Uuid>,
{
    at.gt(p.at).or(at.eq(p.at).and(id.gt(p.id)))
}

/// The rows before `p` in a list ordered by `(at, id)` descending (newest first).
pub fn before<At, Id>(at: At, id: Id, p: Position) -> BeforePosition<At, Id>
where
    At: ExpressionMethods + Copy + Expression<SqlType = sql_types::Timestamptz>,
    Id: ExpressionMethods + Expression<SqlType = sql_types::Uuid>,
{
    at.lt(p.at).or(at.eq(p.at).and(id.lt(p.id)))
}

pub type AfterPosition<At, Id> =
    dsl::Or<dsl::Gt<At, DateTime<Utc>>, dsl::And<dsl::Eq<At, DateTime<Utc>>, dsl::Gt<Id, Uuid>>>;
pub type BeforePosition<At, Id> =
    dsl::Or<dsl::Lt<At, DateTime<Utc>>, dsl::And<dsl::Eq<At, DateTime<Utc>>, dsl::Lt<Id, Uuid>>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_round_trips_and_rejects_garbage() {
        let p = Position {
            at: DateTime::from_timestamp_micros(1_764_590_400_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Position::decode(&p.encode()).unwrap(), p);
        // The wire format: cursors issued before the trait still decode.
        assert_eq!(
            p.encode(),
            URL_SAFE_NO_PAD.encode(format!("1764590400123456|{}", p.id))
        );
        assert!(Position::<Uuid>::decode("not-a-cursor").is_err());
        assert!(Position::<Uuid>::decode(&URL_SAFE_NO_PAD.encode("12|nope")).is_err());
        assert!(Position::<Uuid>::decode(&URL_SAFE_NO_PAD.encode("x|")).is_err());
        // Other keys, such as the audit log's bigint ids.
        let q = Position {
            at: p.at,
            id: 42i64,
        };
        assert_eq!(Position::<i64>::decode(&q.encode()).unwrap(), q);
        assert!(Position::<i64>::decode(&p.encode()).is_err());
    }

    #[test]
    fn invalid_cursors_are_422_on_the_cursor_field() {
        let err = Position::<Uuid>::decode("%%%").unwrap_err();
        let json = serde_json::to_value(err.problem()).unwrap();
        assert_eq!(json["errors"][0]["field"], "cursor", "{json}");
        assert_eq!(json["errors"][0]["code"], "invalid_cursor", "{json}");
    }
}
