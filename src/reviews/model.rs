//! Queries for assignments, scorecards, reviews, conflicts, rankings and workloads.

use super::domain::{default_criteria, Criterion};
use crate::auth::role::Role;
use crate::db::schema::{
    applications, offer_review_settings, offer_reviewers, review_conflicts, review_criteria,
    reviews, staff_users,
};
use crate::db::types::Json;
use chrono::{DateTime, Utc};
use diesel::{prelude::*, sql_types, PgConnection};
use std::collections::BTreeMap;
use std::collections::HashMap;
use uuid::Uuid;

pub fn is_assigned(conn: &mut PgConnection, offer_id: Uuid, user_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        offer_reviewers::table
            .filter(offer_reviewers::offer_id.eq(offer_id))
            .filter(offer_reviewers::reviewer_id.eq(user_id)),
    ))
    .get_result(conn)
}

pub fn has_conflict(
    conn: &mut PgConnection,
    application_id: Uuid,
    user_id: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        review_conflicts::table
            .filter(review_conflicts::application_id.eq(application_id))
            .filter(review_conflicts::reviewer_id.eq(user_id)),
    ))
    .get_result(conn)
}

pub fn is_blind(conn: &mut PgConnection, offer_id: Uuid) -> QueryResult<bool> {
    offer_review_settings::table
        .find(offer_id)
        .select(offer_review_settings::blind)
        .first(conn)
        .optional()
        .map(|b| b.unwrap_or(false))
}

pub fn set_blind(
    conn: &mut PgConnection,
    offer_id: Uuid,
    blind: bool,
    actor: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(offer_review_settings::table)
        .values((
            offer_review_settings::offer_id.eq(offer_id),
            offer_review_settings::blind.eq(blind),
            offer_review_settings::updated_at.eq(now),
            offer_review_settings::updated_by.eq(Some(actor)),
        ))
        .on_conflict(offer_review_settings::offer_id)
        .do_update()
        .set((
            offer_review_settings::blind.eq(blind),
            offer_review_settings::updated_at.eq(now),
            offer_review_settings::updated_by.eq(Some(actor)),
        ))
        .execute(conn)
        .map(drop)
}

/// Assigns; false when already assigned.
pub fn assign(
    conn: &mut PgConnection,
    offer_id: Uuid,
    reviewer_id: Uuid,
    actor: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::insert_into(offer_reviewers::table)
        .values((
            offer_reviewers::offer_id.eq(offer_id),
            offer_reviewers::reviewer_id.eq(reviewer_id),
            offer_reviewers::assigned_at.eq(now),
            offer_reviewers::assigned_by.eq(Some(actor)),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|n| n == 1)
}

pub fn unassign(conn: &mut PgConnection, offer_id: Uuid, reviewer_id: Uuid) -> QueryResult<bool> {
    diesel::delete(offer_reviewers::table.find((offer_id, reviewer_id)))
        .execute(conn)
        .map(|n| n == 1)
}

#[derive(Debug, Queryable)]
pub struct AssignedReviewer {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub assigned_at: DateTime<Utc>,
}

/// The columns of an [`AssignedReviewer`], over `offer_reviewers` joined to `staff_users`.
const ASSIGNED_REVIEWER: (
    staff_users::id,
    staff_users::name,
    staff_users::email,
    staff_users::role,
    offer_reviewers::assigned_at,
) = (
    staff_users::id,
    staff_users::name,
    staff_users::email,
    staff_users::role,
    offer_reviewers::assigned_at,
);

/// One reviewer's assignment to an offer, if any.
pub fn assignment(
    conn: &mut PgConnection,
    offer_id: Uuid,
    reviewer_id: Uuid,
) -> QueryResult<Option<AssignedReviewer>> {
    offer_reviewers::table
        .inner_join(staff_users::table.on(staff_users::id.eq(offer_reviewers::reviewer_id)))
        .filter(offer_reviewers::offer_id.eq(offer_id))
        .filter(offer_reviewers::reviewer_id.eq(reviewer_id))
        .select(ASSIGNED_REVIEWER)
        .first(conn)
        .optional()
}

/// A page of an offer's assigned reviewers after `after` (assignment time, reviewer id), with the
/// count of all.
pub fn assigned_reviewers_page(
    conn: &mut PgConnection,
    offer_id: Uuid,
    after: Option<crate::db::pagination::Position>,
    limit: i64,
) -> QueryResult<(Vec<AssignedReviewer>, i64)> {
    let mut q = offer_reviewers::table
        .inner_join(staff_users::table.on(staff_users::id.eq(offer_reviewers::reviewer_id)))
        .filter(offer_reviewers::offer_id.eq(offer_id))
        .into_boxed();
    if let Some(p) = after {
        q = q.filter(crate::db::pagination::after(
            offer_reviewers::assigned_at,
            offer_reviewers::reviewer_id,
            p,
        ));
    }
    let rows = q
        .order((
            offer_reviewers::assigned_at.asc(),
            offer_reviewers::reviewer_id.asc(),
        ))
        .limit(limit + 1)
        .select(ASSIGNED_REVIEWER)
        .load(conn)?;
    let total = offer_reviewers::table
        .filter(offer_reviewers::offer_id.eq(offer_id))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

pub fn assigned_offer_ids(conn: &mut PgConnection, user_id: Uuid) -> QueryResult<Vec<Uuid>> {
    offer_reviewers::table
        .filter(offer_reviewers::reviewer_id.eq(user_id))
        .select(offer_reviewers::offer_id)
        .load(conn)
}

pub fn criteria(conn: &mut PgConnection, offer_id: Uuid) -> QueryResult<Vec<Criterion>> {
    review_criteria::table
        .filter(review_criteria::offer_id.eq(offer_id))
        .order(review_criteria::position.asc())
        .select((
            review_criteria::key,
            review_criteria::label,
            review_criteria::weight,
        ))
        .load::<(String, String, i32)>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(|(key, label, weight)| Criterion { key, label, weight })
                .collect()
        })
}

