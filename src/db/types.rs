//! Typed columns: a closed set of strings stored as `text` is a Rust enum
//! ([`text_enum!`](crate::db::text_enum)), a `jsonb` column is a serde type ([`Json`]). A
//! value the type does not know is a deserialisation error, which the request answers as a
//! 500 `internal_error` naming the column in the log, never a default silently put in its
//! place.

use diesel::{
    deserialize::{self, FromSql, FromSqlRow},
    expression::{
        is_aggregate, AppearsOnTable, AsExpression, Expression, SelectableExpression,
        TypedExpressionType, ValidGrouping,
    },
    pg::{Pg, PgValue},
    query_builder::{AstPass, QueryFragment, QueryId},
    serialize::{self, Output, ToSql},
    sql_types::{HasSqlType, Jsonb, SqlType},
    QueryResult,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::{io::Write, marker::PhantomData};

/// Maps a `Copy` enum with `as_str(self) -> &'static str` and `parse(&str) -> Option<Self>`
/// to a `text` column (and a nullable one, as `Option<_>`): written as `as_str`, read with
/// `parse`, and a stored string `parse` refuses is an error that names the type and the
/// value. The enum stays in its domain file, free of diesel; the model invokes this. Only
/// diesel's public traits are implemented (`ToSql`, `FromSql`, `Queryable`, `AsExpression`),
/// what `#[derive(AsExpression, FromSqlRow)]` would generate, without its hidden paths.
macro_rules! text_enum {
    ($($t:ty),+ $(,)?) => {$(
        impl ::diesel::serialize::ToSql<::diesel::sql_types::Text, ::diesel::pg::Pg> for $t {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, ::diesel::pg::Pg>,
            ) -> ::diesel::serialize::Result {
                <str as ::diesel::serialize::ToSql<::diesel::sql_types::Text, ::diesel::pg::Pg>>
                    ::to_sql(self.as_str(), out)
            }
        }

        impl ::diesel::serialize::ToSql<
            ::diesel::sql_types::Nullable<::diesel::sql_types::Text>,
            ::diesel::pg::Pg,
        > for $t {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, ::diesel::pg::Pg>,
            ) -> ::diesel::serialize::Result {
                <str as ::diesel::serialize::ToSql<::diesel::sql_types::Text, ::diesel::pg::Pg>>
                    ::to_sql(self.as_str(), out)
            }
        }

        impl ::diesel::deserialize::FromSql<::diesel::sql_types::Text, ::diesel::pg::Pg> for $t {
            fn from_sql(value: ::diesel::pg::PgValue<'_>) -> ::diesel::deserialize::Result<Self> {
                let raw = <String as ::diesel::deserialize::FromSql<
                    ::diesel::sql_types::Text,
                    ::diesel::pg::Pg,
                >>::from_sql(value)?;
                <$t>::parse(&raw)
                    .ok_or_else(|| $crate::db::types::not_in_enum(stringify!($t), &raw))
            }
        }

        impl ::diesel::deserialize::Queryable<::diesel::sql_types::Text, ::diesel::pg::Pg> for $t {
            type Row = Self;

            fn build(row: Self) -> ::diesel::deserialize::Result<Self> {
                Ok(row)
            }
        }

        $crate::db::types::text_enum!(@expression $t, ::diesel::sql_types::Text);
        $crate::db::types::text_enum!(
            @expression $t,
            ::diesel::sql_types::Nullable<::diesel::sql_types::Text>
        );
    )+};
    // A bind parameter, by value and by reference: a [`TextBind`] of the value, which
    // writes it through the `ToSql` above. What `#[derive(AsExpression)]` would generate,
    // on diesel's public traits, so the enum needs no derive and its domain file no diesel.
    (@expression $t:ty, $st:ty) => {
        impl ::diesel::expression::AsExpression<$st> for $t {
            type Expression = $crate::db::types::TextBind<$st, $t>;

            fn as_expression(self) -> Self::Expression {
                $crate::db::types::TextBind::new(self)
            }
        }

        impl<'a> ::diesel::expression::AsExpression<$st> for &'a $t {
            type Expression = $crate::db::types::TextBind<$st, $t>;

            fn as_expression(self) -> Self::Expression {
                $crate::db::types::TextBind::new(*self)
            }
        }
    };
}
pub(crate) use text_enum;

/// A [`text_enum!`] value as a bind parameter of SQL type `ST` (`Text` or `Nullable<Text>`):
/// the expression diesel's `AsExpression` derive makes, built on its public traits.
#[derive(Debug, Clone, Copy)]
pub struct TextBind<ST, T> {
    value: T,
    sql_type: PhantomData<ST>,
}

impl<ST, T> TextBind<ST, T> {
    pub fn new(value: T) -> Self {
        TextBind {
            value,
            sql_type: PhantomData,
        }
    }
}

impl<ST: SqlType + TypedExpressionType, T> Expression for TextBind<ST, T> {
    type SqlType = ST;
}

impl<ST, T> QueryFragment<Pg> for TextBind<ST, T>
where
    Pg: HasSqlType<ST>,
    T: ToSql<ST, Pg>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        pass.push_bind_param(&self.value)
    }
}

/// Like any bind: the statement's text does not depend on the value, so the prepared
/// statement is cached by the SQL type alone.
impl<ST: QueryId, T> QueryId for TextBind<ST, T> {
    type QueryId = TextBind<ST::QueryId, ()>;

    const HAS_STATIC_QUERY_ID: bool = ST::HAS_STATIC_QUERY_ID;
}

