//! Real `passerelle serve` processes, spoken to over TCP: for what an in-process service
//! cannot show (start-up, signals, crashes, several instances).

use serde_json::Value;
use std::{
    io::{self, Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const JWT_SECRET: &str = "process-test-secret-that-is-long-enough!";

/// A server process; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServerProcess {
    /// Starts `passerelle serve` on `database_url` with `env` added; returns once it listens
    /// (not once it is ready: see `wait_ready`).
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "serve-{port}-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let mut command = Command::new(env!("CARGO_BIN_EXE_passerelle"));
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("JWT_SECRET", JWT_SECRET)
            .env("WORKERS", "2")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().unwrap();
        let server = ServerProcess { child, port, log };
        server.wait_until(Duration::from_secs(30), |s| {
            s.get("/health/live")
                .map(|r| r.status == 200)
                .unwrap_or(false)
        });
        server
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `check` every 100 ms until it holds; panics with the server log past `limit`.
    pub fn wait_until(&self, limit: Duration, check: impl Fn(&Self) -> bool) {
        let started = Instant::now();
        while !check(self) {
            assert!(
                started.elapsed() < limit,
                "server on port {} never got there; its log:\n{}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_ready(&self) {
        self.wait_until(Duration::from_secs(60), |s| {
            s.get("/health/ready")
                .map(|r| r.status == 200)
                .unwrap_or(false)
        });
    }

    pub fn get(&self, path: &str) -> io::Result<Response> {
        request(self.port, "GET", path, &[], b"")
    }

    pub fn json(&self, method: &str, path: &str, token: Option<&str>, body: &Value) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        request(
            self.port,
            method,
            path,
            &headers,
            body.to_string().as_bytes(),
        )
        .unwrap()
    }

    pub fn login(&self, email: &str, password: &str) -> String {
        let res = self.json(
            "POST",
            "/api/v1/auth/login",
            None,
            &serde_json::json!({"email": email, "password": password}),
        );
        assert_eq!(res.status, 200, "login: {}", res.text());
        res.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Sends SIGTERM (a graceful stop).
    pub fn terminate(&self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid, no memory involved.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }

    /// Waits for the process to end; its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < limit, "the server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Kept when the test failed, for whoever reads why.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Runs the CLI once against `database_url`, with `stdin` piped in when given: (success,
/// stdout, stderr).
pub fn run_cli(database_url: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the CLI and insists that it succeeds; its stdout.
pub fn cli(database_url: &str, args: &[&str], stdin: &str) -> String {
    let (ok, out, err) = run_cli(database_url, args, Some(stdin));
    assert!(ok, "passerelle {args:?}: {err}");
    out
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The head of a request, `Connection: close`, for [`finish`] or [`request`].
pub fn head(method: &str, path: &str, headers: &[(&str, &str)], body_len: usize) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {body_len}\r\n\r\n"));
    out.into_bytes()
}

/// One HTTP/1.1 exchange on a new connection.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(&head(method, path, headers, body.len()))?;
    stream.write_all(body)?;
    finish(stream)
}

/// Reads a whole response from a connection the server will close.
pub fn finish(mut stream: TcpStream) -> io::Result<Response> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("no response head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}
