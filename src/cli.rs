//! The `passerelle` command line: serve, migrate, seed-demo, staff create, openapi, health.

use crate::{
    auth::{
        model::normalize_email,
        password::{check_password_policy, hash_password, PasswordContext},
        users::{insert_account, NewAccount},
        Role,
    },
    build_app,
    db::{
        self,
        local::{ClusterStatus, LocalCluster, LocalDbError, StopOutcome},
        BoxError,
    },
    jobs,
    settings::Settings,
    state::AppState,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use clap::{Parser, Subcommand};
use diesel::PgConnection;
use secrecy::ExposeSecret;
use std::io::{BufRead, IsTerminal, Read, Write};

#[derive(Debug, Parser)]
#[command(
    name = "passerelle",
    version,
    about = "A city's internship offers and applications"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What every command that opens the database reads.
const DATABASE_ENV: &str = "DATABASE_URL (unset: a private PostgreSQL cluster under DATA_DIR, \
                            default ./data). A .env file in the working directory is read too.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations (under an advisory lock), then serve HTTP on LISTEN_ADDR.
    #[command(
        after_help = "Environment: every variable of the README's Configuration \
        section; the main ones: DATABASE_URL (unset: a private PostgreSQL cluster under \
        DATA_DIR), LISTEN_ADDR (0.0.0.0:8080), PUBLIC_BASE_URL, JWT_SECRET (set it in \
        production), JWT_PREVIOUS_SECRET, SMTP_HOST, MAIL_FROM, CORS_ALLOWED_ORIGINS, \
        TRUSTED_PROXIES, METRICS_ACCESS, RUST_LOG. An invalid or weak value stops the \
        process before it binds its port."
    )]
    Serve,
    /// Apply pending migrations and exit.
    #[command(after_help = format!("Environment: {DATABASE_ENV}"))]
    Migrate,
    /// Load the demo data (idempotent). Refuses a database that holds offers other than the
    /// demo's, unless --force.
    #[command(after_help = format!("Environment: {DATABASE_ENV}"))]
    SeedDemo {
        /// Seed even though the database holds offers that are not demo data.
        #[arg(long)]
        force: bool,
    },
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Print the OpenAPI document (as committed in openapi/openapi.json).
    #[command(after_help = "Environment: none (the document does not depend on settings).")]
    Openapi,
    /// Print the demo offer (demo/grenoble-offer.json) with its dates moved so that it can be
    /// published today (the city's date): a body for POST /api/v1/staff/offers.
    #[command(
        after_help = "Environment: CITY_TIME_ZONE (Europe/Paris): the dates are relative to \
                      today in that zone."
    )]
    DemoOffer,
    /// Erase applications whose retention period is over (CNIL); see the README.
    #[command(after_help = format!(
        "Environment: RETENTION_AFTER_DECISION_DAYS (92), TALENT_POOL_RETENTION_DAYS (730), \
         CITY_TIME_ZONE (Europe/Paris; the days are counted there), \
         {DATABASE_ENV}"
    ))]
    Purge {
        /// List what would be erased, erase nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the offers' calendar once, now: close the published offers whose deadline day has
    /// ended and publish the drafts whose time has come (what `serve` does every minute).
    #[command(after_help = format!(
        "Environment: CITY_TIME_ZONE (Europe/Paris), PUBLICATION_APPROVAL (none), \
         {DATABASE_ENV} The webhooks and emails it queues are sent by the job workers of a \
         running server."
    ))]
    Calendar,
    /// Print the latest emails kept in the outbox (while SMTP_HOST is unset, emails are kept
    /// there instead of sent: at most 200, for 14 days), newest first, with their text.
    #[command(after_help = format!(
        "Environment: {DATABASE_ENV} The outbox fills only while the server runs without \
         SMTP_HOST."
    ))]
    Outbox {
        /// How many emails to print (1-200).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=200))]
        limit: i64,
    },
    /// Exit 0 when the server on LISTEN_ADDR answers /health/ready with 200 (for container
    /// health checks).
    #[command(
        after_help = "Environment: LISTEN_ADDR (0.0.0.0:8080; an unspecified address \
        is asked on 127.0.0.1)."
    )]
    Health,
    /// Inspect or stop the private PostgreSQL cluster (used when DATABASE_URL is unset).
    LocalDb {
        #[command(subcommand)]
        command: LocalDbCommand,
    },
}

