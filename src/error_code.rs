//! Every `code` a problem response can carry, as one enum: the spec lists them (`Problem.code`
//! is an `enum`), the tests check each code they expect against it, and a handler cannot
//! invent a new one without adding it here. Kept sorted; generated names, stable strings.

macro_rules! codes {
    ($($variant:ident = $text:literal,)*) => {
        /// A stable, machine-readable error code (`Problem.code`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    AlreadyApplied = "already_applied",
    AlreadyAssigned = "already_assigned",
    ApplicationFinal = "application_final",
    ApprovalNotRequired = "approval_not_required",
    ApprovalRequired = "approval_required",
    BadRequest = "bad_request",
    BlindReview = "blind_review",
    BodyTimeout = "body_timeout",
    Busy = "busy",
    ConcurrentUpdate = "concurrent_update",
    Conflict = "conflict",
    CorsOriginNotAllowed = "cors_origin_not_allowed",
    CriteriaLocked = "criteria_locked",
    CursorExpired = "cursor_expired",
    DatabaseUnavailable = "database_unavailable",
    DeadlineExceeded = "deadline_exceeded",
    DeadlinePassed = "deadline_passed",
    EmailNotChanged = "email_not_changed",
    EmailTaken = "email_taken",
    Forbidden = "forbidden",
    IdempotencyKeyReused = "idempotency_key_reused",
    IfMatchRequired = "if_match_required",
    IllegalTransition = "illegal_transition",
    IncompleteBody = "incomplete_body",
    InternalError = "internal_error",
    InvalidBody = "invalid_body",
    InvalidCredentials = "invalid_credentials",
    InvalidCurrentPassword = "invalid_current_password",
    InvalidIdempotencyKey = "invalid_idempotency_key",
    InvalidPartnerKey = "invalid_partner_key",
    InvalidQuery = "invalid_query",
    InvalidRefreshToken = "invalid_refresh_token",
    InvalidToken = "invalid_token",
    LastAdmin = "last_admin",
    MalformedJson = "malformed_json",
    MalformedMultipart = "malformed_multipart",
    MethodNotAllowed = "method_not_allowed",
    MetricsForbidden = "metrics_forbidden",
    MetricsUnauthenticated = "metrics_unauthenticated",
    MigrationsPending = "migrations_pending",
    MultipartRequired = "multipart_required",
    NotADraft = "not_a_draft",
    NotAssigned = "not_assigned",
    NotFound = "not_found",
    NotReviewable = "not_reviewable",
    NotScheduled = "not_scheduled",
    NulCharacter = "nul_character",
    OfferArchived = "offer_archived",
    OfferClosed = "offer_closed",
    OwnSubmission = "own_submission",
    PayloadTooLarge = "payload_too_large",
    PreconditionFailed = "precondition_failed",
    PreconditionRequired = "precondition_required",
    RateLimited = "rate_limited",
    ReferenceTaken = "reference_taken",
    RefreshTokenReused = "refresh_token_reused",
    RequestTimeout = "request_timeout",
    RouteNotFound = "route_not_found",
    ServiceUnavailable = "service_unavailable",
    SlugTaken = "slug_taken",
    StaleEtag = "stale_etag",
    TooManyRequests = "too_many_requests",
    TooManyUploads = "too_many_uploads",
    Unauthenticated = "unauthenticated",
    UnreadableBody = "unreadable_body",
    UnsupportedMediaType = "unsupported_media_type",
    UploadTimeout = "upload_timeout",
    UploadTooSlow = "upload_too_slow",
    ValidationFailed = "validation_failed",
}

impl Code {
    /// The code spelt `text`, if there is one.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// Every code as sent, in order, for the spec's `enum`.
    pub fn texts() -> Vec<&'static str> {
        Code::ALL.iter().map(|c| c.as_str()).collect()
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_snake_case() {
        let texts = Code::texts();
        let mut sorted = texts.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(texts, sorted);
        for t in texts {
            assert!(t
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            assert_eq!(Code::parse(t).map(Code::as_str), Some(t));
        }
    }
}
