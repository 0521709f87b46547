//! A minimal SMTP server for tests: it accepts every message on 127.0.0.1 and records its
//! envelope and data, so mail goes through a real SMTP conversation and nothing leaves the
//! machine.

use std::{
    io::{self, BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::Duration,
};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// Headers and body, dot-stuffing removed, lines joined with CRLF.
    pub data: String,
}

impl Received {
    /// The value of a header (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let head = self.data.split("\r\n\r\n").next()?;
        let mut lines = head.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.to_ascii_lowercase().starts_with(&prefix) {
                let mut value = line[prefix.len()..].trim().to_owned();
                while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                }
                return Some(value);
            }
        }
        None
    }
}

pub struct SmtpSink {
    addr: SocketAddr,
    messages: Arc<Mutex<Vec<Received>>>,
    running: Arc<AtomicBool>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl SmtpSink {
    /// A server on a free port.
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// A server on `port` (0: any free one); used to bring a server back where it was.
    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP sink");
        // Non-blocking accept, so that stopping never waits for a client that never comes.
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(AtomicBool::new(true));
        let acceptor = {
            let (messages, running) = (messages.clone(), running.clone());
            thread::spawn(move || {
                while running.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let messages = messages.clone();
                            thread::spawn(move || {
                                let _ = serve(stream, &messages);
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(5))
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        SmtpSink {
            addr,
            messages,
            running,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    /// Closes the listening socket: from then on connections to the port are refused.
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// One SMTP session: greeting, EHLO/HELO, then any number of MAIL/RCPT/DATA transactions
/// until QUIT.
fn serve(stream: TcpStream, messages: &Mutex<Vec<Received>>) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    let mut reply = |text: &str| out.write_all(text.as_bytes());
    reply("220 sink.test ESMTP test sink\r\n")?;
    let (mut from, mut to) = (None::<String>, Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => reply("250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?,
            "HELO" => reply("250 sink.test\r\n")?,
            "MAIL" => {
                from = Some(path_of(command));
                to.clear();
                reply("250 2.1.0 OK\r\n")?
            }
            "RCPT" if from.is_some() => {
                to.push(path_of(command));
                reply("250 2.1.5 OK\r\n")?
            }
            "DATA" if !to.is_empty() => {
                reply("354 end data with <CR><LF>.<CR><LF>\r\n")?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    let text = line.trim_end_matches(['\r', '\n']);
                    if text == "." {
                        break;
                    }
                    data.push(text.strip_prefix('.').unwrap_or(text).to_owned());
                }
                messages.lock().unwrap().push(Received {
                    mail_from: from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut to),
                    data: data.join("\r\n"),
                });
                reply("250 2.0.0 queued\r\n")?
            }
            "RSET" => {
                from = None;
                to.clear();
                reply("250 OK\r\n")?
            }
            "NOOP" => reply("250 OK\r\n")?,
            "QUIT" => {
                reply("221 bye\r\n")?;
                return Ok(());
            }
            "RCPT" | "DATA" => reply("503 5.5.1 bad sequence of commands\r\n")?,
            _ => reply("502 5.5.2 command not implemented\r\n")?,
        }
    }
}

/// `MAIL FROM:<a@b> SIZE=12` -> `a@b`.
fn path_of(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| i + start);
    command[start..end].to_owned()
}
