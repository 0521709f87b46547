//! A private PostgreSQL cluster for running without `DATABASE_URL`: `serve` and the tests
//! start one from the PostgreSQL binaries installed on the machine, under `DATA_DIR`,
//! listening on a Unix socket only.
//!
//! PostgreSQL refuses to run as root, so a root process runs the cluster as the unprivileged
//! `postgres` system user (through `runuser`).

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

#[derive(Debug, thiserror::Error)]
pub enum LocalDbError {
    #[error(
        "DATABASE_URL is unset and no PostgreSQL server binaries (initdb, pg_ctl, postgres) were \
         found on PATH or under /usr/lib/postgresql/*/bin. Install PostgreSQL (Debian/Ubuntu: \
         `apt-get install postgresql`; Fedora: `dnf install postgresql-server`; macOS: \
         `brew install postgresql@15`) or set DATABASE_URL to a server you have."
    )]
    BinariesNotFound,
    #[error(
        "running as root: PostgreSQL refuses to run as root and there is no unprivileged \
         `postgres` user to run it as. Create one (`useradd --system postgres`) or set DATABASE_URL."
    )]
    NoUnprivilegedUser,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// A running private cluster. Dropping the handle stops the cluster if this process started it.
#[derive(Debug)]
pub struct LocalCluster {
    pgdata: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<String>,
    started_here: bool,
}

impl LocalCluster {
    /// Starts (initialising on first use) the cluster under `base`, or attaches to the one
    /// already running there.
    pub fn start(base: &Path) -> Result<Self, LocalDbError> {
        let bin_dir = find_bin_dir().ok_or(LocalDbError::BinariesNotFound)?;
        fs::create_dir_all(base).map_err(|e| LocalDbError::Io(base.display().to_string(), e))?;
        let base =
            fs::canonicalize(base).map_err(|e| LocalDbError::Io(base.display().to_string(), e))?;
        let run_as = if is_root() {
            Some(unprivileged_user().ok_or(LocalDbError::NoUnprivilegedUser)?)
        } else {
            None
        };
        let cluster = LocalCluster {
            pgdata: base.join("postgres"),
            socket_dir: base.join("run"),
            bin_dir,
            run_as,
            started_here: false,
        };

        // Several processes (parallel test binaries, a server) may start at once.
        let lock_path = base.join("cluster.lock");
        let lock = fs::File::create(&lock_path)
            .map_err(|e| LocalDbError::Io(lock_path.display().to_string(), e))?;
        lock.lock()
            .map_err(|e| LocalDbError::Io(lock_path.display().to_string(), e))?;
        let result = cluster.init_and_start();
        drop(lock);
        result
    }

    fn init_and_start(mut self) -> Result<Self, LocalDbError> {
        for dir in [&self.pgdata, &self.socket_dir] {
            fs::create_dir_all(dir).map_err(|e| LocalDbError::Io(dir.display().to_string(), e))?;
            if let Some(user) = &self.run_as {
                chown_to(dir, user)?;
            }
        }
        if !self.pgdata.join("PG_VERSION").exists() {
            log::info!(
                "initialising a private PostgreSQL cluster in {}",
                self.pgdata.display()
            );
            self.run(
                "initdb",
                &[
                    "-D",
                    path_str(&self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
            )?;
        }
        if self.is_running() {
            return Ok(self);
        }
        let log_file = self.pgdata.join("server.log");
        let options = format!(
            "-c listen_addresses='' -k {} -c fsync=on",
            path_str(&self.socket_dir)
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.pgdata),
                "-l",
                path_str(&log_file),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        self.started_here = true;
        log::info!(
            "private PostgreSQL cluster started (socket in {})",
            self.socket_dir.display()
        );
        Ok(self)
    }

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .args(["-D", path_str(&self.pgdata), "status"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A libpq URL for database `name` on this cluster's socket.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgresql:///{name}?host={}&user=postgres",
            path_str(&self.socket_dir)
        )
    }

    /// Stops the cluster now (fast shutdown), whoever started it.
    pub fn stop(&mut self) -> Result<(), LocalDbError> {
        self.started_here = false;
        self.run(
            "pg_ctl",
            &["-D", path_str(&self.pgdata), "-m", "fast", "-w", "stop"],
        )
    }

    /// Stops the cluster as a power cut would (`pg_ctl -m immediate`: no checkpoint, crash
    /// recovery at the next start). For tests that prove acknowledged writes survive.
    pub fn crash(&mut self) -> Result<(), LocalDbError> {
        self.started_here = false;
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.pgdata),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        )
    }

    /// Keeps the cluster running after this handle is dropped (tests share it across runs).
    pub fn detach(mut self) {
        self.started_here = false;
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin_dir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), LocalDbError> {
        let output = self
            .command(program)
            .args(args)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| LocalDbError::Io(format!("running {program}"), e))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(LocalDbError::Command {
                what: program.to_owned(),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if self.started_here {
            if let Err(e) = self.stop() {
                log::warn!("could not stop the private PostgreSQL cluster: {e}");
            } else {
                log::info!("private PostgreSQL cluster stopped");
            }
        }
    }
}

fn path_str(p: &Path) -> &str {
    // Paths here come from canonicalize on UTF-8 configuration values.
    p.to_str().unwrap_or_default()
}

/// `pg_ctl` and `initdb` on PATH, else the newest `/usr/lib/postgresql/<version>/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_server(d)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn unprivileged_user() -> Option<String> {
    let ok = Command::new("id")
        .args(["-u", "postgres"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| "postgres".to_owned())
}

fn chown_to(dir: &Path, user: &str) -> Result<(), LocalDbError> {
    let output = Command::new("chown")
        .args(["-R", user])
        .arg(dir)
        .output()
        .map_err(|e| LocalDbError::Io("running chown".into(), e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(LocalDbError::Command {
            what: "chown".into(),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
