//! Request ids: every request gets one (the client's `X-Request-Id` when it is sane, a new
//! one otherwise). It is echoed in the response, written in the access log and in every log
//! line made while handling the request, and put in problem bodies, so a user's report can
//! be matched with the logs.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let value = HeaderValue::from_str(&id).map_err(actix_web::error::ErrorInternalServerError)?;
    // The access log reads it from the request.
    req.headers_mut()
        .insert(HeaderName::from_static(HEADER), value.clone());
    let mut res = REQUEST_ID.scope(id, next.call(req)).await?;
    res.headers_mut()
        .insert(HeaderName::from_static(HEADER), value);
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_sane_ids_are_kept() {
        assert!(super::acceptable("abc-123_x.y"));
        assert!(!super::acceptable(""));
        assert!(!super::acceptable("a b"));
        assert!(!super::acceptable(&"x".repeat(65)));
        assert!(!super::acceptable("ü"));
    }
}