/// What `local-db` commands read.
const LOCAL_DB_ENV: &str = "Environment: DATA_DIR (./data; the cluster is DATA_DIR/postgres, \
                            or /var/tmp/passerelle-<hash> when root's `postgres` user cannot \
                            reach DATA_DIR). DATABASE_URL is ignored. A .env file in the \
                            working directory is read too.";

#[derive(Debug, Subcommand)]
pub enum LocalDbCommand {
    /// Where the private cluster is, whether it runs, its port and the processes using it.
    #[command(after_help = LOCAL_DB_ENV)]
    Status,
    /// Stop the private cluster; refused while other processes use it, unless --force.
    #[command(after_help = LOCAL_DB_ENV)]
    Stop {
        /// Stop it even under the processes using it (they lose their connections).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account. The password is read from standard input when it is piped,
    /// otherwise one is generated and printed once.
    #[command(after_help = format!(
        "Environment: ORGANIZATION_NAME and PUBLIC_BASE_URL (their words may not make up the \
         password), {DATABASE_ENV}"
    ))]
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, manager or reviewer; checked before the database is opened.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

/// The database the process uses, with the private cluster kept alive as long as needed.
pub struct Database {
    pub url: String,
    cluster: Option<LocalCluster>,
}

impl Database {
    /// `DATABASE_URL` (its database created when missing), or the private cluster.
    pub fn open(settings: &Settings) -> Result<(Self, PgConnection), BoxError> {
        let database = Self::locate(settings)?;
        let conn = db::connect_creating_database(&database.url)?;
        Ok((database, conn))
    }

    /// `DATABASE_URL` without connecting to it, or the private cluster, started.
    pub fn locate(settings: &Settings) -> Result<Self, BoxError> {
        let (url, cluster) = match &settings.database_url {
            Some(url) => (url.expose_secret().to_owned(), None),
            None => {
                log::info!(
                    "DATABASE_URL is unset: using a private PostgreSQL cluster under {}",
                    settings.data_dir.display()
                );
                let cluster = LocalCluster::start(&settings.data_dir)?;
                (cluster.url("passerelle"), Some(cluster))
            }
        };
        Ok(Database { url, cluster })
    }

    pub fn is_private_cluster(&self) -> bool {
        self.cluster.is_some()
    }
}

