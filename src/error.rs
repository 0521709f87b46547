//! `ApiError`: every failure the API returns, as RFC 9457 `application/problem+json`.
//!
//! Each error has a stable snake_case `code` that clients may match on, and a status chosen
//! in one explicit table ([`ErrorKind::status`]). actix's own rejections (bad JSON, query,
//! path, oversized bodies, unknown routes) are turned into the same body by the handlers at
//! the bottom of this file.

pub use crate::error_code::Code;
use crate::validation::FieldError;
use actix_web::{
    body::{BoxBody, EitherBody, MessageBody},
    dev::ServiceResponse,
    error::{JsonPayloadError, PathError, QueryPayloadError},
    http::{header, StatusCode},
    middleware::ErrorHandlerResponse,
    HttpRequest, HttpResponse, ResponseError,
};
use serde::Serialize;
use std::borrow::Cow;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The families of failure; each has exactly one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    Conflict,
    Gone,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable,
    PreconditionRequired,
    TooManyRequests,
    ServiceUnavailable,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn for_status(status: StatusCode) -> (ErrorKind, Code) {
        match status.as_u16() {
            401 => (ErrorKind::Unauthorized, Code::Unauthenticated),
            403 => (ErrorKind::Forbidden, Code::Forbidden),
            404 => (ErrorKind::NotFound, Code::NotFound),
            405 => (ErrorKind::MethodNotAllowed, Code::MethodNotAllowed),
            408 => (ErrorKind::RequestTimeout, Code::RequestTimeout),
            409 => (ErrorKind::Conflict, Code::Conflict),
            412 => (ErrorKind::PreconditionFailed, Code::PreconditionFailed),
            413 => (ErrorKind::PayloadTooLarge, Code::PayloadTooLarge),
            415 => (ErrorKind::UnsupportedMediaType, Code::UnsupportedMediaType),
            422 => (ErrorKind::Unprocessable, Code::ValidationFailed),
            428 => (ErrorKind::PreconditionRequired, Code::PreconditionRequired),
            429 => (ErrorKind::TooManyRequests, Code::TooManyRequests),
            503 => (ErrorKind::ServiceUnavailable, Code::ServiceUnavailable),
            400..=499 => (ErrorKind::BadRequest, Code::BadRequest),
            _ => (ErrorKind::Internal, Code::InternalError),
        }
    }
}

/// The RFC 9457 body every error response carries.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:passerelle:problem:validation_failed",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "The request has invalid fields.",
    "code": "validation_failed",
    "errors": [{"field": "email", "code": "invalid_email", "message": "must be a valid email address"}]
}))]
pub struct Problem {
    /// `urn:passerelle:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code (every one is listed).
    #[schema(schema_with = code_schema)]
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request's `X-Request-Id`, to quote when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

fn code_schema() -> utoipa::openapi::Object {
    crate::validation::string_enum_schema(
        &Code::texts(),
        false,
        "Stable machine-readable code; `type` is `urn:passerelle:problem:<code>`.",
    )
}

#[derive(Debug, Clone)]
pub struct ApiError {
    kind: ErrorKind,
    code: Code,
    detail: Cow<'static, str>,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    /// What went wrong inside, for the log only; never sent to the client.
    internal: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code,
            self.kind.status().as_u16(),
            self.detail
        )
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(kind: ErrorKind, code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            kind,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            internal: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn bad_request(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::BadRequest, code, detail)
    }

