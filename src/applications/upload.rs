//! Reading a multipart application while it streams: the whole request and each file are
//! capped as bytes arrive (413 before the body is read whole), unknown and repeated fields
//! are refused, text fields are bounded. Slow senders cannot hold the upload slots: a body
//! whose average rate falls below a minimum after a grace period is cut (408), and one client
//! address may send only a few applications at once (429).

use super::domain::FORM_FIELDS;
use crate::error::Code;
use crate::error::{ApiError, ErrorKind};
use actix_multipart::Multipart;
use actix_web::{error::PayloadError, http::header, web, HttpRequest};
use futures_util::{Future, Stream, StreamExt};
use std::{
    collections::HashMap,
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};
use tokio::time::{Instant, Sleep};

/// Longest text field, in bytes.
const MAX_TEXT_BYTES: usize = 16 * 1024;

pub const FILE_FIELDS: [&str; 2] = ["cv", "cover_letter"];

pub struct UploadedFile {
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

pub struct Submission {
    pub fields: HashMap<String, String>,
    pub files: HashMap<String, UploadedFile>,
}

pub use crate::settings::MinimumRate;

/// The error a [`MinimumRateBody`] ends with, told apart from other I/O errors by its type.
#[derive(Debug)]
struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upload below the minimum rate")
    }
}

impl std::error::Error for TooSlow {}

fn is_too_slow(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<TooSlow>()))
}

/// 408 `upload_too_slow`.
pub fn upload_too_slow() -> ApiError {
    ApiError::new(
        ErrorKind::RequestTimeout,
        Code::UploadTooSlow,
        "The application arrived too slowly; send it again over a better connection.",
    )
}

/// A request body that must keep up a [`MinimumRate`], counted from when it is first awaited
/// (once an upload slot is held): past the cut-off it fails with [`TooSlow`], also when no
/// byte arrives at all, since a timer wakes it at the cut-off.
pub struct MinimumRateBody<S> {
    inner: S,
    rule: MinimumRate,
    started: Instant,
    received: u64,
    /// Armed at the cut-off of what has arrived so far; `None` when there is no minimum.
    timer: Option<Pin<Box<Sleep>>>,
    cut: bool,
}

impl<S> MinimumRateBody<S> {
    pub fn new(inner: S, rule: MinimumRate) -> Self {
        let started = Instant::now();
        let timer = rule
            .cut_off(0)
            .map(|at| Box::pin(tokio::time::sleep_until(started + at)));
        MinimumRateBody {
            inner,
            rule,
            started,
            received: 0,
            timer,
            cut: false,
        }
    }

    fn too_slow(&mut self) -> Poll<Option<Result<web::Bytes, PayloadError>>> {
        self.cut = true;
        Poll::Ready(Some(Err(PayloadError::Io(io::Error::other(TooSlow)))))
    }
}

impl<S> Stream for MinimumRateBody<S>
where
    S: Stream<Item = Result<web::Bytes, PayloadError>> + Unpin,
{
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.cut {
            return Poll::Ready(None);
        }
        let item = Pin::new(&mut self.inner).poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(chunk))) => {
                self.received = self.received.saturating_add(chunk.len() as u64);
            }
            // The end of the body, or an error of its own: nothing left to time.
            Poll::Ready(_) => return item,
            Poll::Pending => {}
        }
        let Some(at) = self.rule.cut_off(self.received) else {
            return item;
        };
        let at = self.started + at;
        if Instant::now() >= at {
            return self.too_slow();
        }
        if item.is_ready() {
            return item;
        }
        let Some(timer) = self.timer.as_mut() else {
            return item;
        };
        if timer.deadline() != at {
            timer.as_mut().reset(at);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => self.too_slow(),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Applications being received by this instance, counted per client address.
#[derive(Debug, Default)]
pub struct UploadsPerAddress {
    counts: Mutex<HashMap<String, usize>>,
}

/// One application counted against its client address until it is dropped, however its
/// request ends (answered, timed out, or its connection gone).
#[derive(Debug)]
pub struct AddressSlot {
    owner: Arc<UploadsPerAddress>,
    key: String,
}

/// How long a client told `too_many_uploads` should wait.
const TOO_MANY_UPLOADS_RETRY_SECS: u64 = 5;

impl UploadsPerAddress {
    /// Counts one more application from `key` (a [`crate::http::client_key`]), or refuses it
    /// with 429 `too_many_uploads` when `cap` are already arriving from there. A `cap` of 0
    /// counts nothing.
    pub fn claim(
        self: &Arc<Self>,
        key: String,
        cap: usize,
    ) -> Result<Option<AddressSlot>, ApiError> {
        if cap == 0 {
            return Ok(None);
        }
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(key.clone()).or_default();
        if *count >= cap {
            return Err(ApiError::new(
                ErrorKind::TooManyRequests,
                Code::TooManyUploads,
                format!(
                    "{cap} applications are already arriving from your address: wait until \
                     they are done."
                ),
            )
            .with_retry_after(TOO_MANY_UPLOADS_RETRY_SECS));
        }
        *count += 1;
        Ok(Some(AddressSlot {
            owner: Arc::clone(self),
            key,
        }))
    }

    /// Applications arriving from `key` now.
    pub fn in_flight(&self, key: &str) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(key).copied().unwrap_or(0)
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // The map holds only addresses with applications in flight.
                counts.remove(&self.key);
            }
        }
    }
}

