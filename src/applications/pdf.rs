//! Is this upload a PDF we accept? Checked by content, never by name or declared type: a PDF
//! header, a trailer with `startxref` pointing into the file and `%%EOF`, at least one
//! object, no encryption, and no active content (JavaScript, launch actions, embedded files,
//! forms that submit), looking inside compressed streams too.
//!
//! The check is CPU work bounded per file by [`Limits`]: callers run it off the async
//! workers (see `apply.rs`), and a file that reaches a limit is refused, never half-checked.

use std::io::Read;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfProblem {
    #[error("is not a PDF (no %PDF- header)")]
    NotPdf,
    #[error("is not a complete PDF (no startxref/%%EOF trailer)")]
    NoTrailer,
    #[error("is not a readable PDF (its cross-reference offset is wrong or it has no objects)")]
    Unparseable,
    #[error("is encrypted; send an unencrypted PDF")]
    Encrypted,
    #[error("contains active content ({0}); send a plain PDF")]
    ActiveContent(String),
    #[error("is too complex to check ({0}); send a simpler PDF")]
    TooComplex(String),
}

impl PdfProblem {
    pub fn code(&self) -> &'static str {
        match self {
            PdfProblem::NotPdf => "not_a_pdf",
            PdfProblem::NoTrailer | PdfProblem::Unparseable => "unreadable_pdf",
            PdfProblem::Encrypted => "encrypted_pdf",
            PdfProblem::ActiveContent(_) => "active_pdf_content",
            PdfProblem::TooComplex(_) => "pdf_too_complex",
        }
    }
}

/// PDF names that make a document do something when opened or that carry other files.
const FORBIDDEN_NAMES: [&str; 8] = [
    "JavaScript",
    "JS",
    "Launch",
    "EmbeddedFile",
    "EmbeddedFiles",
    "RichMedia",
    "SubmitForm",
    "ImportData",
];

/// What checking one file may cost. A file that needs more is refused
/// ([`PdfProblem::TooComplex`]): a decompression bomb stops at the first limit it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes all the streams of the file may decode to, together.
    pub max_decoded_bytes: u64,
    /// Streams the file may hold.
    pub max_streams: usize,
}

impl Limits {
    /// 64 MiB decoded and 500 streams: about 13 times what a 5 MiB upload holds, and far more
    /// streams than a CV or a letter of a few pages (a page is one to a few streams).
    pub const DEFAULT: Limits = Limits {
        max_decoded_bytes: 64 * 1024 * 1024,
        max_streams: 500,
    };
}

/// [`check_pdf_within`] the [`Limits::DEFAULT`]. CPU-bound: call it off the async workers.
pub fn check_pdf(bytes: &[u8]) -> Result<(), PdfProblem> {
    check_pdf_within(bytes, Limits::DEFAULT)
}

pub fn check_pdf_within(bytes: &[u8], limits: Limits) -> Result<(), PdfProblem> {
    if !(bytes.starts_with(b"%PDF-1.") || bytes.starts_with(b"%PDF-2.")) {
        return Err(PdfProblem::NotPdf);
    }
    let tail_start = bytes.len().saturating_sub(2048);
    let tail = &bytes[tail_start..];
    let eof = find_last(tail, b"%%EOF").ok_or(PdfProblem::NoTrailer)?;
    let startxref = find_last(&tail[..eof], b"startxref").ok_or(PdfProblem::NoTrailer)?;
    let offset: usize = std::str::from_utf8(&tail[startxref + 9..eof])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or(PdfProblem::Unparseable)?;
    // The offset must point at a classic `xref` table or an `N G obj` cross-reference stream.
    let at = bytes.get(offset..).ok_or(PdfProblem::Unparseable)?;
    let points_at_xref =
        at.starts_with(b"xref") || find(&at[..at.len().min(32)], b" obj").is_some();
    if !points_at_xref || find(bytes, b"endobj").is_none() {
        return Err(PdfProblem::Unparseable);
    }
    scan_names(bytes)?;
    let mut budget = limits.max_decoded_bytes;
    for (n, stream) in streams(bytes).enumerate() {
        if n >= limits.max_streams {
            return Err(PdfProblem::TooComplex(format!(
                "more than {} streams",
                limits.max_streams
            )));
        }
        let mut inflated = Vec::new();
        // One byte more than the budget tells "reached the limit" from "fits exactly".
        let mut decoder = flate2::read::ZlibDecoder::new(stream).take(budget.saturating_add(1));
        if decoder.read_to_end(&mut inflated).is_ok() && !inflated.is_empty() {
            let used = inflated.len() as u64;
            if used > budget {
                return Err(PdfProblem::TooComplex(format!(
                    "its streams decode to more than {} MiB",
                    limits.max_decoded_bytes / (1024 * 1024)
                )));
            }
            budget -= used;
            scan_names(&inflated)?;
        }
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b)
}

/// Every `/Name` in `bytes`, with `#xx` escapes decoded (`/J#61vaScript` is `/JavaScript`).
fn scan_names(bytes: &[u8]) -> Result<(), PdfProblem> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'/' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && !is_delimiter(bytes[end]) {
            end += 1;
        }
        let name = decode_name(&bytes[start..end]);
        if name == b"Encrypt" {
            return Err(PdfProblem::Encrypted);
        }
        if let Some(bad) = FORBIDDEN_NAMES
            .iter()
            .find(|n| n.as_bytes() == name.as_slice())
        {
            return Err(PdfProblem::ActiveContent(format!("/{bad}")));
        }
        i = end.max(start);
    }
    Ok(())
}

