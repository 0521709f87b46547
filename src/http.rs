//! HTTP conventions shared by every feature: strong ETags with `If-None-Match` / `If-Match`,
//! the client address used for throttling, RFC 5987 header values, and paged lists
//! ([`pages`]).

pub mod pages;

use crate::{
    error::{ApiError, Code},
    validation::FieldError,
};
use actix_web::{http::header, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A strong ETag for a version of a resource: changes whenever `updated_at` does.
pub fn etag(id: Uuid, updated_at: DateTime<Utc>) -> String {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update(updated_at.timestamp_micros().to_be_bytes());
    format!("\"{}\"", hex::encode(&h.finalize()[..12]))
}

/// A strong ETag from a version counter that moves on every write.
pub fn version_etag(id: Uuid, version: i32) -> String {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update(version.to_be_bytes());
    format!("\"{}\"", hex::encode(&h.finalize()[..12]))
}

/// A strong ETag of exactly the bytes sent.
pub fn bytes_etag(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..16]))
}

/// A strong ETag of a JSON body: the hash of exactly what is sent.
pub fn body_etag<T: Serialize>(body: &T) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    Ok(bytes_etag(&bytes))
}

/// Whether the client's `If-None-Match` already names `etag` (or `*`). The comparison is weak
/// (RFC 9110 section 13.1.2): `W/"x"` matches `"x"`, because a proxy or CDN that compresses a
/// response (nginx's gzip does) turns its strong ETag weak, and the client sends back that one.
pub fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    header_str(req, header::IF_NONE_MATCH).is_some_and(|v| {
        let ours = opaque_tag(etag);
        entity_tags(v).any(|t| t == "*" || opaque_tag(t) == ours)
    })
}

/// The entity-tags of an `If-None-Match` or `If-Match` list.
fn entity_tags(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|t| !t.is_empty())
}

/// An entity-tag without its weakness indicator, for the weak comparison.
fn opaque_tag(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// An opaque bearer secret: `prefix` then 256 random bits in base64url.
pub fn opaque_token(prefix: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of an opaque token: its SHA-256. The token has 256 random bits, so a
/// slow hash adds nothing, and lookups by hash need no constant-time comparison.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The strong comparison `If-Match` needs (RFC 9110 section 13.1.1): a weak tag never
/// matches, since it does not promise the same bytes.
fn matches_any(list: &str, etag: &str) -> bool {
    entity_tags(list).any(|t| t == "*" || (t == etag && !t.starts_with("W/")))
}

/// 200 with `body` and its ETag, or 304 when the client's `If-None-Match` already has it.
pub fn respond_with_etag<T: Serialize>(req: &HttpRequest, etag: &str, body: &T) -> HttpResponse {
    if if_none_match(req, etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag.to_owned()))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag.to_owned()))
        .json(body)
}

/// For writes that must not overwrite someone else's change: 428 without `If-Match`, 412 when
/// it names another version.
pub fn require_if_match(req: &HttpRequest, current: &str) -> Result<(), ApiError> {
    match header_str(req, header::IF_MATCH) {
        None => Err(ApiError::precondition_required()),
        Some(v) if matches_any(v, current) => Ok(()),
        Some(_) => Err(ApiError::precondition_failed()),
    }
}

/// The `If-Match` value, for checks made inside a transaction.
pub fn if_match(req: &HttpRequest) -> Result<String, ApiError> {
    header_str(req, header::IF_MATCH)
        .map(str::to_owned)
        .ok_or_else(ApiError::precondition_required)
}

/// Checks an `If-Match` value read earlier against the version read under lock.
pub fn check_if_match(if_match: &str, current: &str) -> Result<(), ApiError> {
    if matches_any(if_match, current) {
        Ok(())
    } else {
        Err(ApiError::precondition_failed())
    }
}

