//! The pool's waiting line: units of database work get a connection in the order they asked
//! for one, and a wait past `DATABASE_TIMEOUT_SECONDS` is a 503 like a pool timeout.

use crate::support::TestApp;
use actix_web::ResponseError;
use diesel::RunQueryDsl;
use std::{cell::RefCell, rc::Rc, sync::atomic::Ordering::Relaxed, time::Duration};

fn hold(conn: &mut diesel::PgConnection, secs: f64) {
    diesel::sql_query(format!("SELECT pg_sleep({secs})"))
        .execute(conn)
        .unwrap();
}

#[actix_web::test]
async fn waiters_get_the_connection_in_arrival_order() {
    let app = TestApp::with_settings(|s| {
        s.pool_size = 1;
        s.database_timeout = Duration::from_secs(20);
    })
    .await;
    let done = Rc::new(RefCell::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..8usize {
        let (state, done) = (app.state.clone(), done.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let got = state
                .db(move |conn| {
                    hold(conn, if i == 0 { 0.4 } else { 0.02 });
                    Ok(i)
                })
                .await
                .unwrap();
            done.borrow_mut().push(got);
        }));
        // Each one queues before the next arrives.
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    // The first holds the only connection; the seven others wait, and say so in /metrics.
    assert_eq!(app.state.metrics.pool_waiting.load(Relaxed), 7);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        *done.borrow(),
        (0..8).collect::<Vec<_>>(),
        "first come, first served"
    );
    assert_eq!(app.state.metrics.pool_waiting.load(Relaxed), 0);
}

#[actix_web::test]
async fn waiting_past_the_database_timeout_is_a_503() {
    let app = TestApp::with_settings(|s| {
        s.pool_size = 1;
        s.database_timeout = Duration::from_millis(300);
    })
    .await;
    let state = app.state.clone();
    let holder = actix_web::rt::spawn(async move {
        state
            .db(|conn| {
                hold(conn, 1.0);
                Ok(())
            })
            .await
    });
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let err = app.state.db(|_| Ok(())).await.unwrap_err();
    assert_eq!(err.code(), "database_unavailable");
    assert_eq!(err.status_code().as_u16(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        app.state.metrics.pool_waiting.load(Relaxed),
        0,
        "it left the line"
    );
    holder.await.unwrap().unwrap();
    // Once the connection is back, the next one is served.
    app.state.db(|_| Ok(())).await.unwrap();
}

#[actix_web::test]
async fn a_request_waits_behind_those_queued_before_it_not_behind_newcomers() {
    use std::sync::{
        atomic::{AtomicBool, AtomicUsize},
        Arc,
    };
    let app = TestApp::with_settings(|s| {
        s.pool_size = 1;
        s.database_timeout = Duration::from_secs(20);
    })
    .await;
    let (done, stop) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    // Twelve clients asking again as soon as they are served.
    let hogs: Vec<_> = (0..12)
        .map(|_| {
            let (state, done, stop) = (app.state.clone(), done.clone(), stop.clone());
            actix_web::rt::spawn(async move {
                while !stop.load(Relaxed) {
                    state
                        .db(|conn| {
                            hold(conn, 0.001);
                            Ok(())
                        })
                        .await
                        .unwrap();
                    done.fetch_add(1, Relaxed);
                }
            })
        })
        .collect();
    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    let mut worst = 0;
    for _ in 0..20 {
        let before = done.load(Relaxed);
        app.state.db(|_| Ok(())).await.unwrap();
        worst = worst.max(done.load(Relaxed) - before);
    }
    stop.store(true, Relaxed);
    for h in hogs {
        h.await.unwrap();
    }
    // At most the twelve ahead of it (one holding the connection, eleven queued) go first.
    assert!(worst <= 13, "{worst} later requests were served first");
}

/// The waiting line is the FIFO in front of the pool, not the blocking threads: requests
/// queued for a connection wait without holding one of the runtime's blocking threads
/// (tokio's default, 512, that password hashing and document checks share), so a burst
/// larger than that cannot keep other blocking work waiting until the burst times out.
/// Without the FIFO each waiter would sit in r2d2's `get_timeout` on a blocking thread, and
/// the work below would run only once they gave up with 503s.
#[actix_web::test]
async fn a_burst_of_waiters_holds_no_blocking_thread() {
    let app = TestApp::with_settings(|s| {
        s.pool_size = 1;
        s.database_timeout = Duration::from_secs(5);
    })
    .await;
    let (release, released) = std::sync::mpsc::channel::<()>();
    let state = app.state.clone();
    let holder = actix_web::rt::spawn(async move {
        state
            .db(move |conn| {
                hold(conn, 0.0);
                released.recv().unwrap();
                Ok(())
            })
            .await
    });
    while app.state.pool.state().idle_connections > 0 || app.state.db_slots.available_permits() > 0
    {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    const BURST: usize = 520;
    let waiters: Vec<_> = (0..BURST)
        .map(|i| {
            let state = app.state.clone();
            actix_web::rt::spawn(async move { state.db(move |_| Ok(i)).await })
        })
        .collect();
    while app.state.metrics.pool_waiting.load(Relaxed) < BURST {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    // Blocking work that needs no connection runs now, the burst still waiting.
    assert_eq!(actix_web::web::block(|| 7).await.unwrap(), 7);
    // At least the burst is still waiting (the holder may still be counted until its own
    // connection is in hand): none gave up before the blocking work ran.
    let waiting = app.state.metrics.pool_waiting.load(Relaxed);
    assert!(
        waiting >= BURST,
        "{waiting} waiting: some of the {BURST} gave up before the blocking work ran"
    );
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
    for (i, w) in waiters.into_iter().enumerate() {
        assert_eq!(w.await.unwrap().unwrap(), i);
    }
}