pub fn run(cli: Cli) -> Result<(), BoxError> {
    if let Command::Openapi = cli.command {
        return write_stdout(crate::openapi::document_json().as_bytes());
    }
    if let Command::DemoOffer = cli.command {
        // Only the zone is read: this command needs no database.
        let zone = std::env::var("CITY_TIME_ZONE");
        let calendar = crate::calendar::CityCalendar::new(
            zone.as_deref()
                .unwrap_or(crate::calendar::DEFAULT_TIME_ZONE),
        )
        .map_err(|e| format!("CITY_TIME_ZONE: {e}"))?;
        let offer = crate::demo::fixture_offer(calendar.today(chrono::Utc::now()))?;
        let mut text = serde_json::to_string_pretty(&offer)?;
        text.push('\n');
        return write_stdout(text.as_bytes());
    }
    let settings = Settings::from_env()?;
    match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            let (_db, mut conn) = Database::open(&settings)?;
            let applied = db::run_migrations(&mut conn)?;
            crate::partners::model::repair_feed_after_restore(&mut conn)?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::SeedDemo { force } => {
            let (_db, mut conn) = Database::open(&settings)?;
            db::run_migrations(&mut conn)?;
            crate::demo::seed(&mut conn, force, &settings.calendar.zone)?;
            println!("demo data loaded");
            Ok(())
        }
        Command::Staff {
            command: StaffCommand::Create { email, name, role },
        } => {
            let (_db, mut conn) = Database::open(&settings)?;
            db::run_migrations(&mut conn)?;
            create_staff(&mut conn, &settings, &email, &name, role)
        }
        Command::Health => health_check(&settings),
        Command::LocalDb { command } => local_db(&settings, command),
        Command::Purge { dry_run } => {
            let (_db, mut conn) = Database::open(&settings)?;
            db::run_migrations(&mut conn)?;
            let policy = crate::applications::purge::policy(&settings);
            let report =
                crate::applications::purge::run(&mut conn, &policy, chrono::Utc::now(), dry_run)?;
            if !report.ran {
                println!("another instance is purging right now; nothing done");
            }
            for id in &report.applications {
                println!("{} {id}", if dry_run { "due" } else { "erased" });
            }
            println!(
                "{} application(s) {}",
                report.applications.len(),
                if dry_run { "due for erasure" } else { "erased" }
            );
            Ok(())
        }
        Command::Calendar => {
            let (_db, mut conn) = Database::open(&settings)?;
            db::run_migrations(&mut conn)?;
            let report = crate::offers::sweep::sweep(
                &mut conn,
                &settings.calendar.zone,
                settings.calendar.approval,
                chrono::Utc::now(),
            )?;
            for (what, ids) in [
                ("closed", &report.closed),
                ("published", &report.published),
                ("refused", &report.refused),
            ] {
                for id in ids {
                    println!("{what} {id}");
                }
            }
            println!(
                "{} closed at their deadline, {} published as scheduled, {} scheduled \
                 publication(s) refused",
                report.closed.len(),
                report.published.len(),
                report.refused.len()
            );
            Ok(())
        }
        Command::Outbox { limit } => {
            let (_db, mut conn) = Database::open(&settings)?;
            db::run_migrations(&mut conn)?;
            print_outbox(&mut conn, limit)
        }
        Command::Openapi | Command::DemoOffer => unreachable!("handled above"),
    }
}

/// Writes `bytes` to standard output. A reader that stops early (`passerelle openapi | head`)
/// closes the pipe: that is success, not a panic as with `print!`.
fn write_stdout(bytes: &[u8]) -> Result<(), BoxError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn serve(settings: Settings) -> Result<(), BoxError> {
    if settings.jwt.secret_generated {
        log::warn!(
            "JWT_SECRET is unset: using a random key for this process only; staff tokens will \
             not survive a restart nor work across instances. Set JWT_SECRET in production."
        );
    }
    if settings.partners.offer_url_template
        == crate::settings::default_offer_url_template(&settings.public_base_url)
    {
        log::warn!(
            "OFFER_URL_TEMPLATE is unset: the feeds, the JSON-LD and the candidates' emails link \
             each offer to its JSON in this API. Set it to the offer's page on the city's site \
             (https://…/{{slug}})."
        );
    }
    // The server opens even while the database is down: a thread migrates as soon as it
    // can, and API requests get 503 until then.
    let database = Database::locate(&settings)?;
    if database.is_private_cluster() {
        // Not fatal: the migrator below reports a database it cannot migrate.
        if let Err(e) = seed_private_database(&database.url, &settings.calendar.zone) {
            log::warn!("the private database could not be checked for demo data: {e}");
        }
    }
    let pool = db::pool_for(&settings, &database.url);
    let (listen, workers) = (settings.listen_addr, settings.workers);
    let job_workers = settings.jobs.workers;
    match &settings.mail.smtp {
        Some(smtp) => log::info!(
            "mail: SMTP via {}:{} ({:?})",
            smtp.host,
            smtp.port,
            smtp.tls
        ),
        None => log::warn!(
            "SMTP_HOST is unset: emails are not sent but kept in the outbox (the latest {}, \
             for {} days); read them with `passerelle outbox`",
            jobs::outbox::MAX_EMAILS,
            jobs::outbox::MAX_AGE_DAYS
        ),
    }
    let timeouts = settings.timeouts;
    let state = AppState::new(settings, pool)?.awaiting_schema();
    // Detached: it ends once migrated, or with the process while the database is still away.
    crate::availability::spawn_migrator(
        database.url.clone(),
        state.schema.clone(),
        crate::partners::model::repair_feed_after_restore,
    );
    // The public cache learns of catalogue changes from here; until it is connected (and
    // whenever it is not), public reads ask the database for the version.
    crate::public_cache::spawn_listener(&state.public, database.url.clone())?;
    let server = http_server(state.clone(), listen, workers, timeouts)
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    log::info!("listening on http://{listen}");
    actix_web::rt::System::new().block_on(async move {
        let purge = crate::applications::purge::spawn_schedule(state.clone());
        let calendar = crate::offers::sweep::spawn_schedule(state.clone());
        let jobs = jobs::spawn_workers(state, crate::JOB_KINDS, job_workers);
        // The server returns after a stop signal, once in-flight requests are done; then
        // the job workers finish the job each one has in hand.
        let served = server.await;
        jobs.stop().await;
        if let Some(purge) = purge {
            purge.abort();
        }
        calendar.abort();
        served
    })?;
    // `database` drops here: a private cluster is stopped if no other process uses it.
    drop(database);
    Ok(())
}