/// The client's IP address: the socket peer, or, when the peer is one of `TRUSTED_PROXIES`,
/// the right-most entry of the forwarding header that is not a trusted proxy
/// ([`crate::proxies::client_ip`]).
pub fn client_address(req: &HttpRequest, settings: &crate::settings::Settings) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_owned();
    };
    let header = settings.forwarded_header;
    let values = req
        .headers()
        .get_all(header.name())
        .filter_map(|v| v.to_str().ok());
    crate::proxies::client_ip(peer, &settings.trusted_proxies, header, values).to_string()
}

/// The one normalisation of a client address for every per-client budget (rate limits, login
/// failures): IPv4 as is (also when seen through an IPv6 socket), IPv6 per /64, the block
/// one subscriber usually gets. `Forwarded: for="[2001:db8::1]"` brackets are dropped.
pub fn client_key(address: &str) -> String {
    use std::net::IpAddr;
    let bare = address.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => address.to_owned(),
    }
}

/// A JSON body whose rejection (400, 408, 413, 415, 422) is only reported when the handler
/// takes it with [`JsonBody::take`], which handlers do after checking who calls: a staff
/// member who may not use a route gets its 403 or 404 whatever the body says. (actix reads
/// the body while the session is looked up, so with a plain `web::Json` the first to fail
/// would win.)
pub struct JsonBody<T>(Result<T, ApiError>);

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// Read as a JSON value first (`JsonConfig` applies: limit, content type, syntax), then
    /// into `T`; when `T` refuses it, [`shape_error`] lists every field at fault.
    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let json = actix_web::web::Json::<serde_json::Value>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let value = match json.await {
                Ok(value) => value.into_inner(),
                // `JsonConfig`'s handler (`error::json_error`) makes every rejection an ApiError.
                Err(e) => {
                    return Ok(JsonBody(Err(e
                        .as_error::<ApiError>()
                        .cloned()
                        .unwrap_or_else(|| {
                            ApiError::internal(format!("json body: {e}"))
                        }))))
                }
            };
            Ok(JsonBody(
                <T as serde::Deserialize>::deserialize(&value)
                    .map_err(|e| shape_error(&req, &value, &e)),
            ))
        })
    }
}

/// 422 `invalid_body` for JSON that `T` refused: serde's message as the detail, and every
/// missing, mistyped or unknown field that the operation's documented schema shows.
fn shape_error(req: &HttpRequest, value: &serde_json::Value, e: &serde_json::Error) -> ApiError {
    let table = req.app_data::<actix_web::web::Data<crate::route_table::RouteTable>>();
    let schema = req
        .match_pattern()
        .and_then(|pattern| table.and_then(|t| t.body_schema(&pattern, req.method()).cloned()));
    let errors = match (schema, table) {
        (Some(schema), Some(table)) => crate::json_check::check(value, &schema, table.components()),
        _ => Vec::new(),
    };
    ApiError::new(
        crate::error::ErrorKind::Unprocessable,
        Code::InvalidBody,
        format!("The JSON body does not have the expected shape: {e}"),
    )
    .with_errors(errors)
}

impl<T> JsonBody<T> {
    /// The body, or why it was refused.
    pub fn take(self) -> Result<T, ApiError> {
        self.0
    }
}

/// A JSON body the client may leave out: a request that carries no body (no
/// `Content-Length`, or 0, and no `Transfer-Encoding`) gives `None`; any other is read and
/// refused exactly as a [`JsonBody`].
pub struct OptionalJsonBody<T>(Option<JsonBody<T>>);

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for OptionalJsonBody<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
        let headers = req.headers();
        let no_body = headers
            .get(CONTENT_LENGTH)
            .is_none_or(|v| v.as_bytes() == b"0")
            && !headers.contains_key(TRANSFER_ENCODING);
        if no_body {
            return Box::pin(async { Ok(OptionalJsonBody(None)) });
        }
        let body = JsonBody::<T>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalJsonBody(Some(body.await?))) })
    }
}