    pub fn unauthorized(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unauthorized, code, detail)
    }

    pub fn forbidden() -> Self {
        Self::new(
            ErrorKind::Forbidden,
            Code::Forbidden,
            "Your role does not allow this action.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            ErrorKind::NotFound,
            Code::NotFound,
            "No such resource, or you may not see it.",
        )
    }

    pub fn conflict(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, code, detail)
    }

    /// 410: what the client holds (a cursor) no longer leads anywhere; start again.
    pub fn gone(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Gone, code, detail)
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            ErrorKind::PreconditionFailed,
            Code::StaleEtag,
            "The resource changed since you read it: fetch it again and retry.",
        )
    }

    pub fn precondition_required() -> Self {
        Self::new(
            ErrorKind::PreconditionRequired,
            Code::IfMatchRequired,
            "This write needs an If-Match header with the resource's current ETag.",
        )
    }

    /// 422 with per-field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            ErrorKind::Unprocessable,
            Code::ValidationFailed,
            "The request has invalid fields.",
        );
        e.errors = errors;
        e
    }

    /// 422 for a single field.
    pub fn invalid_field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, code, message)])
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            ErrorKind::TooManyRequests,
            Code::TooManyRequests,
            "Too many attempts: wait before trying again.",
        );
        e.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }

    /// Adds `Retry-After` (seconds) to any error.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn service_unavailable(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::ServiceUnavailable, code, detail)
    }

    /// 503 `database_unavailable`: the database is down, or not migrated yet at start-up.
    pub fn database_unavailable(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::service_unavailable(Code::DatabaseUnavailable, detail)
    }

    /// 413 `payload_too_large`, for bodies and files over their limit.
    pub fn payload_too_large(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::PayloadTooLarge, Code::PayloadTooLarge, detail)
    }

    /// The same error, listing the fields at fault.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// An unexpected failure: logged once when the response is made, shown as a bare 500.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorKind::Internal,
            Code::InternalError,
            "Something went wrong on our side; it has been logged.",
        );
        e.internal = Some(what.to_string());
        e
    }

    /// What the log says of an internal error (never sent to the client).
    pub fn internal_cause(&self) -> Option<&str> {
        self.internal.as_deref()
    }

    pub fn problem(&self) -> Problem {
        let status = self.kind.status();
        Problem {
            problem_type: format!("urn:passerelle:problem:{}", self.code.as_str()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail.to_string(),
            code: self.code.as_str().to_owned(),
            errors: self.errors.clone(),
            request_id: crate::request_id::current(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if let Some(internal) = &self.internal {
            log::error!("internal error: {internal}");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.content_type(PROBLEM_JSON);
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.kind == ErrorKind::Unauthorized {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::not_found(),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => ApiError::conflict(
                Code::ConcurrentUpdate,
                "Another change happened at the same time; retry.",
            ),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                ApiError::database_unavailable("The database is unreachable.")
            }
            // `statement_timeout` (the request deadline) cancelled the query.
            Error::DatabaseError(_, info) if info.message().contains("statement timeout") => {
                ApiError::service_unavailable(
                    Code::DeadlineExceeded,
                    "The server could not answer in time; retry shortly.",
                )
                .with_retry_after(1)
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, info) if is_nul_rejection(&*info) => {
                ApiError::new(
                    ErrorKind::Unprocessable,
                    Code::NulCharacter,
                    "Text may not contain the NUL character (U+0000).",
                )
            }
            // A stored value its column's type does not accept (`db::types`): diesel names
            // the column, its cause says what was there.
            Error::DeserializationError(e) => {
                let mut why = format!("database: unreadable row: {e}");
                let mut cause = e.source();
                while let Some(c) = cause {
                    why.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                ApiError::internal(why)
            }
            other => ApiError::internal(format!("database: {other}")),
        }
    }
}

/// PostgreSQL refuses U+0000 in text (SQLSTATE 22021, "invalid byte sequence for encoding
/// \"UTF8\": 0x00") and `\u0000` in jsonb (22P05, detail "\u0000 cannot be converted to
/// text"). Rust strings are valid UTF-8, so these come only from a client's NUL character,
/// in any text a request carries (bodies, query strings, form fields). diesel does not keep
/// the SQLSTATE; the byte and the escape read the same whatever the server's language.
fn is_nul_rejection(info: &dyn diesel::result::DatabaseErrorInformation) -> bool {
    info.message().ends_with(": 0x00") || info.details().is_some_and(|d| d.contains("\\u0000"))
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        log::warn!("database pool: {e}");
        ApiError::database_unavailable("The database is unreachable; try again shortly.")
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(format!("blocking task: {e}"))
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        ApiError::validation(field_errors(&errors, ""))
    }
}

/// Flattens validator's nested errors into `{field, code, message}` with dotted paths.
pub fn field_errors(errors: &validator::ValidationErrors, prefix: &str) -> Vec<FieldError> {
    use validator::ValidationErrorsKind;
    let mut out = Vec::new();
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for err in list {
                    let message = err
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| default_message(&err.code));
                    out.push(FieldError::new(path.clone(), err.code.to_string(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => out.extend(field_errors(inner, &path)),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    out.extend(field_errors(inner, &format!("{path}[{index}]")));
                }
            }
        }
    }
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn default_message(code: &str) -> String {
    match code {
        "length" => "has an invalid length".into(),
        "range" => "is out of range".into(),
        "email" => "must be a valid email address".into(),
        "required" => "is required".into(),
        other => format!("is invalid ({other})"),
    }
}

// --- actix's own rejections, in the same body -------------------------------------------

/// True for the error a body read past its deadline gives (`availability::deadline`).
pub fn is_body_timeout(e: &actix_web::error::PayloadError) -> bool {
    matches!(e, actix_web::error::PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// `JsonConfig::error_handler`: syntax errors are 400, well-formed JSON of the wrong shape is
/// 422, a body over the limit is 413, a non-JSON content type is 415.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { .. }
        | JsonPayloadError::Overflow { .. }
        | JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => {
            ApiError::payload_too_large("The request body is larger than this endpoint accepts.")
        }
        JsonPayloadError::Payload(e) if is_body_timeout(e) => ApiError::new(
            ErrorKind::RequestTimeout,
            Code::BodyTimeout,
            "The request body did not arrive in time; send it again.",
        ),
        JsonPayloadError::ContentType => ApiError::new(
            ErrorKind::UnsupportedMediaType,
            Code::UnsupportedMediaType,
            "Send the body as application/json.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::new(
            ErrorKind::Unprocessable,
            Code::InvalidBody,
            format!("The JSON body does not have the expected shape: {e}"),
        ),
        JsonPayloadError::Deserialize(e) => ApiError::bad_request(
            Code::MalformedJson,
            format!("The request body is not valid JSON: {e}"),
        ),
        _ => ApiError::bad_request(Code::UnreadableBody, "The request body could not be read."),
    };
    api.into()
}

/// `QueryConfig::error_handler`: an invalid query parameter is 422, not an empty answer.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::new(
        ErrorKind::Unprocessable,
        Code::InvalidQuery,
        format!("Invalid query parameters: {err}"),
    )
    .into()
}

