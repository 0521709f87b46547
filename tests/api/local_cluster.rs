//! The private cluster as a newcomer meets it, through the real binary with DATABASE_URL
//! unset: where it lives when root's `postgres` user cannot reach DATA_DIR, and the one owner
//! rule (the last user out stops it).

use crate::process::{free_port, ServerProcess, JWT_SECRET};
use passerelle::db::local::{LocalCluster, LocalDbError};
use std::{
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

/// A fresh directory under the target's scratch space; `None` (after saying why) when the
/// machine has no PostgreSQL server binaries.
fn scratch(prefix: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    fs::create_dir_all(&dir).unwrap();
    match LocalCluster::inspect(&dir) {
        Err(LocalDbError::BinariesNotFound) => {
            eprintln!("skipped: no PostgreSQL server binaries on this machine");
            None
        }
        _ => Some(dir),
    }
}

/// `passerelle <args>` with DATA_DIR set and DATABASE_URL removed, run from `cwd` (so no
/// `.env` of the checkout is read).
fn passerelle(cwd: &Path, data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", data_dir)
        .env("JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "info")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `state:` line of `local-db status`.
fn state(cwd: &Path, data_dir: &Path) -> String {
    let out = passerelle(cwd, data_dir, &["local-db", "status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("state: "))
        .unwrap_or_else(|| panic!("no state in {stdout}"))
        .to_owned()
}

/// `passerelle serve` on the private cluster of `data_dir`, ready.
fn serve_private(cwd: &Path, data_dir: &Path) -> ServerProcess {
    let port = free_port();
    let log = cwd.join(format!("serve-{port}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", data_dir)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", JWT_SECRET)
        .env("WORKERS", "2")
        .env("RUST_LOG", "info")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = ServerProcess { child, port, log };
    server.wait_ready();
    server
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id").args(["-u", user]).output().unwrap();
    text(&out.stdout).trim().parse().unwrap()
}

#[test]
fn as_root_a_data_dir_postgres_cannot_reach_puts_the_cluster_in_var_tmp() {
    if !is_root() {
        eprintln!("skipped: not running as root (the relocation is for root only)");
        return;
    }
    let Some(scratch) = scratch("private-parent") else {
        return;
    };
    // Like a checkout under /root: a parent `postgres` may not search.
    let parent = scratch.join("home");
    fs::create_dir(&parent).unwrap();
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o700)).unwrap();
    let data_dir = parent.join("checkout/data");

    let out = passerelle(&scratch, &data_dir, &["migrate"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot reach") && stderr.contains("/var/tmp/passerelle-"),
        "{stderr}"
    );
    let status = text(&passerelle(&scratch, &data_dir, &["local-db", "status"]).stdout);
    let pgdata = status
        .lines()
        .find_map(|l| l.strip_prefix("cluster: "))
        .unwrap_or_else(|| panic!("{status}"));
    let home = Path::new(pgdata).parent().unwrap().to_path_buf();
    assert!(home.starts_with("/var/tmp"), "{status}");
    let meta = fs::metadata(&home).unwrap();
    assert_eq!(meta.uid(), uid_of("postgres"));
    assert_eq!(meta.mode() & 0o777, 0o700);
    // migrate was the only user: it stopped the cluster on its way out.
    assert_eq!(state(&scratch, &data_dir), "stopped");

    // A fallback someone else owns is refused, naming the way out.
    std::os::unix::fs::chown(&home, Some(0), None).unwrap();
    let out = passerelle(&scratch, &data_dir, &["migrate"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot reach DATA_DIR")
            && stderr.contains("DATA_DIR=")
            && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
    fs::remove_dir_all(&home).unwrap();
    let _ = fs::remove_dir_all(&scratch);
}

#[test]
fn the_last_user_out_stops_the_private_cluster_and_no_one_before() {
    let Some(scratch) = scratch("cluster-users") else {
        return;
    };
    let data_dir = scratch.join("data");
    let mut first = serve_private(&scratch, &data_dir);
    // Another user, as a test process is: a shared lock on cluster.users.
    let holder = fs::OpenOptions::new()
        .write(true)
        .open(data_dir.join("cluster.users"))
        .unwrap();
    holder.lock_shared().unwrap();
    assert_eq!(state(&scratch, &data_dir), "running");

    first.terminate();
    assert!(first.wait_exit(Duration::from_secs(30)).success());
    assert_eq!(
        state(&scratch, &data_dir),
        "running",
        "{}",
        first.log_text()
    );

    // `local-db stop` refuses while someone uses it.
    let out = passerelle(&scratch, &data_dir, &["local-db", "stop"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("in use") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(state(&scratch, &data_dir), "running");

    // The last user out stops it.
    let mut second = serve_private(&scratch, &data_dir);
    drop(holder);
    second.terminate();
    assert!(second.wait_exit(Duration::from_secs(30)).success());
    assert_eq!(
        state(&scratch, &data_dir),
        "stopped",
        "{}",
        second.log_text()
    );

    // A one-shot command while someone holds it leaves it running; --force stops it anyway.
    let holder = fs::OpenOptions::new()
        .write(true)
        .open(data_dir.join("cluster.users"))
        .unwrap();
    holder.lock_shared().unwrap();
    assert!(passerelle(&scratch, &data_dir, &["migrate"])
        .status
        .success());
    assert_eq!(state(&scratch, &data_dir), "running");
    let out = passerelle(&scratch, &data_dir, &["local-db", "stop", "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(state(&scratch, &data_dir), "stopped");
    drop(holder);
    let _ = fs::remove_dir_all(&scratch);
}

#[test]
fn server_binaries_older_than_postgresql_13_are_refused_naming_the_version() {
    let Some(scratch) = scratch("old-postgres") else {
        return;
    };
    // A PATH entry whose pg_ctl says it is PostgreSQL 12.
    let bin = scratch.join("bin");
    fs::create_dir(&bin).unwrap();
    for (name, script) in [
        ("pg_ctl", "#!/bin/sh\necho 'pg_ctl (PostgreSQL) 12.22'\n"),
        ("initdb", "#!/bin/sh\nexit 1\n"),
    ] {
        fs::write(bin.join(name), script).unwrap();
        fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["local-db", "status"])
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", &scratch)
        .env("PATH", path)
        .current_dir(&scratch)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("version 12.22") && stderr.contains("PostgreSQL 13 or later"),
        "{stderr}"
    );
    let _ = fs::remove_dir_all(&scratch);
}

#[test]
fn local_db_help_names_the_variables_it_reads() {
    for args in [
        ["local-db", "status", "--help"],
        ["local-db", "stop", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .args(args)
            .output()
            .unwrap();
        let help = text(&out.stdout);
        assert!(out.status.success(), "{args:?}");
        for name in ["Environment: DATA_DIR", "DATABASE_URL is ignored"] {
            assert!(help.contains(name), "{args:?} help names {name}: {help}");
        }
    }
}
