//! The listening socket and the connection adapter that percent-encodes raw UTF-8 in request
//! targets before actix-http parses them.
//!
//! actix-http 3 hands the request target to the `http` crate, which refuses every byte from
//! 0x80 up; the dispatcher then writes an empty 400 before the application runs. curl and
//! scripts send `?q=coopération` as raw bytes, so [`Utf8Target`] follows HTTP/1.1 framing
//! on the read side and, in request lines only, writes those bytes as `%XX`. On anything it
//! is not sure about it stops looking for the rest of the connection and passes every byte
//! through: it can never make actix frame a request differently (no smuggling).

use std::{
    io,
    net::{SocketAddr, TcpListener},
    os::fd::AsRawFd,
    pin::Pin,
    task::{ready, Context, Poll},
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Pending connections the kernel keeps, as actix-web's `HttpServer` asks for.
const BACKLOG: libc::c_int = 1024;

/// The longest request line, header line or chunk-size line the adapter buffers; a longer
/// one switches it to pass-through and actix answers as it would have.
pub const MAX_LINE: usize = 16 * 1024;

/// Binds `addr` the way actix-web's `HttpServer::bind` does (`SO_REUSEADDR`, a 1024 backlog).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    // std sets SO_REUSEADDR on Unix but listens with a backlog of 128.
    let listener = TcpListener::bind(addr)?;
    // SAFETY: listen(2) on a socket this function owns; a second call only changes the
    // backlog of a socket that is already listening.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(listener)
}

/// An accepted connection whose read side has raw UTF-8 in request targets percent-encoded.
pub struct Utf8Target<T> {
    io: T,
    framing: Framing,
    /// Bytes read and processed, not yet handed to the reader.
    out: Vec<u8>,
    out_pos: usize,
    eof: bool,
}

impl<T> Utf8Target<T> {
    pub fn new(io: T) -> Self {
        Utf8Target {
            io,
            framing: Framing::default(),
            out: Vec::new(),
            out_pos: 0,
            eof: false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Utf8Target<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.framing.is_passthrough() && this.out_pos == this.out.len() && !this.eof {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        while this.out_pos == this.out.len() && !this.eof {
            this.out.clear();
            this.out_pos = 0;
            let mut chunk = [0u8; 8 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                this.eof = true;
                this.framing.finish(&mut this.out);
            } else {
                this.framing.feed(read.filled(), &mut this.out);
            }
        }
        let pending = &this.out[this.out_pos..];
        let n = pending.len().min(buf.remaining());
        buf.put_slice(&pending[..n]);
        this.out_pos += n;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Utf8Target<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Where the reader is in the HTTP/1.1 message stream. Line states buffer their line until
/// its `\n`; everything else is copied as it arrives.
#[derive(Debug, Default)]
struct Framing {
    state: State,
    line: Vec<u8>,
}

#[derive(Debug, Default, PartialEq)]
enum State {
    #[default]
    RequestLine,
    Headers(Head),
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    Passthrough,
}

/// What the headers of the current request said about its body.
#[derive(Debug, Default, PartialEq)]
struct Head {
    http10: bool,
    content_length: Option<u64>,
    chunked: bool,
}

impl Framing {
    fn is_passthrough(&self) -> bool {
        self.state == State::Passthrough
    }

    /// Processes `input`, appending what the reader gets to `out`.
    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            match &mut self.state {
                State::Passthrough => {
                    out.extend_from_slice(input);
                    return;
                }
                State::Body(left) | State::ChunkData(left) => {
                    let n = input
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = match self.state {
                            State::Body(_) => State::RequestLine,
                            _ => State::ChunkEnd,
                        };
                    }
                }
                _ => {
                    let Some(eol) = input.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(input);
                        if self.line.len() > MAX_LINE {
                            self.give_up(out);
                        }
                        return;
                    };
                    self.line.extend_from_slice(&input[..=eol]);
                    input = &input[eol + 1..];
                    if self.line.len() > MAX_LINE {
                        self.give_up(out);
                    } else {
                        let line = std::mem::take(&mut self.line);
                        self.state = self.on_line(&line, out);
                    }
                }
            }
        }
    }

