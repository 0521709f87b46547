//! Is this upload a PDF we accept? Checked by content, never by name or declared type: a PDF
//! header, a trailer with `startxref` pointing into the file and `%%EOF`, at least one
//! object, no encryption, and no active content (scripts, launch actions, attached files,
//! forms that submit, XFA, additional actions, media, an `/OpenAction` that is not `/GoTo`).
//! The raw bytes are scanned whole, and every stream is decoded through its whole filter
//! chain and scanned too; a stream that does not decode, or an unknown filter, refuses the
//! file rather than being skipped.
//!
//! The check is CPU work bounded per file by [`Limits`]: callers run it off the async
//! workers (see `apply.rs`), and a file that reaches a limit is refused, never half-checked.

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
    #[error("uses a stream encoding that cannot be checked ({0}); send a plain PDF")]
    UnsupportedFilter(String),
    #[error("has a stream that does not decode ({0}); send an undamaged PDF")]
    BadStream(String),
}

impl PdfProblem {
    pub fn code(&self) -> &'static str {
        match self {
            PdfProblem::NotPdf => "not_a_pdf",
            PdfProblem::NoTrailer | PdfProblem::Unparseable => "unreadable_pdf",
            PdfProblem::Encrypted => "encrypted_pdf",
            PdfProblem::ActiveContent(_) => "active_pdf_content",
            PdfProblem::TooComplex(_) => "pdf_too_complex",
            PdfProblem::UnsupportedFilter(_) => "unsupported_pdf_filter",
            PdfProblem::BadStream(_) => "unreadable_pdf",
        }
    }
}

/// PDF names that make a document do something when opened or that carry other files:
/// scripts, launched programs, forms that submit or import, attached files (`EF` is the
/// file specification's own key, with or without `/Type /EmbeddedFile`), XFA forms,
/// additional actions (`AA`), embedded-document links and media.
const FORBIDDEN_NAMES: [&str; 15] = [
    "JavaScript",
    "JS",
    "Launch",
    "EmbeddedFile",
    "EmbeddedFiles",
    "EF",
    "RichMedia",
    "SubmitForm",
    "ImportData",
    "XFA",
    "AA",
    "GoToE",
    "Rendition",
    "Sound",
    "Movie",
];

/// Filters that decode to pixels, not PDF objects: left undecoded, as a stream's last filter.
const IMAGE_FILTERS: [&[u8]; 6] = [
    b"DCTDecode",
    b"DCT",
    b"JPXDecode",
    b"CCITTFaxDecode",
    b"CCF",
    b"JBIG2Decode",
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
    check_open_action(bytes, bytes)?;
    let mut budget = limits.max_decoded_bytes;
    let too_big = || {
        PdfProblem::TooComplex(format!(
            "its streams decode to more than {} MiB",
            limits.max_decoded_bytes / (1024 * 1024)
        ))
    };
    for (n, (dictionary, data)) in streams(bytes).enumerate() {
        if n >= limits.max_streams {
            return Err(PdfProblem::TooComplex(format!(
                "more than {} streams",
                limits.max_streams
            )));
        }
        // `dictionary` is everything since the previous stream, so it may hold more than this
        // stream's dictionary (and strings that look like keys): every filter chain found is
        // applied, and each must decode. That fails closed: text planted to make a stream
        // look undecodable only gets the file refused.
        let chains = filters_of(dictionary);
        let predictor = predictor_of(dictionary) > 1;
        if predictor
            && (has_name_pair(dictionary, b"Type", b"ObjStm")
                || !(has_name_pair(dictionary, b"Subtype", b"Image")
                    || has_name_pair(dictionary, b"Type", b"XRef")))
        {
            // A predictor interleaves a byte per row: names could be split across rows.
            return Err(PdfProblem::UnsupportedFilter(
                "a predictor on a stream of objects".into(),
            ));
        }
        for chain in &chains {
            let decoded = decode_chain(chain, data, &mut budget).map_err(|e| match e {
                DecodeError::TooBig => too_big(),
                DecodeError::Bad(why) => PdfProblem::BadStream(why),
                DecodeError::Problem(p) => p,
            })?;
            if let Some(decoded) = decoded {
                scan_names(&decoded)?;
                check_open_action(&decoded, bytes)?;
            }
        }
    }
    Ok(())
}