/// The offer's scorecard, made from its requirements the first time it is needed.
pub fn ensure_criteria(
    conn: &mut PgConnection,
    offer: &crate::offers::model::Offer,
) -> QueryResult<Vec<Criterion>> {
    let existing = criteria(conn, offer.id)?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    insert_criteria(
        conn,
        offer.id,
        &default_criteria(&offer.content.requirements),
    )?;
    criteria(conn, offer.id)
}

fn insert_criteria(conn: &mut PgConnection, offer_id: Uuid, list: &[Criterion]) -> QueryResult<()> {
    let rows: Vec<_> = list
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                review_criteria::offer_id.eq(offer_id),
                review_criteria::key.eq(c.key.clone()),
                review_criteria::label.eq(c.label.trim().to_owned()),
                review_criteria::weight.eq(c.weight),
                review_criteria::position.eq(i as i32),
            )
        })
        .collect();
    diesel::insert_into(review_criteria::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .map(drop)
}

pub fn replace_criteria(
    conn: &mut PgConnection,
    offer_id: Uuid,
    list: &[Criterion],
) -> QueryResult<()> {
    diesel::delete(review_criteria::table.filter(review_criteria::offer_id.eq(offer_id)))
        .execute(conn)?;
    insert_criteria(conn, offer_id, list)
}

pub fn offer_has_reviews(conn: &mut PgConnection, offer_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        reviews::table
            .inner_join(applications::table)
            .filter(applications::offer_id.eq(offer_id)),
    ))
    .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reviews)]
pub struct Review {
    pub id: Uuid,
    pub application_id: Uuid,
    pub reviewer_id: Uuid,
    pub scores: Json<BTreeMap<String, i64>>,
    pub recommendation: String,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn reviews_of(conn: &mut PgConnection, application_id: Uuid) -> QueryResult<Vec<Review>> {
    reviews::table
        .filter(reviews::application_id.eq(application_id))
        .order(reviews::created_at.asc())
        .select(Review::as_select())
        .load(conn)
}

/// Creates or replaces `reviewer`'s review of an application.
pub fn upsert_review(
    conn: &mut PgConnection,
    application_id: Uuid,
    reviewer_id: Uuid,
    scores: &Json<BTreeMap<String, i64>>,
    recommendation: &str,
    comment: &str,
    now: DateTime<Utc>,
) -> QueryResult<Review> {
    diesel::insert_into(reviews::table)
        .values((
            reviews::id.eq(Uuid::new_v4()),
            reviews::application_id.eq(application_id),
            reviews::reviewer_id.eq(reviewer_id),
            reviews::scores.eq(scores),
            reviews::recommendation.eq(recommendation),
            reviews::comment.eq(comment),
            reviews::created_at.eq(now),
            reviews::updated_at.eq(now),
        ))
        .on_conflict((reviews::application_id, reviews::reviewer_id))
        .do_update()
        .set((
            reviews::scores.eq(scores),
            reviews::recommendation.eq(recommendation),
            reviews::comment.eq(comment),
            reviews::updated_at.eq(now),
        ))
        .returning(Review::as_returning())
        .get_result(conn)
}

/// Records a conflict of interest and withdraws the reviewer's review, if any.
pub fn declare_conflict(
    conn: &mut PgConnection,
    application_id: Uuid,
    reviewer_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(review_conflicts::table)
        .values((
            review_conflicts::application_id.eq(application_id),
            review_conflicts::reviewer_id.eq(reviewer_id),
            review_conflicts::declared_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    diesel::delete(
        reviews::table
            .filter(reviews::application_id.eq(application_id))
            .filter(reviews::reviewer_id.eq(reviewer_id)),
    )
    .execute(conn)
    .map(drop)
}

/// Review statistics of an application, from weighted means of its reviews.
#[derive(Debug, Clone, Copy, PartialEq, QueryableByName)]
pub struct Stats {
    #[diesel(sql_type = sql_types::Uuid)]
    pub application_id: Uuid,
    #[diesel(sql_type = sql_types::BigInt)]
    pub reviews: i64,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Double>)]
    pub mean: Option<f64>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Double>)]
    pub min: Option<f64>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Double>)]
    pub max: Option<f64>,
}

