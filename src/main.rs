//! The `passerelle` binary: parses the command line and hands over to `passerelle::cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
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
        Err(e) => {
            log::error!("{e}");
            eprintln!("passerelle: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