/// Decodes `data` through `chain`, stopping before a final image filter; `None` when
/// nothing was decoded.
fn decode_chain(
    chain: &[Vec<u8>],
    data: &[u8],
    budget: &mut u64,
) -> Result<Option<Vec<u8>>, DecodeError> {
    let mut decoded: Option<Vec<u8>> = None;
    for (i, filter) in chain.iter().enumerate() {
        let input = decoded.as_deref().unwrap_or(data);
        let out = match filter.as_slice() {
            b"FlateDecode" | b"Fl" => inflate(input, *budget)?,
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(input)?,
            b"ASCII85Decode" | b"A85" => ascii85(input)?,
            b"LZWDecode" | b"LZW" => lzw(input, *budget)?,
            b"RunLengthDecode" | b"RL" => run_length(input, *budget)?,
            b"Crypt" => return Err(DecodeError::Problem(PdfProblem::Encrypted)),
            f if IMAGE_FILTERS.contains(&f) && i + 1 == chain.len() => break,
            f => {
                return Err(DecodeError::Problem(PdfProblem::UnsupportedFilter(
                    format!("/{}", String::from_utf8_lossy(f)),
                )))
            }
        };
        let used = out.len() as u64;
        if used > *budget {
            return Err(DecodeError::TooBig);
        }
        *budget -= used;
        decoded = Some(out);
    }
    Ok(decoded)
}

enum DecodeError {
    TooBig,
    Bad(String),
    Problem(PdfProblem),
}

impl From<PdfProblem> for DecodeError {
    fn from(p: PdfProblem) -> Self {
        DecodeError::Problem(p)
    }
}

/// Inflates all of `data` or fails: a bad checksum or a truncated stream is an error, never
/// a partial result (a reader would still use what inflated).
fn inflate(data: &[u8], budget: u64) -> Result<Vec<u8>, DecodeError> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut inflater = Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity(data.len().saturating_mul(4).min(1 << 20));
    loop {
        if out.len() == out.capacity() {
            // Never more room than the budget allows (plus one byte, to tell it was passed).
            let room = (budget + 1).saturating_sub(out.len() as u64) as usize;
            out.reserve(out.capacity().max(64 * 1024).min(room.max(1)));
        }
        let before = (inflater.total_in(), inflater.total_out());
        let consumed = inflater.total_in() as usize;
        let status = inflater
            .decompress_vec(&data[consumed..], &mut out, FlushDecompress::None)
            .map_err(|e| DecodeError::Bad(format!("Flate: {e}")))?;
        if out.len() as u64 > budget {
            return Err(DecodeError::TooBig);
        }
        match status {
            Status::StreamEnd => return Ok(out),
            _ if (inflater.total_in(), inflater.total_out()) == before
                && out.len() < out.capacity() =>
            {
                return Err(DecodeError::Bad("Flate: the stream is truncated".into()));
            }
            _ => {}
        }
    }
}

fn ascii_hex(data: &[u8]) -> Result<Vec<u8>, PdfProblem> {
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut high: Option<u8> = None;
    for &b in data {
        let digit = match b {
            b'>' => break,
            b if b.is_ascii_whitespace() || b == 0 => continue,
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(PdfProblem::BadStream("ASCIIHex: not a hex digit".into())),
        };
        match high.take() {
            Some(h) => out.push(h << 4 | digit),
            None => high = Some(digit),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    Ok(out)
}

fn ascii85(data: &[u8]) -> Result<Vec<u8>, PdfProblem> {
    let bad = |why: &str| PdfProblem::BadStream(format!("ASCII85: {why}"));
    let mut out = Vec::with_capacity(data.len() * 4 / 5);
    let mut group: Vec<u32> = Vec::with_capacity(5);
    let data = data.strip_prefix(b"<~").unwrap_or(data);
    for &b in data {
        match b {
            b'~' => break,
            b if b.is_ascii_whitespace() || b == 0 => continue,
            b'z' if group.is_empty() => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group.push(u32::from(b - b'!'));
                if group.len() == 5 {
                    let value = group.iter().try_fold(0u32, |acc, d| {
                        acc.checked_mul(85).and_then(|a| a.checked_add(*d))
                    });
                    out.extend_from_slice(
                        &value.ok_or_else(|| bad("group overflows"))?.to_be_bytes(),
                    );
                    group.clear();
                }
            }
            _ => return Err(bad("not an ASCII85 character")),
        }
    }
    if !group.is_empty() {
        if group.len() == 1 {
            return Err(bad("a lone final character"));
        }
        let kept = group.len() - 1;
        group.resize(5, 84);
        let value = group
            .iter()
            .try_fold(0u32, |acc, d| {
                acc.checked_mul(85).and_then(|a| a.checked_add(*d))
            })
            .ok_or_else(|| bad("group overflows"))?;
        out.extend_from_slice(&value.to_be_bytes()[..kept]);
    }
    Ok(out)
}

fn run_length(data: &[u8], budget: u64) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let n = data[i] as usize;
        i += 1;
        match n {
            128 => return Ok(out),
            0..=127 => {
                let run = data
                    .get(i..i + n + 1)
                    .ok_or_else(|| DecodeError::Bad("RunLength: truncated".into()))?;
                out.extend_from_slice(run);
                i += n + 1;
            }
            _ => {
                let b = *data
                    .get(i)
                    .ok_or_else(|| DecodeError::Bad("RunLength: truncated".into()))?;
                out.extend(std::iter::repeat_n(b, 257 - n));
                i += 1;
            }
        }
        if out.len() as u64 > budget {
            return Err(DecodeError::TooBig);
        }
    }
    Ok(out)
}

