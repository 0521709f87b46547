//! The `passerelle` binary: parses the command line and hands over to `passerelle::cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    // actix logs every malformed request a client sends (answered 400) at ERROR: a flood an
    // outsider controls. `RUST_LOG=actix_http=debug` brings them back.
    if !std::env::var("RUST_LOG").is_ok_and(|v| v.contains("actix_http")) {
        logger.filter_module("actix_http::h1::dispatcher", log::LevelFilter::Off);
    }
    logger
        .format(|buf, record| {
            use std::io::Write;
            // Lines written while a request is handled name it.
            let request = passerelle::request_id::current()
                .map(|id| format!(" request_id={id}"))
                .unwrap_or_default();
            writeln!(
                buf,
                "[{} {:5} {}] {}{request}",
                buf.timestamp(),
                record.level(),
                record.target(),
                record.args()
            )
        })
        .init();
    match passerelle::cli::run(passerelle::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // Once, on standard error (the log goes there too: it would print it twice).
        Err(e) => {
            eprintln!("passerelle: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