impl<ST, T, QS> AppearsOnTable<QS> for TextBind<ST, T> where Self: Expression {}

impl<ST, T, QS> SelectableExpression<QS> for TextBind<ST, T> where Self: AppearsOnTable<QS> {}

impl<ST, T, GB> ValidGrouping<GB> for TextBind<ST, T> {
    type IsAggregate = is_aggregate::Never;
}

/// The error of a stored string that is none of the enum's values.
#[cold]
pub fn not_in_enum(type_name: &str, raw: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("{raw:?} is not a {type_name}").into()
}

/// A `jsonb` column read and written through serde as `T`: the one place a stored document
/// becomes a Rust value. A document `T` does not accept is a deserialisation error.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, AsExpression, FromSqlRow, Serialize, Deserialize,
)]
#[serde(transparent)]
#[diesel(sql_type = Jsonb)]
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Self {
        Json(value)
    }
}

/// jsonb's binary format: a version byte, then the document as text.
const JSONB_VERSION: u8 = 1;

impl<T: DeserializeOwned + std::fmt::Debug> FromSql<Jsonb, Pg> for Json<T> {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let bytes = value.as_bytes();
        match bytes.split_first() {
            Some((&JSONB_VERSION, document)) => Ok(Json(serde_json::from_slice(document)?)),
            _ => Err("unsupported jsonb encoding version".into()),
        }
    }
}

impl<T: Serialize + std::fmt::Debug> ToSql<Jsonb, Pg> for Json<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(&[JSONB_VERSION])?;
        serde_json::to_writer(out, &self.0)?;
        Ok(serialize::IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use crate::{db::test_db::TestDb, error::ApiError};
    use diesel::{connection::SimpleConnection, prelude::*, sql_types::Text, IntoSql};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Light {
        Red,
        Green,
    }

    impl Light {
        fn as_str(self) -> &'static str {
            match self {
                Light::Red => "red",
                Light::Green => "green",
            }
        }

        fn parse(raw: &str) -> Option<Self> {
            [Light::Red, Light::Green]
                .into_iter()
                .find(|l| l.as_str() == raw)
        }
    }

    text_enum!(Light);

    diesel::table! {
        lights (id) {
            id -> Int4,
            light -> Text,
            previous -> Nullable<Text>,
        }
    }

    #[derive(Debug, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = lights)]
    struct LightRow {
        id: i32,
        light: Light,
        previous: Option<Light>,
    }

    #[derive(Debug, QueryableByName)]
    struct ByName {
        #[diesel(sql_type = Text)]
        #[allow(dead_code, reason = "read only to fail")]
        light: Light,
    }

    fn logged(e: diesel::result::Error) -> String {
        let problem = ApiError::from(e);
        assert_eq!(problem.problem().status, 500);
        assert_eq!(problem.problem().code, "internal_error");
        problem.internal_cause().unwrap_or_default().to_owned()
    }

    #[test]
    fn text_enums_round_trip_and_refuse_unknown_values() {
        let db = TestDb::new();
        let conn = &mut db.connect();
        conn.batch_execute(
            "CREATE TABLE lights (id int PRIMARY KEY, light text NOT NULL, previous text)",
        )
        .unwrap();
        let rows = [
            LightRow {
                id: 1,
                light: Light::Red,
                previous: None,
            },
            LightRow {
                id: 2,
                light: Light::Green,
                previous: Some(Light::Red),
            },
        ];
        diesel::insert_into(lights::table)
            .values(&rows[..])
            .execute(conn)
            .unwrap();
        let read: Vec<LightRow> = lights::table
            .filter(lights::light.eq_any([Light::Red, Light::Green]))
            .order(lights::id)
            .select(LightRow::as_select())
            .load(conn)
            .unwrap();
        assert_eq!(read, rows);
        let green: Light = diesel::select(Light::Green.into_sql::<Text>())
            .get_result(conn)
            .unwrap();
        assert_eq!(green, Light::Green);

        // A model's row: the log names the column and the value, and nothing stands in.
        conn.batch_execute("INSERT INTO lights VALUES (3, 'blue', NULL)")
            .unwrap();
        let e = lights::table
            .find(3)
            .select(LightRow::as_select())
            .first(conn)
            .unwrap_err();
        let why = logged(e);
        assert!(why.contains("field 'light'"), "{why}");
        assert!(why.contains("\"blue\" is not a Light"), "{why}");
        // By name (`sql_query`): diesel does not name the column; the type and value are there.
        let e = diesel::sql_query("SELECT 'amber'::text AS light")
            .get_result::<ByName>(conn)
            .unwrap_err();
        let why = logged(e);
        assert!(why.contains("\"amber\" is not a Light"), "{why}");
    }

    #[test]
    fn json_columns_round_trip_and_refuse_other_shapes() {
        use super::Json;
        use diesel::sql_types::Jsonb;
        let db = TestDb::new();
        let conn = &mut db.connect();
        let tags = Json(vec!["a".to_owned(), "é\"".to_owned()]);
        let read: Json<Vec<String>> = diesel::select(tags.clone().into_sql::<Jsonb>())
            .get_result(conn)
            .unwrap();
        assert_eq!(read, tags);
        let e = diesel::select(diesel::dsl::sql::<Jsonb>("'{\"not\": \"a list\"}'::jsonb"))
            .get_result::<Json<Vec<String>>>(conn)
            .unwrap_err();
        let why = logged(e);
        assert!(why.contains("invalid type: map"), "{why}");
    }
}