/// LZW as PDF writes it (9 to 12-bit codes, most significant bit first, EarlyChange 1).
fn lzw(data: &[u8], budget: u64) -> Result<Vec<u8>, DecodeError> {
    let mut table: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    table.push(Vec::new());
    table.push(Vec::new());
    let (mut bits, mut count, mut width) = (0u32, 0u32, 9u32);
    let mut previous: Option<usize> = None;
    let mut out = Vec::new();
    for &byte in data {
        bits = (bits << 8) | u32::from(byte);
        count += 8;
        while count >= width {
            count -= width;
            let code = ((bits >> count) & ((1 << width) - 1)) as usize;
            match code {
                256 => {
                    table.truncate(258);
                    width = 9;
                    previous = None;
                    continue;
                }
                257 => return Ok(out),
                _ => {}
            }
            let entry = if code < table.len() {
                table[code].clone()
            } else if let (Some(p), true) = (previous, code == table.len()) {
                let mut e = table[p].clone();
                e.push(table[p][0]);
                e
            } else {
                return Err(DecodeError::Bad("LZW: a code out of the table".into()));
            };
            if let Some(p) = previous {
                if table.len() < 4096 {
                    let mut e = table[p].clone();
                    e.push(entry[0]);
                    table.push(e);
                }
            }
            out.extend_from_slice(&entry);
            if out.len() as u64 > budget {
                return Err(DecodeError::TooBig);
            }
            previous = Some(code);
            if table.len() + 1 >= (1 << width) && width < 12 {
                width += 1;
            }
        }
        bits &= (1 << count) - 1;
    }
    Ok(out)
}

/// Every filter chain named in `dictionary`: `/Filter /A` or `/Filter [/A /B]`, each
/// occurrence. Dotted names (`/Filter /Adobe.PPKLite` of a signature) are not stream filters.
fn filters_of(dictionary: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut chains = Vec::new();
    let mut rest = dictionary;
    while let Some(at) = find_name(rest, b"Filter") {
        let value = skip_space(&rest[at..]);
        rest = &rest[at..];
        let list = if value.first() == Some(&b'[') {
            let end = value.iter().position(|&b| b == b']').unwrap_or(value.len());
            &value[1..end]
        } else if value.first() == Some(&b'/') {
            let end = value[1..]
                .iter()
                .position(|&b| is_delimiter(b))
                .map_or(value.len(), |p| p + 1);
            &value[..end]
        } else {
            continue;
        };
        let chain: Vec<Vec<u8>> = list
            .split(|&b| b == b'/')
            .skip(1)
            .map(|n| {
                let end = n.iter().position(|&b| is_delimiter(b)).unwrap_or(n.len());
                decode_name(&n[..end])
            })
            .collect();
        if !chain.is_empty() && !chain.iter().any(|f| f.contains(&b'.')) {
            chains.push(chain);
        }
    }
    chains
}

/// The `/Predictor` of a stream's `/DecodeParms`, 1 when none.
fn predictor_of(dictionary: &[u8]) -> u32 {
    find_name(dictionary, b"Predictor")
        .map(|at| skip_space(&dictionary[at..]))
        .and_then(|rest| {
            let digits: Vec<u8> = rest
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            std::str::from_utf8(&digits).ok()?.parse().ok()
        })
        .unwrap_or(1)
}