    /// The connection ended: a partial line goes out as it came.
    fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.line);
    }

    fn give_up(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.line);
        self.state = State::Passthrough;
    }

    /// Emits a complete `line` (with its `\n`) and says what comes next.
    fn on_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> State {
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        match std::mem::take(&mut self.state) {
            // Empty lines before a request line are allowed (RFC 9112 §2.2).
            State::RequestLine if content.is_empty() => {
                out.extend_from_slice(line);
                State::RequestLine
            }
            State::RequestLine => match request_line(content) {
                Some((target, http10)) => {
                    encode_line(line, target, out);
                    State::Headers(Head {
                        http10,
                        ..Head::default()
                    })
                }
                None => {
                    out.extend_from_slice(line);
                    State::Passthrough
                }
            },
            State::Headers(head) => {
                out.extend_from_slice(line);
                if content.is_empty() {
                    body_state(&head)
                } else {
                    header(head, content).map_or(State::Passthrough, State::Headers)
                }
            }
            State::ChunkSize => {
                out.extend_from_slice(line);
                match chunk_size(content) {
                    Some(0) => State::Trailers,
                    Some(n) => State::ChunkData(n),
                    None => State::Passthrough,
                }
            }
            State::ChunkEnd => {
                out.extend_from_slice(line);
                if content.is_empty() {
                    State::ChunkSize
                } else {
                    State::Passthrough
                }
            }
            State::Trailers => {
                out.extend_from_slice(line);
                if content.is_empty() {
                    State::RequestLine
                } else if matches!(content.first(), Some(b' ' | b'\t')) || !content.contains(&b':')
                {
                    State::Passthrough
                } else {
                    State::Trailers
                }
            }
            // Not line states (`feed` copies their bytes); should one get here, the safe
            // answer is to stop looking.
            State::Body(_) | State::ChunkData(_) | State::Passthrough => {
                out.extend_from_slice(line);
                State::Passthrough
            }
        }
    }
}

/// The request target's byte range in a request line (without its line end), and whether
/// the request is HTTP/1.0; `None` for anything else, CONNECT included (its tunnel is not
/// HTTP).
fn request_line(content: &[u8]) -> Option<(std::ops::Range<usize>, bool)> {
    let first = content.iter().position(|&b| b == b' ')?;
    let method = &content[..first];
    let rest = &content[first + 1..];
    let second = rest.iter().position(|&b| b == b' ')?;
    let version = &rest[second + 1..];
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        _ => return None,
    };
    let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if method.is_empty() || !method.iter().all(token) || method == b"CONNECT" || second == 0 {
        return None;
    }
    Some((first + 1..first + 1 + second, http10))
}