fn decode_name(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'#', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The raw data between `stream` and `endstream` keywords.
fn streams(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || loop {
        let start = find(rest, b"stream")?;
        // Skip `endstream` matches and keep looking for a stream start.
        if start >= 3 && &rest[start - 3..start] == b"end" {
            rest = &rest[start + 6..];
            continue;
        }
        let mut data = start + 6;
        if rest.get(data) == Some(&b'\r') {
            data += 1;
        }
        if rest.get(data) == Some(&b'\n') {
            data += 1;
        }
        let len = find(&rest[data..], b"endstream")?;
        let stream = &rest[data..data + len];
        rest = &rest[data + len + 9..];
        return Some(stream);
    })
}

/// Builds a small valid PDF with the given objects (dictionaries or streams, without the
/// `N 0 obj` wrapper); object 1 must be the catalog. For tests and the benchmark.
pub fn build_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A one-page PDF whose page shows `text`, padded with a comment to about `size` bytes.
pub fn sample_pdf(text: &str, size: usize) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let padding = "%".to_owned() + &"x".repeat(size.saturating_sub(700));
    build_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        format!("<< /Length {} >>\nstream\n{content}\n{padding}\nendstream", content.len()).into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_plain_pdf_passes() {
        assert_eq!(check_pdf(&sample_pdf("Marie Curie, CV", 2000)), Ok(()));
    }

    #[test]
    fn other_files_fail_whatever_their_name() {
        assert_eq!(
            check_pdf(b"PK\x03\x04 a zip renamed cv.pdf"),
            Err(PdfProblem::NotPdf)
        );
        assert_eq!(check_pdf(b"<html>cv</html>"), Err(PdfProblem::NotPdf));
        let mut truncated = sample_pdf("x", 1000);
        truncated.truncate(truncated.len() - 20);
        assert_eq!(check_pdf(&truncated), Err(PdfProblem::NoTrailer));
        assert_eq!(
            check_pdf(b"%PDF-1.4\nnothing\nstartxref\n999999\n%%EOF\n"),
            Err(PdfProblem::Unparseable)
        );
    }

    #[test]
    fn active_content_fails_even_escaped_or_compressed() {
        let js = build_pdf(&[
            b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>".to_vec(),
        ]);
        assert!(matches!(check_pdf(&js), Err(PdfProblem::ActiveContent(_))));
        let escaped =
            build_pdf(&[b"<< /Type /Catalog /OpenAction << /S /J#61vaScript >> >>".to_vec()]);
        assert!(matches!(
            check_pdf(&escaped),
            Err(PdfProblem::ActiveContent(_))
        ));
        let launch = build_pdf(&[
            b"<< /Type /Catalog /OpenAction << /S /Launch /F (calc.exe) >> >>".to_vec(),
        ]);
        assert!(matches!(
            check_pdf(&launch),
            Err(PdfProblem::ActiveContent(_))
        ));

        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"<< /S /JavaScript /JS (this.exportDataObject()) >>")
            .unwrap();
        let packed = z.finish().unwrap();
        let mut stream = format!(
            "<< /Type /ObjStm /Filter /FlateDecode /Length {} >>\nstream\n",
            packed.len()
        )
        .into_bytes();
        stream.extend_from_slice(&packed);
        stream.extend_from_slice(b"\nendstream");
        let hidden = build_pdf(&[b"<< /Type /Catalog >>".to_vec(), stream]);
        assert!(matches!(
            check_pdf(&hidden),
            Err(PdfProblem::ActiveContent(_))
        ));
    }

    /// `count` Flate streams, each inflating to `each` bytes of spaces.
    pub(crate) fn many_compressed_streams(count: usize, each: usize) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![b' '; each]).unwrap();
        let packed = z.finish().unwrap();
        let mut objects = vec![b"<< /Type /Catalog >>".to_vec()];
        for _ in 0..count {
            let mut stream = format!(
                "<< /Filter /FlateDecode /Length {} >>\nstream\n",
                packed.len()
            )
            .into_bytes();
            stream.extend_from_slice(&packed);
            stream.extend_from_slice(b"\nendstream");
            objects.push(stream);
        }
        build_pdf(&objects)
    }

    #[test]
    fn decompression_bombs_stop_at_the_first_limit() {
        let limits = Limits {
            max_decoded_bytes: 1024 * 1024,
            max_streams: 20,
        };
        // 16 streams of 64 KiB: exactly the budget, accepted.
        assert_eq!(
            check_pdf_within(&many_compressed_streams(16, 64 * 1024), limits),
            Ok(())
        );
        // One byte more, in many small streams: refused, not half-checked.
        let over = many_compressed_streams(17, 64 * 1024);
        assert!(matches!(
            check_pdf_within(&over, limits),
            Err(PdfProblem::TooComplex(_))
        ));
        assert_eq!(
            PdfProblem::TooComplex(String::new()).code(),
            "pdf_too_complex"
        );
        let many = many_compressed_streams(21, 10);
        assert!(matches!(
            check_pdf_within(&many, limits),
            Err(PdfProblem::TooComplex(m)) if m.contains("streams")
        ));
        // The default limits: 152 streams of 1 MiB fit the count but not the bytes.
        let bomb = many_compressed_streams(152, 1024 * 1024);
        assert!(bomb.len() < 300 * 1024, "{}", bomb.len());
        assert!(matches!(check_pdf(&bomb), Err(PdfProblem::TooComplex(_))));
        assert!(matches!(
            check_pdf(&many_compressed_streams(501, 10)),
            Err(PdfProblem::TooComplex(_))
        ));
    }

    #[test]
    fn encrypted_pdfs_fail() {
        let enc = build_pdf(&[b"<< /Type /Catalog /Encrypt 2 0 R >>".to_vec()]);
        assert_eq!(check_pdf(&enc), Err(PdfProblem::Encrypted));
    }
}
