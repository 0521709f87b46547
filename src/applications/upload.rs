//! Reading a multipart application while it streams: the whole request and each file are
//! capped as bytes arrive (413 before the body is read whole), unknown and repeated fields
//! are refused, text fields are bounded.

use super::domain::FORM_FIELDS;
use crate::error::{ApiError, ErrorKind};
use actix_multipart::Multipart;
use actix_web::{error::PayloadError, http::header, web, HttpRequest};
use futures_util::StreamExt;
use std::collections::HashMap;

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
            "multipart_required",
            "Send the application as multipart/form-data.",
        ),
        E::Payload(PayloadError::Overflow) => ApiError::payload_too_large(format!(
            "The application is larger than {} MiB in total.",
            max_request / (1024 * 1024)
        )),
        E::Incomplete => ApiError::bad_request(
            "incomplete_body",
            "The multipart body ended before its closing boundary.",
        ),
        _ => ApiError::bad_request(
            "malformed_multipart",
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
    let counted = payload.map(move |chunk| {
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
            files.insert(name, UploadedFile { filename, bytes });
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| field_error(&name, "invalid_encoding", "must be UTF-8 text"))?;
            fields.insert(name, text);
        }
    }
    Ok(Submission { fields, files })
}