impl<T> OptionalJsonBody<T> {
    /// The body when one was sent, or why it was refused.
    pub fn take(self) -> Result<Option<T>, ApiError> {
        self.0.map(JsonBody::take).transpose()
    }
}

/// `value` as an RFC 5987 `ext-value` after `UTF-8''`, e.g. for `filename*`: every byte but
/// the unreserved characters of RFC 3986 percent-encoded.
pub fn rfc5987_encode(value: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// A query string's parameters by name, for a parser built on `validation::Form`. A name
/// given twice is refused (422, `duplicate` on that field) rather than one value silently
/// winning.
pub fn query_fields(
    pairs: Vec<(String, String)>,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let mut fields = std::collections::HashMap::with_capacity(pairs.len());
    let mut errors = Vec::new();
    for (name, value) in pairs {
        if fields.contains_key(&name) {
            if !errors.iter().any(|e: &FieldError| e.field == name) {
                errors.push(FieldError::new(
                    &name,
                    "duplicate",
                    "is given more than once",
                ));
            }
            continue;
        }
        fields.insert(name, value);
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(ApiError::validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn etags_change_with_the_version() {
        let id = Uuid::new_v4();
        let t = Utc::now();
        assert_eq!(etag(id, t), etag(id, t));
        assert_ne!(etag(id, t), etag(id, t + chrono::Duration::microseconds(1)));
        assert!(etag(id, t).starts_with('"'));
    }

    #[test]
    fn if_match_is_required_and_compared() {
        let current = "\"abc\"";
        let none = TestRequest::default().to_http_request();
        assert_eq!(
            require_if_match(&none, current).unwrap_err().code(),
            "if_match_required"
        );
        let stale = TestRequest::default()
            .insert_header((header::IF_MATCH, "\"old\""))
            .to_http_request();
        assert_eq!(
            require_if_match(&stale, current).unwrap_err().code(),
            "stale_etag"
        );
        let fresh = TestRequest::default()
            .insert_header((header::IF_MATCH, "\"old\", \"abc\""))
            .to_http_request();
        assert!(require_if_match(&fresh, current).is_ok());
    }

    #[test]
    fn opaque_tokens_are_random_prefixed_and_hashed() {
        let (a, b) = (opaque_token("pct_"), opaque_token("pct_"));
        assert!(a.starts_with("pct_") && a.len() == 4 + 43);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(bytes_etag(b"x"), bytes_etag(b"x"));
        assert_ne!(bytes_etag(b"x"), bytes_etag(b"y"));
    }

    #[test]
    fn if_none_match_gives_304() {
        let req = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "\"abc\""))
            .to_http_request();
        assert_eq!(respond_with_etag(&req, "\"abc\"", &1).status(), 304);
        assert_eq!(respond_with_etag(&req, "\"new\"", &1).status(), 200);
    }

    #[test]
    fn if_none_match_compares_weakly_and_if_match_strongly() {
        let weak = |h: &str| {
            TestRequest::default()
                .insert_header((header::IF_NONE_MATCH, h.to_owned()))
                .insert_header((header::IF_MATCH, h.to_owned()))
                .to_http_request()
        };
        for sent in ["W/\"abc\"", "\"x\", W/\"abc\"", "\"abc\""] {
            assert!(if_none_match(&weak(sent), "\"abc\""), "{sent}");
        }
        assert!(!if_none_match(&weak("W/\"abd\""), "\"abc\""));
        assert!(require_if_match(&weak("W/\"abc\""), "\"abc\"").is_err());
        assert!(require_if_match(&weak("\"abc\""), "\"abc\"").is_ok());
    }

    #[test]
    fn rfc5987_values_keep_only_unreserved_characters() {
        assert_eq!(rfc5987_encode("aé b"), "a%C3%A9%20b");
        assert_eq!(rfc5987_encode("CV-v2_final.~pdf"), "CV-v2_final.~pdf");
        assert_eq!(rfc5987_encode("a\"b;c'*"), "a%22b%3Bc%27%2A");
    }
}