/// What actix-web's `HttpServer::listen` builds, with each connection read through
/// [`Utf8Target`](crate::listener::Utf8Target) so raw UTF-8 in a request target reaches the
/// application percent-encoded instead of getting an empty 400 from actix-http.
fn http_server(
    state: AppState,
    listen: std::net::SocketAddr,
    workers: usize,
    timeouts: crate::settings::Timeouts,
) -> std::io::Result<actix_web::dev::Server> {
    use actix_service::{fn_service, map_config, IntoServiceFactory as _, ServiceFactoryExt as _};
    use actix_web::dev::AppConfig;
    let listener = crate::listener::bind(listen)?;
    let local = listener.local_addr()?;
    let builder = actix_server::Server::build()
        .workers(workers)
        .shutdown_timeout(timeouts.shutdown.as_secs());
    let shutdown = builder.graceful_shutdown_signal();
    builder
        .listen("passerelle-http", listener, move || {
            let shutdown = shutdown.clone();
            let app = build_app(state.clone())
                .into_factory()
                .map_err(|e: actix_web::Error| e.error_response());
            let http = actix_http::HttpService::build()
                // Idle keep-alive connections close at once on a stop signal.
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(timeouts.keep_alive)
                .client_request_timeout(timeouts.client_headers)
                // HttpServer's values where HttpServiceBuilder's defaults differ.
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(local)
                // HttpServer's AppConfig: plain HTTP, the bound address as the fallback host.
                // Its constructor is crate-private; this is the public door actix-test uses.
                .h1(map_config(app, move |_| {
                    AppConfig::__priv_test_new(false, local.to_string(), local)
                }));
            fn_service(|io: actix_web::rt::net::TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((
                    crate::listener::Utf8Target::new(io),
                    peer,
                ))
            })
            .and_then(http)
        })
        .map(actix_server::ServerBuilder::run)
}

fn local_db(settings: &Settings, command: LocalDbCommand) -> Result<(), BoxError> {
    let dir = &settings.data_dir;
    let Some(mut cluster) = LocalCluster::inspect(dir)? else {
        println!("no private cluster: {} does not exist", dir.display());
        return Ok(());
    };
    match command {
        LocalDbCommand::Status => {
            print!("{}", local_db_status(&cluster.status()));
            Ok(())
        }
        LocalDbCommand::Stop { force } => match cluster.stop_if_unused(force)? {
            StopOutcome::Stopped => {
                println!(
                    "stopped the private cluster in {}",
                    cluster.pgdata().display()
                );
                Ok(())
            }
            StopOutcome::NotRunning => {
                println!(
                    "the private cluster in {} is not running",
                    cluster.pgdata().display()
                );
                Ok(())
            }
            StopOutcome::InUse(pids) => Err(LocalDbError::InUse(match pids {
                Some(p) => format!("{} process(es) (pid {})", p.len(), join_pids(&p)),
                None => "other processes".to_owned(),
            })
            .into()),
        },
    }
}

