// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    application_documents (id) {
        id -> Uuid,
        application_id -> Uuid,
        kind -> Text,
        filename -> Text,
        content_type -> Text,
        size -> Int4,
        sha256 -> Bytea,
        content -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    application_events (id) {
        id -> Int8,
        application_id -> Uuid,
        at -> Timestamptz,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    applications (id) {
        id -> Uuid,
        offer_id -> Uuid,
        status -> Text,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        school -> Nullable<Text>,
        field_of_study -> Nullable<Text>,
        languages -> Nullable<Jsonb>,
        message -> Nullable<Text>,
        cover_letter_text -> Nullable<Text>,
        tracking_token_hash -> Nullable<Bytea>,
        education_level -> Nullable<Text>,
        available_from -> Nullable<Date>,
        available_until -> Nullable<Date>,
        source -> Nullable<Text>,
        consent_privacy -> Bool,
        privacy_notice_version -> Text,
        consent_talent_pool -> Bool,
        rejection_reason -> Nullable<Text>,
        decided_at -> Nullable<Timestamptz>,
        last_contact_at -> Timestamptz,
        erased_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        details -> Jsonb,
    }
}

diesel::table! {
    catalog_version (singleton) {
        singleton -> Bool,
        version -> Int8,
    }
}

diesel::table! {
    email_changes (application_id) {
        application_id -> Uuid,
        new_email -> Text,
        code_hash -> Bytea,
        requested_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    gratification_minimums (year) {
        year -> Int4,
        hourly_cents -> Int4,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Bytea,
        response_status -> Nullable<Int4>,
        response_body -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        kind -> Text,
        payload -> Jsonb,
        run_at -> Timestamptz,
        attempts -> Int4,
        max_attempts -> Int4,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        application_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        subject -> Bytea,
        failed_at -> Timestamptz,
    }
}

diesel::table! {
    login_known_addresses (subject) {
        subject -> Bytea,
        last_login_at -> Timestamptz,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Int8,
        application_id -> Nullable<Uuid>,
        kind -> Text,
        recipient -> Text,
        subject -> Text,
        text -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    offer_changes (seq) {
        seq -> Int8,
        xact_id -> Int8,
        offer_id -> Uuid,
        kind -> Text,
        reason -> Nullable<Text>,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    offer_review_settings (offer_id) {
        offer_id -> Uuid,
        blind -> Bool,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    offer_reviewers (offer_id, reviewer_id) {
        offer_id -> Uuid,
        reviewer_id -> Uuid,
        assigned_at -> Timestamptz,
        assigned_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    offers (id) {
        id -> Uuid,
        reference -> Text,
        slug -> Text,
        title -> Text,
        language -> Text,
        organization -> Text,
        department -> Text,
        summary -> Text,
        context -> Text,
        missions -> Jsonb,
        profile -> Text,
        requirements -> Jsonb,
        education_levels -> Jsonb,
        fields_of_study -> Jsonb,
        language_codes -> Jsonb,
        contract_type -> Text,
        duration_months_min -> Int4,
        duration_months_max -> Int4,
        work_time_percent -> Int4,
        paid -> Bool,
        hourly_gratification_cents -> Nullable<Int4>,
        starts_from -> Date,
        ends_by -> Date,
        remote -> Text,
        location -> Jsonb,
        contact -> Jsonb,
        application_documents -> Jsonb,
        application_deadline -> Date,
        positions -> Int4,
        tags -> Jsonb,
        status -> Text,
        published_at -> Nullable<Timestamptz>,
        first_published_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
        version -> Int4,
        search -> Tsvector,
        search_head -> Tsvector,
        closed_reason -> Nullable<Text>,
        publish_at -> Nullable<Timestamptz>,
        scheduled_by -> Nullable<Uuid>,
        approval -> Text,
        submitted_by -> Nullable<Uuid>,
        submitted_at -> Nullable<Timestamptz>,
        approval_decided_by -> Nullable<Uuid>,
        approval_decided_at -> Nullable<Timestamptz>,
        rejection_reason -> Nullable<Text>,
    }
}

diesel::table! {
    partner_keys (id) {
        id -> Uuid,
        partner_id -> Uuid,
        prefix -> Text,
        key_hash -> Bytea,
        created_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    partner_rate_windows (partner_id, window_start) {
        partner_id -> Uuid,
        window_start -> Timestamptz,
        requests -> Int4,
    }
}

diesel::table! {
    partners (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        contact_email -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    rate_limit_counters (bucket) {
        bucket -> Bytea,
        window_end -> Timestamptz,
        hits -> Int4,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    review_conflicts (application_id, reviewer_id) {
        application_id -> Uuid,
        reviewer_id -> Uuid,
        declared_at -> Timestamptz,
    }
}

diesel::table! {
    review_criteria (offer_id, key) {
        offer_id -> Uuid,
        key -> Text,
        label -> Text,
        weight -> Int4,
        position -> Int4,
    }
}

diesel::table! {
    reviews (id) {
        id -> Uuid,
        application_id -> Uuid,
        reviewer_id -> Uuid,
        scores -> Jsonb,
        recommendation -> Text,
        comment -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    staff_sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    staff_users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        updated_by -> Nullable<Uuid>,
        password_changed_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        partner_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        offer_id -> Uuid,
        body -> Text,
        status -> Text,
        attempts -> Int4,
        last_attempt_at -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        partner_id -> Uuid,
        url -> Text,
        secret -> Text,
        events -> Jsonb,
        active -> Bool,
        disabled_at -> Nullable<Timestamptz>,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(application_documents -> applications (application_id));
diesel::joinable!(application_events -> applications (application_id));
diesel::joinable!(application_events -> staff_users (actor_id));
diesel::joinable!(applications -> offers (offer_id));
diesel::joinable!(audit_log -> staff_users (actor_id));
diesel::joinable!(email_changes -> applications (application_id));
diesel::joinable!(jobs -> applications (application_id));
diesel::joinable!(offer_review_settings -> offers (offer_id));
diesel::joinable!(offer_review_settings -> staff_users (updated_by));
diesel::joinable!(offer_reviewers -> offers (offer_id));
diesel::joinable!(partner_keys -> partners (partner_id));
diesel::joinable!(partner_keys -> staff_users (created_by));
diesel::joinable!(partner_rate_windows -> partners (partner_id));
diesel::joinable!(refresh_tokens -> staff_sessions (session_id));
diesel::joinable!(review_conflicts -> applications (application_id));
diesel::joinable!(review_conflicts -> staff_users (reviewer_id));
diesel::joinable!(review_criteria -> offers (offer_id));
diesel::joinable!(reviews -> applications (application_id));
diesel::joinable!(reviews -> staff_users (reviewer_id));
diesel::joinable!(staff_sessions -> staff_users (user_id));
diesel::joinable!(webhook_deliveries -> partners (partner_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> partners (partner_id));

diesel::allow_tables_to_appear_in_same_query!(
    application_documents,
    application_events,
    applications,
    audit_log,
    catalog_version,
    email_changes,
    gratification_minimums,
    idempotency_keys,
    jobs,
    login_failures,
    login_known_addresses,
    mail_outbox,
    offer_changes,
    offer_review_settings,
    offer_reviewers,
    offers,
    partner_keys,
    partner_rate_windows,
    partners,
    rate_limit_counters,
    refresh_tokens,
    review_conflicts,
    review_criteria,
    reviews,
    staff_sessions,
    staff_users,
    webhook_deliveries,
    webhook_endpoints,
);