/// Does the dictionary hold `/key /value`?
fn has_name_pair(dictionary: &[u8], key: &[u8], value: &[u8]) -> bool {
    let mut rest = dictionary;
    while let Some(at) = find_name(rest, key) {
        let after = skip_space(&rest[at..]);
        if after.first() == Some(&b'/') {
            let end = after[1..]
                .iter()
                .position(|&b| is_delimiter(b))
                .map_or(after.len(), |p| p + 1);
            if decode_name(&after[1..end]) == value {
                return true;
            }
        }
        rest = &rest[at..];
    }
    false
}

/// The position just after the name `/key` (escapes decoded) in `bytes`.
fn find_name(bytes: &[u8], key: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && !is_delimiter(bytes[end]) {
                end += 1;
            }
            if decode_name(&bytes[start..end]) == key {
                return Some(end);
            }
            i = end.max(start);
        } else {
            i += 1;
        }
    }
    None
}

fn skip_space(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// An `/OpenAction` may only show a page: a destination array, or a `/GoTo` action. An
/// indirect one is looked up among the file's objects (`whole`); one that cannot be found
/// there (inside an object stream, say) is refused.
fn check_open_action(bytes: &[u8], whole: &[u8]) -> Result<(), PdfProblem> {
    let refused = || PdfProblem::ActiveContent("an /OpenAction that is not a /GoTo".into());
    let mut rest = bytes;
    while let Some(at) = find_name(rest, b"OpenAction") {
        let value = skip_space(&rest[at..]);
        rest = &rest[at..];
        if value.first() == Some(&b'[') {
            continue;
        }
        let target: &[u8] = if value.starts_with(b"<<") {
            value
        } else {
            // `N G R`: the object `N G obj`.
            let text = String::from_utf8_lossy(&value[..value.len().min(32)]).into_owned();
            let mut parts = text.split_ascii_whitespace();
            let (Some(num), Some(gen), Some("R")) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(refused());
            };
            let header = format!("{num} {gen} obj");
            let found = find(whole, header.as_bytes()).ok_or_else(refused)?;
            skip_space(&whole[found + header.len()..])
        };
        if target.first() == Some(&b'[') {
            continue;
        }
        if !target.starts_with(b"<<") {
            return Err(refused());
        }
        let end = find(target, b">>").map_or(target.len(), |e| e + 2);
        if !has_name_pair(&target[..end], b"S", b"GoTo") {
            return Err(refused());
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

/// Each stream's dictionary and its raw data (between the `stream` and `endstream`
/// keywords). The "dictionary" is everything since the previous stream's data ended (or the
/// file's start): a lexer-free scan cannot tell where a dictionary starts when strings may
/// hold `obj` or `endobj`, so it takes all of it (see [`check_pdf_within`]).
fn streams(bytes: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let (mut offset, mut region_start) = (0, 0);
    std::iter::from_fn(move || loop {
        let rest = &bytes[offset..];
        let start = find(rest, b"stream")?;
        // Skip `endstream` matches and keep looking for a stream start.
        if start >= 3 && &rest[start - 3..start] == b"end" {
            offset += start + 6;
            continue;
        }
        let dictionary = &bytes[region_start..offset + start];
        let mut data = start + 6;
        if rest.get(data) == Some(&b'\r') {
            data += 1;
        }
        if rest.get(data) == Some(&b'\n') {
            data += 1;
        }
        let len = find(&rest[data..], b"endstream")?;
        let stream = &rest[data..data + len];
        offset += data + len + 9;
        region_start = offset;
        return Some((dictionary, stream));
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
#[cfg(any(test, feature = "test-support"))]
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

    fn fixtures(folder: &str) -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pdf")
            .join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
            .map(|p| {
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_fixture_gets_its_verdict() {
        let active = fixtures("active");
        assert_eq!(
            active.len(),
            11,
            "the eleven bypasses of the penetration test"
        );
        for (name, bytes) in active {
            let verdict = check_pdf(&bytes);
            let expected = if name.contains("flate_bad_checksum") || name.contains("truncated") {
                "unreadable_pdf"
            } else {
                "active_pdf_content"
            };
            assert_eq!(
                verdict.as_ref().map_err(PdfProblem::code),
                Err(expected),
                "{name}: {verdict:?}"
            );
        }
        let clean = fixtures("clean");
        assert_eq!(clean.len(), 3);
        for (name, bytes) in clean {
            assert_eq!(check_pdf(&bytes), Ok(()), "{name}");
        }
    }

    #[test]
    fn a_forbidden_object_after_64_mib_of_decoded_padding_is_refused() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![b' '; 64 * 1024 * 1024]).unwrap();
        let padding = z.finish().unwrap();
        let mut pad = format!(
            "<< /Filter /FlateDecode /Length {} >>\nstream\n",
            padding.len()
        )
        .into_bytes();
        pad.extend_from_slice(&padding);
        pad.extend_from_slice(b"\nendstream");
        let hidden = b"6 0 << /S /JavaScript /JS (app.alert\\(1\\)) >>".to_vec();
        let mut objstm =
            b"<< /Type /ObjStm /N 1 /First 4 /Filter /ASCIIHexDecode >>\nstream\n".to_vec();
        objstm.extend_from_slice(
            hidden
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .as_bytes(),
        );
        objstm.extend_from_slice(b">\nendstream");
        let file = build_pdf(&[b"<< /Type /Catalog >>".to_vec(), pad, objstm]);
        assert!(file.len() < 5 * 1024 * 1024, "fits an upload");
        let verdict = check_pdf(&file).map_err(|p| p.code());
        assert!(
            matches!(verdict, Err("pdf_too_complex" | "active_pdf_content")),
            "{verdict:?}"
        );
    }

    #[test]
    fn each_standard_filter_decodes_and_unknown_ones_are_refused() {
        assert_eq!(ascii_hex(b"48 65 6c6C6f>").unwrap(), b"Hello");
        assert_eq!(ascii_hex(b"7>").unwrap(), [0x70]);
        assert!(ascii_hex(b"4g>").is_err());
        assert_eq!(ascii85(b"87cURD]i,\"Ebo80~>").unwrap(), b"Hello World!");
        assert_eq!(ascii85(b"z~>").unwrap(), [0, 0, 0, 0]);
        assert!(ascii85(b"s8W-\"~>").is_err(), "overflow");
        assert_eq!(
            run_length(&[2, b'a', b'b', b'c', 254, b'x', 128], 100).ok(),
            Some(b"abcxxx".to_vec())
        );
        assert!(run_length(&[5, b'a'], 100).is_err());
        let z = {
            use std::io::Write;
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(b"/JavaScript").unwrap();
            e.finish().unwrap()
        };
        assert_eq!(inflate(&z, 100).ok(), Some(b"/JavaScript".to_vec()));
        assert!(inflate(&z[..z.len() - 4], 100).is_err(), "no checksum");
        let mut bad = z.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(inflate(&bad, 100).is_err(), "bad checksum");
        let unknown = build_pdf(&[
            b"<< /Type /Catalog >>".to_vec(),
            b"<< /Type /ObjStm /Filter /BrotliDecode /Length 3 >>\nstream\nabc\nendstream".to_vec(),
        ]);
        assert_eq!(
            check_pdf(&unknown).map_err(|p| p.code()),
            Err("unsupported_pdf_filter")
        );
        let predicted = build_pdf(&[
            b"<< /Type /Catalog >>".to_vec(),
            b"<< /Type /ObjStm /Filter /FlateDecode /DecodeParms << /Predictor 12 >> /Length 3 >>\nstream\nabc\nendstream".to_vec(),
        ]);
        assert_eq!(
            check_pdf(&predicted).map_err(|p| p.code()),
            Err("unsupported_pdf_filter")
        );
    }

    #[test]
    fn open_action_may_only_go_to_a_page() {
        let with = |action: &[u8]| {
            let mut catalog = b"<< /Type /Catalog /OpenAction ".to_vec();
            catalog.extend_from_slice(action);
            catalog.extend_from_slice(b" >>");
            check_pdf(&build_pdf(&[
                catalog,
                b"[3 0 R /Fit]".to_vec(),
                b"<< /S /URI /URI (x) >>".to_vec(),
            ]))
            .map_err(|p| p.code())
        };
        assert_eq!(with(b"[3 0 R /Fit]"), Ok(()));
        assert_eq!(with(b"<< /S /GoTo /D [3 0 R /Fit] >>"), Ok(()));
        assert_eq!(with(b"2 0 R"), Ok(()), "an indirect destination");
        assert_eq!(
            with(b"<< /S /URI /URI (https://x.example) >>"),
            Err("active_pdf_content")
        );
        assert_eq!(
            with(b"<< /S /GoToR /F (other.pdf) >>"),
            Err("active_pdf_content")
        );
        assert_eq!(
            with(b"3 0 R"),
            Err("active_pdf_content"),
            "an indirect URI action"
        );
        assert_eq!(
            with(b"9 0 R"),
            Err("active_pdf_content"),
            "nowhere to be found"
        );
    }
}