/// The weighted mean of each review, then per application: count, mean, min, max. The
/// offer's reviews are found first (materialised: the planner misjudges `scores ? key`), and
/// only those of `$2` when it is not null. Means are rounded to 6 decimals so that a
/// score cursor compares equal values whatever the plan.
const STATS_CTE: &str = "WITH offer_reviews AS MATERIALIZED ( \
        SELECT r.id, r.application_id, r.scores \
        FROM reviews r JOIN applications a ON a.id = r.application_id \
        WHERE a.offer_id = $1 AND ($2::uuid[] IS NULL OR a.id = ANY($2)) /*BY*/), \
    per_review AS ( \
        SELECT r.application_id, \
               sum((r.scores ->> c.key)::float8 * c.weight) / sum(c.weight) AS score \
        FROM offer_reviews r \
        JOIN review_criteria c ON c.offer_id = $1 AND r.scores ? c.key \
        GROUP BY r.id, r.application_id), \
    stats AS ( \
        SELECT application_id, count(*) AS reviews, \
               round(avg(score)::numeric, 6)::float8 AS mean, \
               round(min(score)::numeric, 6)::float8 AS min, \
               round(max(score)::numeric, 6)::float8 AS max \
        FROM per_review GROUP BY application_id) ";

/// Statistics of the given applications of an offer, in one query.
pub fn stats_for(
    conn: &mut PgConnection,
    offer_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Stats>> {
    let sql = format!(
        "{STATS_CTE} SELECT a.id AS application_id, coalesce(s.reviews, 0) AS reviews, s.mean, s.min, s.max \
         FROM applications a LEFT JOIN stats s ON s.application_id = a.id \
         WHERE a.offer_id = $1 AND a.id = ANY($2)"
    );
    diesel::sql_query(sql)
        .bind::<sql_types::Uuid, _>(offer_id)
        .bind::<sql_types::Nullable<sql_types::Array<sql_types::Uuid>>, _>(Some(ids.to_vec()))
        .load::<Stats>(conn)
        .map(|rows| rows.into_iter().map(|s| (s.application_id, s)).collect())
}

/// Application ids of an offer by weighted mean, best first (unreviewed last), after the
/// cursor `(mean or -1, id)`, with the list's filters. `reviewer` is a reviewer's own view:
/// the applications they declared a conflict on are hidden, and the ranking (hence the
/// means returned and carried by cursors) uses their own reviews only, never the others'
/// scores they may not see before submitting.
pub fn ranked_ids(
    conn: &mut PgConnection,
    offer_id: Uuid,
    status: Option<&str>,
    source: Option<&str>,
    reviewer: Option<Uuid>,
    after: Option<(f64, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<Stats>> {
    let cte = STATS_CTE.replace("/*BY*/", "AND ($5::uuid IS NULL OR r.reviewer_id = $5)");
    let mut sql = format!(
        "{cte} SELECT a.id AS application_id, coalesce(s.reviews, 0) AS reviews, s.mean, s.min, s.max \
         FROM applications a LEFT JOIN stats s ON s.application_id = a.id \
         WHERE a.offer_id = $1 AND a.erased_at IS NULL \
           AND ($3::text IS NULL OR a.status = $3) AND ($4::text IS NULL OR a.source = $4) \
           AND ($5::uuid IS NULL OR NOT EXISTS (SELECT 1 FROM review_conflicts rc WHERE rc.application_id = a.id AND rc.reviewer_id = $5))"
    );
    if after.is_some() {
        sql.push_str(" AND (coalesce(s.mean, -1), a.id) < ($6, $7)");
    }
    sql.push_str(" ORDER BY coalesce(s.mean, -1) DESC, a.id DESC LIMIT $8");
    let (mean, id) = after.unwrap_or((0.0, Uuid::nil()));
    diesel::sql_query(sql)
        .bind::<sql_types::Uuid, _>(offer_id)
        .bind::<sql_types::Nullable<sql_types::Array<sql_types::Uuid>>, _>(None::<Vec<Uuid>>)
        .bind::<sql_types::Nullable<sql_types::Text>, _>(status)
        .bind::<sql_types::Nullable<sql_types::Text>, _>(source)
        .bind::<sql_types::Nullable<sql_types::Uuid>, _>(reviewer)
        .bind::<sql_types::Double, _>(mean)
        .bind::<sql_types::Uuid, _>(id)
        .bind::<sql_types::BigInt, _>(limit)
        .load(conn)
}

/// Applications of an offer on which `reviewer` declared a conflict.
pub fn conflicted_ids(
    conn: &mut PgConnection,
    offer_id: Uuid,
    reviewer: Uuid,
) -> QueryResult<Vec<Uuid>> {
    review_conflicts::table
        .inner_join(applications::table)
        .filter(applications::offer_id.eq(offer_id))
        .filter(review_conflicts::reviewer_id.eq(reviewer))
        .select(review_conflicts::application_id)
        .load(conn)
}

#[derive(Debug, QueryableByName)]
pub struct Workload {
    #[diesel(sql_type = sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = sql_types::Text)]
    pub name: String,
    #[diesel(sql_type = sql_types::Text)]
    pub email: String,
    #[diesel(sql_type = sql_types::Text)]
    pub role: Role,
    #[diesel(sql_type = sql_types::BigInt)]
    pub offers_assigned: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    pub awaiting_review: i64,
    #[diesel(sql_type = sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Active reviewers and managers with their assigned offers and the applications that wait
/// for their review (reviewable stage, no review of theirs, no conflict), in one query.
/// A page of the reviewers' workloads, oldest account first, after `after` (account
/// creation, id); with the count of all reviewers.
pub fn workloads(
    conn: &mut PgConnection,
    after: Option<crate::db::pagination::Position>,
    limit: i64,
) -> QueryResult<(Vec<Workload>, i64)> {
    let rows = diesel::sql_query(
        "SELECT u.id, u.name, u.email, u.role, \
           (SELECT count(*) FROM offer_reviewers o WHERE o.reviewer_id = u.id) AS offers_assigned, \
           (SELECT count(*) FROM offer_reviewers o \
              JOIN applications a ON a.offer_id = o.offer_id \
             WHERE o.reviewer_id = u.id AND a.erased_at IS NULL \
               AND a.status IN ('submitted', 'screening', 'shortlisted', 'interview') \
               AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.application_id = a.id AND r.reviewer_id = u.id) \
               AND NOT EXISTS (SELECT 1 FROM review_conflicts c WHERE c.application_id = a.id AND c.reviewer_id = u.id) \
           ) AS awaiting_review, u.created_at \
         FROM staff_users u WHERE u.active AND u.role IN ('reviewer', 'manager') \
           AND ($1::timestamptz IS NULL OR (u.created_at, u.id) > ($1, $2)) \
         ORDER BY u.created_at, u.id LIMIT $3",
    )
    .bind::<sql_types::Nullable<sql_types::Timestamptz>, _>(after.map(|p| p.at))
    .bind::<sql_types::Uuid, _>(after.map_or(Uuid::nil(), |p| p.id))
    .bind::<sql_types::BigInt, _>(limit + 1)
    .load(conn)?;
    let total = staff_users::table
        .filter(staff_users::active)
        .filter(staff_users::role.eq_any([Role::Reviewer, Role::Manager]))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

/// Blanks the reviewers' comments on an application being erased: free text about the
/// candidate may name them. Scores and recommendations stay, for the statistics.
pub fn erase_comments(conn: &mut PgConnection, application_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        reviews::table
            .filter(reviews::application_id.eq(application_id))
            .filter(reviews::comment.ne("")),
    )
    .set(reviews::comment.eq(""))
    .execute(conn)
}