/// `local-db status`, one fact a line.
fn local_db_status(status: &ClusterStatus) -> String {
    let state = match (status.initialised, status.running) {
        (false, _) => "not initialised (the first `serve` or `cargo test` creates it)",
        (true, true) => "running",
        (true, false) => "stopped",
    };
    let port = status
        .port
        .map(|p| format!("{p} (Unix socket only)"))
        .unwrap_or_else(|| "-".to_owned());
    let users = match &status.users {
        Some(p) if p.is_empty() => "none".to_owned(),
        Some(p) => format!("{} (pid {})", p.len(), join_pids(p)),
        None => "unknown (/proc/locks unreadable)".to_owned(),
    };
    format!(
        "cluster: {}\nstate: {state}\nport: {port}\nusers: {users}\n",
        status.pgdata.display()
    )
}

fn join_pids(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// On the private cluster (never on a `DATABASE_URL`), an empty database gets the demo
/// data, so that a newcomer's first `cargo run -- serve` can log in. The cluster was just
/// started by this process, so it is up: migrating here cannot hold the port back.
fn seed_private_database(
    url: &str,
    calendar: &crate::calendar::CityCalendar,
) -> Result<(), BoxError> {
    let mut conn = db::connect_creating_database(url)?;
    db::run_migrations(&mut conn)?;
    if !crate::demo::is_empty(&mut conn)? {
        return Ok(());
    }
    // The passwords are in the README, not here: logs get shipped.
    log::warn!(
        "the private database is empty (no offers, no staff accounts): loading the demo data, \
         staff accounts with public passwords and demo offers. The accounts and a login \
         example are in README.md, section \"Running it\". Set DATABASE_URL for a real \
         database: it is never seeded"
    );
    crate::demo::seed(&mut conn, false, calendar)?;
    log::info!("demo data loaded into the private database");
    Ok(())
}

/// `passerelle outbox`: the newest emails first, each with its headers and text.
fn print_outbox(conn: &mut PgConnection, limit: i64) -> Result<(), BoxError> {
    let emails = jobs::outbox::latest(conn, limit)?;
    let mut out = std::io::stdout().lock();
    if emails.is_empty() {
        writeln!(out, "the outbox is empty")?;
    }
    for e in &emails {
        writeln!(out, "--- email {} ({})", e.id, e.kind)?;
        writeln!(out, "Date: {}", e.created_at.to_rfc3339())?;
        if let Some(id) = e.application_id {
            writeln!(out, "Application: {id}")?;
        }
        writeln!(out, "To: {}", e.recipient)?;
        writeln!(out, "Subject: {}\n", e.subject)?;
        writeln!(out, "{}\n", e.text.trim_end())?;
    }
    Ok(())
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| "must be admin, manager or reviewer".to_owned())
}

fn create_staff(
    conn: &mut PgConnection,
    settings: &Settings,
    email: &str,
    name: &str,
    role: Role,
) -> Result<(), BoxError> {
    let stdin = std::io::stdin();
    let piped = if stdin.is_terminal() {
        None
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned()).filter(|l| !l.is_empty())
    };
    let (password, generated) = match piped {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let context = PasswordContext {
        email,
        name,
        organization_words: &settings.organization_words,
        year: chrono::Datelike::year(&chrono::Utc::now()),
    };
    if let Err(e) = check_password_policy("password", &password, &context) {
        let reasons: Vec<String> = e
            .problem()
            .errors
            .iter()
            .map(|f| f.message.clone())
            .collect();
        return Err(format!("password refused: {}", reasons.join("; ")).into());
    }
    let account = NewAccount {
        email: normalize_email(email),
        name: name.trim().to_owned(),
        role,
        password_hash: hash_password(&password)?,
    };
    let user = insert_account(conn, &account, None, chrono::Utc::now())?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "created {} {} ({})",
        role.as_str(),
        user.email,
        user.id
    )?;
    if generated {
        writeln!(out, "password (shown once): {password}")?;
    }
    Ok(())
}

fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn health_check(settings: &Settings) -> Result<(), BoxError> {
    let mut addr = settings.listen_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}/health/ready");
    let ask = || -> std::io::Result<String> {
        let mut stream =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3))?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
        write!(
            stream,
            "GET /health/ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    };
    let response = ask().map_err(|e| format!("no answer from {url} (LISTEN_ADDR): {e}"))?;
    if response.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!(
            "not ready: {url} answered {}",
            response.lines().next().unwrap_or("nothing")
        )
        .into())
    }
}
