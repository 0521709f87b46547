// @generated automatically by Diesel CLI.

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
    login_failures (id) {
        id -> Int8,
        subject -> Bytea,
        failed_at -> Timestamptz,
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

diesel::joinable!(audit_log -> staff_users (actor_id));
diesel::joinable!(refresh_tokens -> staff_sessions (session_id));
diesel::joinable!(staff_sessions -> staff_users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    login_failures,
    refresh_tokens,
    staff_sessions,
    staff_users,
);
