//! A private PostgreSQL cluster for running without `DATABASE_URL`: `serve` and the tests
//! start one from the PostgreSQL binaries installed on the machine, under `DATA_DIR`,
//! listening on a Unix socket only.
//!
//! PostgreSQL refuses to run as root, so a root process runs the cluster as the unprivileged
//! `postgres` system user (through `runuser`); when that user cannot reach `DATA_DIR` (a
//! checkout under `/root`, mode 700), the cluster lives in
//! `/var/tmp/passerelle-<hash of DATA_DIR>/` instead, owned by `postgres`, mode 700.
//!
//! One owner rule: every process using the cluster holds a shared `flock` on
//! `DATA_DIR/cluster.users` for as long as it uses it. A process done with it stops it only
//! if it then gets that lock exclusively (it was the last user); test processes never stop it.
//! Starting and stopping are serialised by `DATA_DIR/cluster.lock`, so no process registers
//! while another decides to stop.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// The oldest PostgreSQL the private cluster accepts: the tests use `DROP DATABASE … WITH
/// (FORCE)` and the migrations a trusted extension (`unaccent`), both new in 13.
pub const MIN_POSTGRES_MAJOR: u32 = 13;

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
        "the PostgreSQL server binaries in {bin_dir} are version {found}; the private cluster \
         needs PostgreSQL {MIN_POSTGRES_MAJOR} or later. Install a newer one (Debian/Ubuntu: \
         `apt-get install postgresql`), put its bin directory first on PATH \
         (/usr/lib/postgresql/<version>/bin on Debian), or set DATABASE_URL."
    )]
    TooOld { bin_dir: String, found: String },
    #[error(
        "running as root: PostgreSQL refuses to run as root and there is no unprivileged \
         `postgres` user to run it as. Create one (`useradd --system postgres`) or set DATABASE_URL."
    )]
    NoUnprivilegedUser,
    #[error(
        "running as root, the private cluster runs as `postgres`, which cannot reach DATA_DIR \
         {data_dir} (a parent directory is private, like /root at mode 700); its fallback \
         {fallback} cannot be used: {reason}. Set DATA_DIR to a directory `postgres` can reach \
         (`DATA_DIR=/var/tmp/passerelle-data`) or set DATABASE_URL."
    )]
    Unreachable {
        data_dir: String,
        fallback: String,
        reason: String,
    },
    #[error(
        "the private cluster is in use by {0}; stop those first, or pass --force to stop it \
         under them"
    )]
    InUse(String),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// A private cluster used by this process. While the handle lives it holds a shared lock on
/// `DATA_DIR/cluster.users` (the reference count). Dropping it stops the cluster only when
/// no other process holds that lock: the last user out stops it.
#[derive(Debug)]
pub struct LocalCluster {
    base: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<String>,
    /// The shared lock on `cluster.users`; `None` once released.
    users: Option<fs::File>,
}

/// What `status` finds.
#[derive(Debug)]
pub struct ClusterStatus {
    pub pgdata: PathBuf,
    pub initialised: bool,
    pub running: bool,
    /// The port in the socket's name (from `postmaster.pid`), when running.
    pub port: Option<u16>,
    /// Processes holding `cluster.users`; `None` when `/proc/locks` cannot be read.
    pub users: Option<Vec<u32>>,
}

/// What an attempt to stop the cluster did.
#[derive(Debug, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped,
    NotRunning,
    /// Other processes use it (their pids, when known): left running.
    InUse(Option<Vec<u32>>),
}

impl LocalCluster {
    /// Starts (initialising on first use) the cluster under `base`, or attaches to the one
    /// already running there, and registers this process as one of its users.
    pub fn start(base: &Path) -> Result<Self, LocalDbError> {
        fs::create_dir_all(base).map_err(|e| LocalDbError::Io(base.display().to_string(), e))?;
        let mut cluster = Self::locate(base)?;
        // Several processes (parallel test binaries, a server) may start or stop at once.
        let lock = cluster.lock_start_stop()?;
        cluster.prepare_location()?;
        let users = open_lock_file(&cluster.users_path())?;
        users
            .lock_shared()
            .map_err(|e| LocalDbError::Io(cluster.users_path().display().to_string(), e))?;
        cluster.users = Some(users);
        if let Err(e) = cluster.init_and_start() {
            // Not a user after all: dropping must not try to stop (and take `lock` again).
            cluster.users = None;
            return Err(e);
        }
        drop(lock);
        Ok(cluster)
    }

    /// The cluster under `base` as it is, started or not, without registering as a user;
    /// `None` when `base` does not exist. For `passerelle local-db`.
    pub fn inspect(base: &Path) -> Result<Option<Self>, LocalDbError> {
        if !base.exists() {
            return Ok(None);
        }
        Self::locate(base).map(Some)
    }

