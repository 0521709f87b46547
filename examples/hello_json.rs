//! The HTTP ceiling of a machine for bench/ceiling.sh: actix-web answering a small JSON
//! body from memory, no middleware, no database. It listens on `LISTEN_ADDR`
//! (127.0.0.1:18090) with `WORKERS` workers (default: the number of CPUs, as `serve`).
//!
//!   cargo build --release --example hello_json
//!   LISTEN_ADDR=127.0.0.1:18090 target/release/examples/hello_json

use actix_web::{web, App, HttpResponse, HttpServer};

async fn hello() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"message":"Hello, World!"}"#)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:18090".into());
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse::<usize>().ok())
        .filter(|w| *w > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    HttpServer::new(|| App::new().route("/", web::get().to(hello)))
        .workers(workers)
        .bind(listen)?
        .run()
        .await
}