/// `PathConfig::error_handler`: a malformed id names nothing that exists.
pub fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::not_found().into()
}

/// Default service: an unknown route.
pub async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorKind::NotFound,
        Code::RouteNotFound,
        "There is no such route; see /docs for the API.",
    ))
}

/// Middleware safety net: any error response that is not already problem+json (actix's
/// built-in 405, payload errors raised outside our extractors, ...) is rewritten into one.
pub fn problem_for_plain_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (kind, code) = ErrorKind::for_status(status);
    let detail = status.canonical_reason().unwrap_or("Error").to_owned();
    let (req, _) = res.into_parts();
    let api = ApiError::new(kind, code, detail);
    let mut response = api.error_response();
    *response.status_mut() = status;
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body::<B>(),
    ))
}

/// Shorthand for the body type the middleware above produces.
pub type ProblemBody<B> = EitherBody<B, BoxBody>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_the_status_design_names() {
        assert_eq!(ApiError::forbidden().status_code(), StatusCode::FORBIDDEN);
        assert_eq!(
            ApiError::precondition_required().status_code().as_u16(),
            428
        );
        assert_eq!(ApiError::precondition_failed().status_code().as_u16(), 412);
        assert_eq!(ApiError::too_many_requests(3).status_code().as_u16(), 429);
        assert_eq!(ApiError::validation(vec![]).status_code().as_u16(), 422);
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let e = ApiError::internal("relation \"secret_table\" does not exist");
        let p = e.problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("secret_table"));
    }

    #[test]
    fn retry_after_is_never_zero() {
        let res = ApiError::too_many_requests(0).error_response();
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }
}