/// Writes `line` with each byte >= 0x80 inside `target` as `%XX`.
fn encode_line(line: &[u8], target: std::ops::Range<usize>, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&line[..target.start]);
    for &b in &line[target.clone()] {
        if b >= 0x80 {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
    out.extend_from_slice(&line[target.end..]);
}

/// Takes one header line into account; `None` when the framing is ambiguous or the message
/// leaves HTTP (Upgrade).
fn header(mut head: Head, content: &[u8]) -> Option<Head> {
    // Obsolete line folding: a continuation of the previous value.
    if matches!(content.first(), Some(b' ' | b'\t')) {
        return None;
    }
    let colon = content.iter().position(|&b| b == b':')?;
    let name = &content[..colon];
    let value = content[colon + 1..].trim_ascii();
    if name.eq_ignore_ascii_case(b"content-length") {
        if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: u64 = std::str::from_utf8(value).ok()?.parse().ok()?;
        if head.content_length.is_some_and(|seen| seen != n) {
            return None;
        }
        head.content_length = Some(n);
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        if head.chunked || head.http10 || !value.eq_ignore_ascii_case(b"chunked") {
            return None;
        }
        head.chunked = true;
    } else if name.eq_ignore_ascii_case(b"upgrade") {
        return None;
    }
    Some(head)
}

fn body_state(head: &Head) -> State {
    match (head.chunked, head.content_length) {
        (true, Some(_)) => State::Passthrough,
        (true, None) => State::ChunkSize,
        (false, Some(n)) if n > 0 => State::Body(n),
        (false, _) => State::RequestLine,
    }
}

/// A chunk-size line: hex digits, then optionally `;` and extensions.
fn chunk_size(content: &[u8]) -> Option<u64> {
    let end = content
        .iter()
        .position(|&b| b == b';')
        .unwrap_or(content.len());
    let digits = &content[..end];
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What actix would read after `input` arrived in pieces of `step` bytes.
    fn through(input: &[u8], step: usize) -> Vec<u8> {
        let mut framing = Framing::default();
        let mut out = Vec::new();
        for piece in input.chunks(step) {
            framing.feed(piece, &mut out);
        }
        framing.finish(&mut out);
        out
    }

    /// Same output whether the bytes come all at once or one by one.
    fn rewrite(input: &[u8]) -> Vec<u8> {
        let whole = through(input, input.len().max(1));
        assert_eq!(through(input, 1), whole, "split reads");
        assert_eq!(through(input, 7), whole, "split reads");
        whole
    }

    const RAW: &[u8] = "GET /api/v1/offers?q=coopération HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes();
    const ENCODED: &[u8] = b"GET /api/v1/offers?q=coop%C3%A9ration HTTP/1.1\r\nHost: x\r\n\r\n";

    #[tokio::test]
    async fn raw_utf8_in_the_target_is_percent_encoded_over_a_stream() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut adapted = Utf8Target::new(server);
        let writer = tokio::spawn(async move {
            client.write_all(RAW).await.unwrap();
            client.shutdown().await.unwrap();
            client
        });
        let mut read = Vec::new();
        adapted.read_to_end(&mut read).await.unwrap();
        assert_eq!(read, ENCODED);
        // The write side is untouched.
        adapted.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        let mut client = writer.await.unwrap();
        let mut answer = [0u8; 17];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200 OK\r\n");
    }

    #[test]
    fn raw_utf8_in_the_target_is_percent_encoded() {
        assert_eq!(rewrite(RAW), ENCODED);
        // Only the target: a high byte in a header value stays as it is.
        let input = "GET /é HTTP/1.1\r\nX-Name: é\r\n\r\n".as_bytes();
        let expected = "GET /%C3%A9 HTTP/1.1\r\nX-Name: é\r\n\r\n".as_bytes();
        assert_eq!(rewrite(input), expected);
    }

    #[test]
    fn ascii_passes_unchanged() {
        let input = b"\r\nGET /api/v1/offers?q=coop%C3%A9ration HTTP/1.1\r\nHost: x\r\n\r\n\
            POST /a HTTP/1.0\nContent-Length: 2\n\nokGET / HTTP/1.1\r\n\r\n";
        assert_eq!(rewrite(input), input);
    }

    #[test]
    fn a_content_length_body_passes_untouched_and_the_next_request_is_rewritten() {
        let body = "é\r\nGET /é HTTP/1.1\r\n\r\n".as_bytes();
        let mut input = format!(
            "POST /a HTTP/1.1\r\nContent-Length: {}\r\ncontent-length:{}\r\n\r\n",
            body.len(),
            body.len()
        )
        .into_bytes();
        input.extend_from_slice(body);
        let mut expected = input.clone();
        input.extend_from_slice(RAW);
        expected.extend_from_slice(ENCODED);
        assert_eq!(rewrite(&input), expected);
    }

    #[test]
    fn a_chunked_body_passes_untouched_and_the_next_request_is_rewritten() {
        let chunk = "GET /é HTTP/1.1\r\n";
        let head = format!(
            "POST /a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n\
             {:x};ext=1\r\n{chunk}\r\n3\r\né\n\r\n0\r\nX-Trailer: é\r\n\r\n",
            chunk.len()
        );
        let mut input = head.clone().into_bytes();
        input.extend_from_slice(RAW);
        let mut expected = head.into_bytes();
        expected.extend_from_slice(ENCODED);
        assert_eq!(rewrite(&input), expected);
    }

    #[test]
    fn ambiguous_framing_switches_to_passthrough() {
        for head in [
            "POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: +3\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
            "GET /a HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "CONNECT example.org:443 HTTP/1.1\r\n\r\n",
            "GET /a HTTP/2.0\r\n\r\n",
            "GET /a\r\n\r\n",
        ] {
            let mut input = head.as_bytes().to_vec();
            input.extend_from_slice(RAW);
            assert_eq!(rewrite(&input), input, "{head:?}");
        }
    }

    #[test]
    fn a_request_line_over_the_cap_switches_to_passthrough() {
        let mut input = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE)).into_bytes();
        input.extend_from_slice(RAW);
        assert_eq!(rewrite(&input), input);
        // Just under the cap it is still read.
        let mut short = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE - 20)).into_bytes();
        let mut expected = short.clone();
        short.extend_from_slice(RAW);
        expected.extend_from_slice(ENCODED);
        assert_eq!(rewrite(&short), expected);
    }

    #[test]
    fn a_connection_cut_mid_line_delivers_what_came() {
        let input = "GET /é HTTP/1.1\r\nHost".as_bytes();
        let expected = "GET /%C3%A9 HTTP/1.1\r\nHost".as_bytes();
        assert_eq!(rewrite(input), expected);
    }
}