fn field_error(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::invalid_field(field, code, message)
}

fn multipart_error(e: actix_multipart::MultipartError, max_request: usize) -> ApiError {
    use actix_multipart::MultipartError as E;
    match e {
        E::ContentTypeMissing
        | E::ContentTypeParse
        | E::ContentTypeIncompatible
        | E::BoundaryMissing => ApiError::new(
            ErrorKind::UnsupportedMediaType,
            Code::MultipartRequired,
            "Send the application as multipart/form-data.",
        ),
        E::Payload(p) if is_too_slow(&p) => upload_too_slow(),
        E::Payload(PayloadError::Overflow) => ApiError::payload_too_large(format!(
            "The application is larger than {} MiB in total.",
            max_request / (1024 * 1024)
        )),
        E::Incomplete => ApiError::bad_request(
            Code::IncompleteBody,
            "The multipart body ended before its closing boundary.",
        ),
        _ => ApiError::bad_request(
            Code::MalformedMultipart,
            "The multipart body could not be read.",
        ),
    }
}

/// Reads the form, refusing it as soon as a limit is crossed.
pub async fn read_submission(
    req: &HttpRequest,
    payload: web::Payload,
    max_document: usize,
    max_request: usize,
    min_rate: MinimumRate,
) -> Result<Submission, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max_request) {
        return Err(ApiError::payload_too_large(format!(
            "The application is larger than {} MiB in total.",
            max_request / (1024 * 1024)
        )));
    }
    // Counts what actually arrives: a chunked body has no Content-Length to trust.
    let mut seen = 0usize;
    let counted = MinimumRateBody::new(payload, min_rate).map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > max_request {
            Err(PayloadError::Overflow)
        } else {
            Ok(chunk)
        }
    });
    let mut multipart = Multipart::new(req.headers(), counted);
    let mut fields = HashMap::new();
    let mut files = HashMap::new();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| multipart_error(e, max_request))?;
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = FILE_FIELDS.contains(&name.as_str());
        if !is_file && !FORM_FIELDS.contains(&name.as_str()) {
            return Err(field_error(
                &name,
                "unknown_field",
                "is not a field of the application form",
            ));
        }
        if fields.contains_key(&name) || files.contains_key(&name) {
            return Err(field_error(
                &name,
                "repeated_field",
                "is sent more than once",
            ));
        }
        let cap = if is_file {
            max_document
        } else {
            MAX_TEXT_BYTES
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| multipart_error(e, max_request))?;
            if bytes.len() + chunk.len() > cap {
                return Err(if is_file {
                    ApiError::payload_too_large(format!(
                        "{name} is larger than {} MiB.",
                        max_document / (1024 * 1024)
                    ))
                } else {
                    field_error(&name, "too_long", "is too long")
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            let filename = field
                .content_disposition()
                .and_then(|cd| cd.get_filename())
                .map(str::to_owned);
            // A browser sends a file input left empty as a part with `filename=""` and no
            // bytes: that is no file, exactly as an empty text input is no text.
            if bytes.is_empty() && filename.as_deref().is_none_or(str::is_empty) {
                continue;
            }
            files.insert(name, UploadedFile { filename, bytes });
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| field_error(&name, "invalid_encoding", "must be UTF-8 text"))?;
            fields.insert(name, text);
        }
    }
    Ok(Submission { fields, files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;
    use futures_util::stream;
    use std::time::Duration;

    const RULE: MinimumRate = MinimumRate {
        bytes_per_second: 1000,
        grace: Duration::from_secs(10),
    };

    #[test]
    fn the_rate_is_judged_only_after_the_grace_period() {
        let s = Duration::from_secs;
        // Nothing at all for the whole grace period is still allowed.
        assert!(!RULE.is_too_slow(0, Duration::from_millis(9_999)));
        assert!(RULE.is_too_slow(0, s(10)));
        // Past it, the average since the start counts: 1000 B/s over 12 s is 12 000 bytes.
        assert!(!RULE.is_too_slow(12_000, s(12)));
        assert!(RULE.is_too_slow(11_999, s(12)));
        // A fast start buys time: 30 000 bytes in the first second last until 30 s.
        assert_eq!(RULE.cut_off(30_000), Some(Duration::from_millis(30_001)));
        assert_eq!(RULE.cut_off(5_000), Some(s(10)));
        assert!(!RULE.is_too_slow(30_000, s(30)));
        assert!(RULE.is_too_slow(30_000, Duration::from_millis(30_001)));
        // The penetration test's 10 bytes every 0.5 s (20 B/s) is cut when the grace ends.
        assert!(RULE.is_too_slow(200, s(10)));
        assert_eq!(RULE.cut_off(u64::MAX).map(|d| d > s(1_000_000)), Some(true));
    }

    #[test]
    fn a_minimum_of_zero_cuts_nothing() {
        assert_eq!(MinimumRate::OFF.cut_off(0), None);
        assert!(!MinimumRate::OFF.is_too_slow(0, Duration::from_secs(86_400)));
    }

    fn rule_ms(bytes_per_second: u64, grace_ms: u64) -> MinimumRate {
        MinimumRate {
            bytes_per_second,
            grace: Duration::from_millis(grace_ms),
        }
    }

    #[actix_web::test]
    async fn a_body_that_stops_is_cut_at_the_grace_period_by_its_timer() {
        let stalled = stream::iter([Ok(web::Bytes::from_static(b"abc"))]).chain(stream::pending());
        let mut body = MinimumRateBody::new(stalled, rule_ms(1000, 100));
        let started = std::time::Instant::now();
        assert_eq!(body.next().await.unwrap().unwrap(), "abc");
        let err = body.next().await.unwrap().unwrap_err();
        assert!(is_too_slow(&err), "{err}");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(2));
        // Cut means ended: nothing more is read.
        assert!(body.next().await.is_none());
    }

    #[actix_web::test]
    async fn a_body_at_a_fair_rate_or_without_a_minimum_is_left_alone() {
        // 100 bytes every 20 ms (5000 B/s) for 300 ms, well past a 50 ms grace period.
        let steady = stream::unfold(0, |n| async move {
            (n < 15).then_some(())?;
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((Ok(web::Bytes::from(vec![b'x'; 100])), n + 1))
        });
        let body = MinimumRateBody::new(Box::pin(steady), rule_ms(1000, 50));
        let all: Vec<_> = body.collect().await;
        assert_eq!(all.len(), 15);
        assert!(all.iter().all(Result::is_ok));

        let slow = stream::unfold(0, |n| async move {
            (n < 3).then_some(())?;
            tokio::time::sleep(Duration::from_millis(60)).await;
            Some((Ok(web::Bytes::from_static(b"x")), n + 1))
        });
        let body = MinimumRateBody::new(Box::pin(slow), MinimumRate::OFF);
        assert!(body.collect::<Vec<_>>().await.iter().all(Result::is_ok));
    }

    #[actix_web::test]
    async fn other_payload_errors_are_not_taken_for_slowness() {
        let err = PayloadError::Io(io::Error::new(io::ErrorKind::TimedOut, "deadline"));
        assert!(!is_too_slow(&err));
        assert!(!is_too_slow(&PayloadError::Overflow));
        let failing = stream::iter([Err(PayloadError::Overflow)]);
        let mut body = MinimumRateBody::new(failing, rule_ms(1000, 50));
        assert!(matches!(
            body.next().await,
            Some(Err(PayloadError::Overflow))
        ));
    }

    #[test]
    fn each_address_gets_its_cap_and_its_uploads_back_when_they_end() {
        let uploads = Arc::new(UploadsPerAddress::default());
        let a = "192.0.2.1".to_owned();
        let first = uploads.claim(a.clone(), 2).unwrap();
        let second = uploads.claim(a.clone(), 2).unwrap();
        let refused = uploads.claim(a.clone(), 2).unwrap_err();
        assert_eq!(refused.code(), "too_many_uploads");
        assert_eq!(refused.status_code().as_u16(), 429);
        // Another address is counted on its own.
        let other = uploads.claim("192.0.2.2".into(), 2).unwrap();
        assert_eq!(uploads.in_flight(&a), 2);
        drop(first);
        assert_eq!(uploads.in_flight(&a), 1);
        let third = uploads.claim(a.clone(), 2).unwrap();
        drop((second, third, other));
        assert_eq!(uploads.in_flight(&a), 0);
        // Addresses without uploads in flight are forgotten.
        assert!(uploads.counts.lock().unwrap().is_empty());
    }

    #[test]
    fn a_cap_of_zero_counts_nothing() {
        let uploads = Arc::new(UploadsPerAddress::default());
        for _ in 0..100 {
            assert!(uploads.claim("192.0.2.1".into(), 0).unwrap().is_none());
        }
        assert_eq!(uploads.in_flight("192.0.2.1"), 0);
    }
}
