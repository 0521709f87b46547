//! The `passerelle` binary: parses the command line and hands over to `passerelle::cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match passerelle::cli::run(passerelle::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            eprintln!("passerelle: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