    /// Where the cluster of `base` lives and who runs it; creates nothing.
    fn locate(base: &Path) -> Result<Self, LocalDbError> {
        let bin_dir = find_bin_dir().ok_or(LocalDbError::BinariesNotFound)?;
        check_version(&bin_dir)?;
        let base =
            fs::canonicalize(base).map_err(|e| LocalDbError::Io(base.display().to_string(), e))?;
        let run_as = if is_root() {
            Some(unprivileged_user().ok_or(LocalDbError::NoUnprivilegedUser)?)
        } else {
            None
        };
        let home = match &run_as {
            Some(user) if !can_traverse(user, &base) => fallback_dir(&base),
            _ => base.clone(),
        };
        Ok(LocalCluster {
            pgdata: home.join("postgres"),
            socket_dir: home.join("run"),
            base,
            bin_dir,
            run_as,
            users: None,
        })
    }

    /// The directory holding `postgres/` and `run/`: `DATA_DIR`, or its fallback.
    fn home(&self) -> &Path {
        self.pgdata.parent().unwrap_or(&self.base)
    }

    fn is_relocated(&self) -> bool {
        self.home() != self.base
    }

    /// Creates the fallback directory (owned by the cluster's user, mode 700) when the
    /// cluster cannot live in `DATA_DIR`, and says so.
    fn prepare_location(&self) -> Result<(), LocalDbError> {
        let Some(user) = self.run_as.as_deref().filter(|_| self.is_relocated()) else {
            return Ok(());
        };
        let home = self.home().to_path_buf();
        let unreachable = |reason: String| LocalDbError::Unreachable {
            data_dir: self.base.display().to_string(),
            fallback: home.display().to_string(),
            reason,
        };
        let uid = user_id(user).ok_or_else(|| unreachable(format!("no uid for `{user}`")))?;
        secure_dir(&home, uid).map_err(unreachable)?;
        log::info!(
            "`{user}` cannot reach {}: the private PostgreSQL cluster lives in {} instead",
            self.base.display(),
            home.display()
        );
        Ok(())
    }

    /// `DATA_DIR/cluster.lock`, held while the cluster is started or stopped.
    fn lock_start_stop(&self) -> Result<fs::File, LocalDbError> {
        let path = self.base.join("cluster.lock");
        let lock = open_lock_file(&path)?;
        lock.lock()
            .map_err(|e| LocalDbError::Io(path.display().to_string(), e))?;
        Ok(lock)
    }

    fn users_path(&self) -> PathBuf {
        self.base.join("cluster.users")
    }

    fn init_and_start(&self) -> Result<(), LocalDbError> {
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
            return Ok(());
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
        log::info!(
            "private PostgreSQL cluster started (socket in {})",
            self.socket_dir.display()
        );
        Ok(())
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

    /// The cluster's data directory (`DATA_DIR/postgres`, or under its fallback).
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// Where the cluster is, whether it runs, and who uses it.
    pub fn status(&self) -> ClusterStatus {
        let running = self.is_running();
        ClusterStatus {
            pgdata: self.pgdata.clone(),
            initialised: self.pgdata.join("PG_VERSION").exists(),
            running,
            port: running.then(|| postmaster_port(&self.pgdata)).flatten(),
            users: lock_holders(&self.users_path()),
        }
    }

    /// Stops the cluster if no other process uses it (or whoever does, with `force`); this
    /// handle's own use ends first.
    pub fn stop_if_unused(&mut self, force: bool) -> Result<StopOutcome, LocalDbError> {
        let _lock = self.lock_start_stop()?;
        drop(self.users.take());
        let path = self.users_path();
        let users = open_lock_file(&path)?;
        match users.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) if !force => {
                return Ok(StopOutcome::InUse(lock_holders(&path)))
            }
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => {
                return Err(LocalDbError::Io(path.display().to_string(), e))
            }
        }
        if !self.is_running() {
            return Ok(StopOutcome::NotRunning);
        }
        self.stop()?;
        Ok(StopOutcome::Stopped)
    }

    /// Stops the cluster now (fast shutdown), whoever uses it.
    pub fn stop(&mut self) -> Result<(), LocalDbError> {
        self.run(
            "pg_ctl",
            &["-D", path_str(&self.pgdata), "-m", "fast", "-w", "stop"],
        )
    }

    /// Stops the cluster as a power cut would (`pg_ctl -m immediate`: no checkpoint, crash
    /// recovery at the next start). For tests that prove acknowledged writes survive.
    pub fn crash(&mut self) -> Result<(), LocalDbError> {
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

    /// Never stops the cluster (tests share it across runs), and stays one of its users until
    /// the process exits: the lock's file descriptor is deliberately leaked.
    pub fn detach(mut self) {
        if let Some(users) = self.users.take() {
            std::mem::forget(users);
        }
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
            .map_err(|e| match &self.run_as {
                Some(user) => LocalDbError::Io(
                    format!("running {program} as `{user}` through runuser (util-linux)"),
                    e,
                ),
                None => LocalDbError::Io(format!("running {program}"), e),
            })?;
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
        if self.users.is_none() {
            return;
        }
        match self.stop_if_unused(false) {
            Ok(StopOutcome::Stopped) => log::info!("private PostgreSQL cluster stopped"),
            Ok(StopOutcome::InUse(_)) => {
                log::info!("private PostgreSQL cluster left running: other processes use it")
            }
            Ok(StopOutcome::NotRunning) => {}
            Err(e) => log::warn!("could not stop the private PostgreSQL cluster: {e}"),
        }
    }
}

/// Opens (creating) a lock file without truncating it.
fn open_lock_file(path: &Path) -> Result<fs::File, LocalDbError> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| LocalDbError::Io(path.display().to_string(), e))
}

/// The pids holding a `flock` on `path`, from `/proc/locks` (Linux).
fn lock_holders(path: &Path) -> Option<Vec<u32>> {
    use std::os::unix::fs::MetadataExt;
    let inode = fs::metadata(path).ok()?.ino();
    let locks = fs::read_to_string("/proc/locks").ok()?;
    let suffix = format!(":{inode}");
    // `1: FLOCK  ADVISORY  READ  1234 fe:00:770190 0 EOF`; waiters have a `->` field.
    let pids = locks
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() >= 6 && f[1] == "FLOCK" && f[5].ends_with(&suffix))
        .filter_map(|f| f[4].parse().ok())
        .collect();
    Some(pids)
}

/// The port in `postmaster.pid` (its fourth line).
fn postmaster_port(pgdata: &Path) -> Option<u16> {
    let pid_file = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    pid_file.lines().nth(3)?.trim().parse().ok()
}

/// Refuses server binaries older than `MIN_POSTGRES_MAJOR`.
fn check_version(bin_dir: &Path) -> Result<(), LocalDbError> {
    let too_old = |found: String| LocalDbError::TooOld {
        bin_dir: bin_dir.display().to_string(),
        found,
    };
    let output = Command::new(bin_dir.join("pg_ctl"))
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LocalDbError::Io(format!("running {}/pg_ctl", bin_dir.display()), e))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // `pg_ctl (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`
    let version = text
        .split_once("(PostgreSQL)")
        .map(|(_, v)| v.split_whitespace().next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    match major_version(&version) {
        Some(major) if major >= MIN_POSTGRES_MAJOR => Ok(()),
        Some(_) => Err(too_old(version)),
        None => Err(too_old(format!(
            "unknown (`pg_ctl --version` said {text:?})"
        ))),
    }
}

/// `15` from `15.20`, `9` from `9.6.24`, `17` from `17beta1`.
fn major_version(version: &str) -> Option<u32> {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether `user` may reach `dir` (search permission on it and every parent).
fn can_traverse(user: &str, dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(dir)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `/var/tmp/passerelle-<first 12 hex digits of SHA-256 of the canonical DATA_DIR>`.
fn fallback_dir(base: &Path) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(base.as_os_str().as_encoded_bytes());
    PathBuf::from(format!(
        "/var/tmp/passerelle-{}",
        &hex::encode(digest)[..12]
    ))
}

/// Creates `dir` owned by `uid` with mode 700, or checks that an existing one is exactly
/// that (`/var/tmp` is world-writable: anyone could have made it first).
fn secure_dir(dir: &Path, uid: u32) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => std::os::unix::fs::chown(dir, Some(uid), None)
            .map_err(|e| format!("cannot give it to uid {uid}: {e}")),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
            if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
                Err(format!(
                    "it exists but is not a directory owned by uid {uid} with mode 700; \
                     remove it if it is yours"
                ))
            } else {
                Ok(())
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

fn user_id(name: &str) -> Option<u32> {
    let output = Command::new("id").args(["-u", name]).output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_are_read_from_what_pg_ctl_prints() {
        assert_eq!(major_version("15.20"), Some(15));
        assert_eq!(major_version("9.6.24"), Some(9));
        assert_eq!(major_version("17beta1"), Some(17));
        assert_eq!(major_version(""), None);
    }

    #[test]
    fn the_fallback_directory_depends_only_on_data_dir() {
        let a = fallback_dir(Path::new("/root/passerelle/data"));
        assert_eq!(a, fallback_dir(Path::new("/root/passerelle/data")));
        assert_ne!(a, fallback_dir(Path::new("/root/other/data")));
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("passerelle-") && name.len() == "passerelle-".len() + 12);
        assert_eq!(a.parent(), Some(Path::new("/var/tmp")));
    }
}
