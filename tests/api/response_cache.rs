//! The public response cache (src/public_cache.rs): a write is visible on the next read of
//! the instance that made it, another instance sees it within `CACHE_MAX_STALENESS_MS` even
//! when notifications are lost or its listener connection is killed, and the cache stays
//! within its byte budget.

use crate::support::{gunzip, open_offer, TestApp};
use actix_web::test::TestRequest;
use diesel::{sql_query, RunQueryDsl};
use passerelle::{auth::Role, public_cache::spawn_listener, state::AppState};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

type Call = std::rc::Rc<
    dyn Fn(
        actix_http::Request,
    ) -> futures_util::future::LocalBoxFuture<
        'static,
        actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
    >,
>;

async fn get(call: &Call, path: &str) -> (u16, String) {
    let req = TestRequest::get()
        .uri(path)
        .peer_addr("192.0.2.10:40000".parse().unwrap())
        .to_request();
    let res = call(req).await;
    let status = res.status().as_u16();
    let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Every cached public representation of the catalogue and of one offer, as text.
async fn views(call: &Call, id: &str, slug: &str) -> Vec<(String, u16, String)> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/offers?limit=50".to_owned(),
        "/api/v1/offers?facets=true&limit=1".to_owned(),
        format!("/api/v1/offers/{id}"),
        format!("/api/v1/offers/{slug}"),
        format!("/api/v1/offers/{id}/jsonld"),
        "/api/v1/feeds/offers.xml".to_owned(),
        "/api/v1/feeds/offers.atom".to_owned(),
    ] {
        let (status, body) = get(call, &path).await;
        out.push((path, status, body));
    }
    out
}

fn total(views: &[(String, u16, String)]) -> i64 {
    let facets: Value = serde_json::from_str(&views[1].2).unwrap();
    assert!(facets["facets"].is_object(), "{facets}");
    facets["total"].as_i64().unwrap()
}

/// Starts `state`'s listener and waits until it has confirmed the version.
fn listening(state: &AppState, url: &str) {
    spawn_listener(&state.public, url.to_owned()).unwrap();
    let started = Instant::now();
    while !state.public.is_listening() {
        assert!(started.elapsed() < Duration::from_secs(10), "no listener");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn staff_etag(app: &TestApp, token: &str, id: &str) -> String {
    let res = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(token))
        .await;
    res.header("etag").unwrap().to_owned()
}

async fn move_offer(app: &TestApp, token: &str, id: &str, to: &str) {
    let etag = staff_etag(app, token, id).await;
    let res = app
        .post_if_match(
            &format!("/api/v1/staff/offers/{id}/{to}"),
            token,
            &etag,
            json!({}),
        )
        .await;
    assert_eq!(
        res.status,
        200,
        "{to}: {}",
        String::from_utf8_lossy(&res.body)
    );
}

async fn retitle(app: &TestApp, token: &str, id: &str, title: &str) {
    let etag = staff_etag(app, token, id).await;
    let res = app
        .send(
            TestRequest::patch()
                .uri(&format!("/api/v1/staff/offers/{id}"))
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("If-Match", etag))
                .insert_header(("Content-Type", "application/merge-patch+json"))
                .set_payload(json!({ "title": title }).to_string()),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
}

fn hits(state: &AppState) -> u64 {
    state.public.counters().0
}

/// Read-your-writes: notifications off (their trigger dropped) and a bound of a minute, so
/// only the instance's own invalidation at commit can make the writes visible.
#[actix_web::test]
async fn a_write_is_seen_by_the_next_read_on_the_same_instance() {
    let app = TestApp::with_settings(|s| s.cache.max_staleness = Duration::from_secs(60)).await;
    sql_query("DROP TRIGGER catalog_version_notify ON catalog_version")
        .execute(&mut app.db.connect())
        .unwrap();
    listening(&app.state, app.db.url());
    let call: Call = TestApp::from_state(app.state.clone()).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    app.publish_new_offer(&manager, open_offer("RYW-0")).await;
    let offer = app.publish_new_offer(&manager, open_offer("RYW-1")).await;
    let (id, slug) = (
        offer["id"].as_str().unwrap().to_owned(),
        offer["slug"].as_str().unwrap().to_owned(),
    );

    let first = views(&call, &id, &slug).await;
    assert!(first.iter().all(|(_, s, _)| *s == 200), "{first:?}");
    assert_eq!(total(&first), 2);
    // The same reads again are hits, with the same bytes; a 304 is a hit too.
    let before = hits(&app.state);
    assert_eq!(views(&call, &id, &slug).await, first);
    assert_eq!(hits(&app.state) - before, first.len() as u64);
    let etag = {
        let res = app.get(&format!("/api/v1/offers/{id}"), None).await;
        res.header("etag").unwrap().to_owned()
    };
    let not_modified = app
        .send(
            TestRequest::get()
                .uri(&format!("/api/v1/offers/{id}"))
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(not_modified.status, 304);

    // Update: every representation shows the new title at once.
    retitle(&app, &manager, &id, "Stage renommé en cache").await;
    let updated = views(&call, &id, &slug).await;
    for (path, status, body) in &updated {
        if path.contains("facets") {
            continue;
        }
        assert_eq!(*status, 200, "{path}");
        assert!(body.contains("Stage renommé en cache"), "{path}: {body}");
    }

    // Publish another: the list, the total and the feeds have it.
    let new = app.publish_new_offer(&manager, open_offer("RYW-2")).await;
    let new_slug = new["slug"].as_str().unwrap();
    let published = views(&call, &id, &slug).await;
    assert_eq!(total(&published), 3);
    for i in [0, 5, 6] {
        assert!(
            published[i].2.contains(new_slug),
            "{}: {}",
            published[i].0,
            published[i].2
        );
    }

    // Close: still shown alone, no longer listed, taking no applications.
    move_offer(&app, &manager, &id, "close").await;
    let closed = views(&call, &id, &slug).await;
    assert_eq!(total(&closed), 2);
    assert!(!closed[0].2.contains(&id), "a closed offer is not listed");
    let detail: Value = serde_json::from_str(&closed[2].2).unwrap();
    assert_eq!(detail["accepting_applications"], false, "{detail}");
    assert!(!closed[5].2.contains(&slug), "the XML feed dropped it");
    let posting: Value = serde_json::from_str(&closed[4].2).unwrap();
    assert_eq!(posting["directApply"], false, "{posting}");

    // Archive (the public site's delete): gone everywhere.
    move_offer(&app, &manager, &id, "archive").await;
    let archived = views(&call, &id, &slug).await;
    for i in [2, 3, 4] {
        assert_eq!(archived[i].1, 404, "{}", archived[i].0);
    }
    // A draft deleted on this instance: the version moves, the public set does not.
    let (draft, draft_etag) = app.create_offer(&manager, open_offer("RYW-3")).await;
    let deleted = app
        .send(
            TestRequest::delete()
                .uri(&format!(
                    "/api/v1/staff/offers/{}",
                    draft["id"].as_str().unwrap()
                ))
                .insert_header(("Authorization", format!("Bearer {manager}")))
                .insert_header(("If-Match", draft_etag)),
        )
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(total(&views(&call, &id, &slug).await), 2);
}

/// Two instances on one database, each with its own listener: a change made through A is
/// served by B within the bound — with notifications, without them (the trigger dropped),
/// and after B's listener connection was killed.
#[actix_web::test]
async fn another_instance_sees_a_change_within_the_bound() {
    let bound = Duration::from_millis(1000);
    let app = TestApp::with_settings(|s| s.cache.max_staleness = bound).await;
    let b_state = app.another_instance();
    listening(&app.state, app.db.url());
    listening(&b_state, app.db.url());
    let b: Call = TestApp::from_state(b_state.clone()).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&manager, open_offer("TWO-1")).await;
    let (id, slug) = (
        offer["id"].as_str().unwrap().to_owned(),
        offer["slug"].as_str().unwrap().to_owned(),
    );
    // B serves (and keeps) every representation.
    views(&b, &id, &slug).await;
    views(&b, &id, &slug).await;
    assert!(hits(&b_state) > 0);

    // Waits until every representation on B shows `expect`; returns how long it took.
    async fn seen(b: &Call, id: &str, slug: &str, expect: &str) -> Duration {
        let started = Instant::now();
        loop {
            let all = views(b, id, slug).await;
            let shown = all
                .iter()
                .filter(|(p, _, _)| !p.contains("facets"))
                .all(|(_, _, body)| body.contains(expect));
            if shown {
                return started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{all:?}");
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let slack = Duration::from_millis(700);

    // 1. With notifications: well within the bound.
    retitle(&app, &manager, &id, "Titre un").await;
    let took = seen(&b, &id, &slug, "Titre un").await;
    assert!(took < bound + slack, "{took:?}");

    // 2. B's listener connection killed: B drops its cache, reads the version per request
    //    until it is back, and never serves the old title past the bound.
    let name = b_state.public.listener_name().to_owned();
    let mut admin = app.db.connect();
    #[derive(diesel::QueryableByName)]
    struct Killed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let killed: Killed = sql_query(format!(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = '{name}'"
    ))
    .get_result(&mut admin)
    .unwrap();
    assert_eq!(killed.n, 1, "B's listener is found by its application_name");
    retitle(&app, &manager, &id, "Titre deux").await;
    let took = seen(&b, &id, &slug, "Titre deux").await;
    assert!(took < bound + slack, "{took:?}");
    // It comes back on its own and serves from memory again. The listener may notice the
    // killed connection only after B already served the new title (the staleness bound did
    // that), so wait for its second connection rather than for the flag alone.
    let started = Instant::now();
    loop {
        let metrics = get(&b, "/metrics").await.1;
        if metrics.contains("passerelle_public_cache_listener_connects_total 2")
            && metrics.contains("passerelle_public_cache_listener_up 1")
            && b_state.public.is_listening()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "listener not back: {}",
            metrics
                .lines()
                .filter(|l| l.starts_with("passerelle_public_cache_listener"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }

    // 3. Every notification lost: the periodic re-read still bounds the staleness.
    sql_query("DROP TRIGGER catalog_version_notify ON catalog_version")
        .execute(&mut admin)
        .unwrap();
    views(&b, &id, &slug).await;
    retitle(&app, &manager, &id, "Titre trois").await;
    let took = seen(&b, &id, &slug, "Titre trois").await;
    assert!(took < bound + slack, "{took:?}");
}

/// Many distinct URLs (random filters): the cache's weight stays within its budget, it
/// evicts, and `/metrics` says so.
#[actix_web::test]
async fn the_byte_budget_holds_under_many_distinct_urls() {
    let budget = 48 * 1024;
    let app = TestApp::with_settings(|s| s.cache.bytes = budget).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    for i in 0..4 {
        app.publish_new_offer(&manager, open_offer(&format!("BUD-{i}")))
            .await;
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let path = match next() % 3 {
            0 => format!(
                "/api/v1/offers?limit={}&q=stage{}",
                1 + next() % 50,
                next() % 1000
            ),
            1 => format!(
                "/api/v1/offers?limit={}&facets=true&tag=t{}",
                1 + next() % 50,
                next() % 1000
            ),
            _ => format!(
                "/api/v1/offers?limit={}&duration_max_months={}",
                1 + next() % 100,
                1 + next() % 6
            ),
        };
        assert_eq!(app.get(&path, None).await.status, 200, "{path}");
        let size = app.state.public.weighted_size();
        assert!(size <= budget, "{size} > {budget} after {path}");
    }
    let (_, misses, evictions) = app.state.public.counters();
    assert!(misses >= 250 && evictions > 0, "{misses} {evictions}");
    let metrics = app.get("/metrics", None).await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(text.contains(&format!("passerelle_public_cache_budget_bytes {budget}")));
    assert!(
        !text.contains("passerelle_public_cache_evictions_total 0\n"),
        "{text}"
    );
}

/// A hit needs no database: with every pooled connection taken, cached pages and their 304s
/// are still served while the listener confirms the version, and anything else waits for a
/// connection and gets 503.
#[actix_web::test]
async fn a_hit_and_its_304_need_no_database_connection() {
    let app = TestApp::new().await;
    listening(&app.state, app.db.url());
    let (_, manager) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&manager, open_offer("HIT-1")).await;
    let path = format!("/api/v1/offers/{}", offer["id"].as_str().unwrap());
    let first = app.get(&path, None).await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap().to_owned();
    let list = app.get("/api/v1/offers?limit=3", None).await;
    assert_eq!(list.status, 200);

    let held: Vec<_> = (0..app.state.settings.pool_size)
        .map(|_| app.state.pool.get().unwrap())
        .collect();
    let again = app.get(&path, None).await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &first.body));
    let not_modified = app
        .send(
            TestRequest::get()
                .uri(&path)
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(
        app.get("/api/v1/offers?limit=3", None).await.body,
        list.body
    );
    app.get("/api/v1/offers?limit=4", None)
        .await
        .assert_problem(503, "database_unavailable");
    drop(held);
}

/// One line of `/metrics` as a number.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

/// A kept body is compressed once, when it is kept: every gzip hit sends that variant (the
/// compressions counter does not move), identity and gzip answers carry the same JSON, the
/// gzip one a weak form of the page's ETag, both revalidate with a 304, and the cache's
/// weight counts both variants.
#[actix_web::test]
async fn a_kept_body_is_gzipped_once_and_both_variants_are_counted() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let mut last = Value::Null;
    for i in 0..4 {
        last = app
            .publish_new_offer(&manager, open_offer(&format!("GZC-{i}")))
            .await;
    }
    let (id, slug) = (last["id"].as_str().unwrap(), last["slug"].as_str().unwrap());
    let before = String::from_utf8(app.get("/metrics", None).await.body).unwrap();
    assert_eq!(metric(&before, "passerelle_public_cache_entries"), 0);
    let gzip = |path: &str| {
        TestRequest::get()
            .uri(path)
            .insert_header(("Accept-Encoding", "gzip"))
    };

    let list = "/api/v1/offers?limit=50&facets=true";
    let plain = app.get(list, None).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.header("vary").unwrap().contains("Accept-Encoding"));
    assert!(plain.body.len() > 1024, "{}", plain.body.len());
    let strong = plain.header("etag").unwrap().to_owned();
    assert!(strong.starts_with('"'), "{strong}");
    let filled = String::from_utf8(app.get("/metrics", None).await.body).unwrap();
    assert_eq!(
        metric(&filled, "passerelle_public_cache_compressions_total"),
        1,
        "compressed when kept, before any client asked for gzip"
    );

    let hits_before = hits(&app.state);
    let mut compressed = Vec::new();
    for _ in 0..3 {
        let res = app.send(gzip(list)).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("content-encoding"), Some("gzip"));
        assert!(res.header("vary").unwrap().contains("Accept-Encoding"));
        assert_eq!(res.header("etag"), Some(format!("W/{strong}").as_str()));
        assert!(res.body.len() * 2 < plain.body.len());
        let json: Value = serde_json::from_slice(&gunzip(&res.body)).unwrap();
        assert_eq!(json, serde_json::from_slice::<Value>(&plain.body).unwrap());
        assert_eq!(gunzip(&res.body), plain.body);
        compressed.push(res.body);
    }
    // Each is the variant made when the page was kept (gzip's default level), not one
    // compressed again for the request (the fast level gives other bytes).
    let kept = passerelle::compression::precompress("application/json", &plain.body).unwrap();
    assert!(compressed.iter().all(|c| c[..] == kept[..]));
    assert_eq!(hits(&app.state) - hits_before, 3);
    // Identity again, from the same entry.
    let again = app.get(list, None).await;
    assert_eq!(
        (again.header("content-encoding"), &again.body),
        (None, &plain.body)
    );

    let after = String::from_utf8(app.get("/metrics", None).await.body).unwrap();
    assert_eq!(
        metric(&after, "passerelle_public_cache_compressions_total"),
        1,
        "no hit compressed again"
    );
    assert_eq!(metric(&after, "passerelle_public_cache_entries"), 1);
    let weight = metric(&after, "passerelle_public_cache_bytes");
    let both = (plain.body.len() + compressed[0].len()) as u64;
    assert!(
        weight >= both && weight < both + 1024,
        "{weight} for {} + {} bytes",
        plain.body.len(),
        compressed[0].len()
    );

    // Revalidation: the weak tag with gzip, the strong one without; a HEAD has the headers.
    for (accept, tag) in [
        ("gzip", format!("W/{strong}")),
        ("identity", strong.clone()),
    ] {
        let res = app
            .send(
                TestRequest::get()
                    .uri(list)
                    .insert_header(("Accept-Encoding", accept))
                    .insert_header(("If-None-Match", tag.as_str())),
            )
            .await;
        assert_eq!(res.status, 304, "{accept}");
        assert!(res.body.is_empty());
    }
    let head = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(list)
                .insert_header(("Accept-Encoding", "gzip")),
        )
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert_eq!(head.header("etag"), Some(format!("W/{strong}").as_str()));

    // Every other cached representation: both answers carry the same document.
    for path in [
        format!("/api/v1/offers/{id}"),
        format!("/api/v1/offers/{slug}"),
        format!("/api/v1/offers/{id}/jsonld"),
        "/api/v1/feeds/offers.xml".to_owned(),
        "/api/v1/feeds/offers.atom".to_owned(),
    ] {
        let plain = app.get(&path, None).await;
        assert_eq!(plain.status, 200, "{path}");
        assert_eq!(plain.header("content-encoding"), None, "{path}");
        for _ in 0..2 {
            let res = app.send(gzip(&path)).await;
            assert_eq!(res.status, 200, "{path}");
            assert!(res.header("vary").unwrap().contains("Accept-Encoding"));
            match res.header("content-encoding") {
                Some("gzip") => {
                    assert_eq!(gunzip(&res.body), plain.body, "{path}");
                    let strong = plain.header("etag").unwrap();
                    assert_eq!(res.header("etag"), Some(format!("W/{strong}").as_str()));
                }
                // Too small to be worth it: as it is, for every client.
                None => {
                    assert!(plain.body.len() < 1024, "{path}: {}", plain.body.len());
                    assert_eq!(res.body, plain.body, "{path}");
                    assert_eq!(res.header("etag"), plain.header("etag"));
                }
                Some(other) => panic!("{path}: {other}"),
            }
        }
    }
    let feeds = String::from_utf8(app.get("/metrics", None).await.body).unwrap();
    let made = metric(&feeds, "passerelle_public_cache_compressions_total");
    assert!(
        (3..=6).contains(&made),
        "one per kept body worth it, none per hit: {made}"
    );

    // A small page is kept as it is and sent so to everyone.
    let empty = app.send(gzip("/api/v1/offers?q=introuvablezz")).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.header("content-encoding"), None);
    assert!(empty.header("vary").unwrap().contains("Accept-Encoding"));
    let empty_again = app.send(gzip("/api/v1/offers?q=introuvablezz")).await;
    assert_eq!(empty_again.body, empty.body);
}

/// Without the cache (a budget of 0) the gzip layer still compresses every public answer
/// itself, as before the cache kept variants.
#[actix_web::test]
async fn without_the_cache_public_answers_are_still_gzipped() {
    let app = TestApp::with_settings(|s| s.cache.bytes = 0).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    for i in 0..4 {
        app.publish_new_offer(&manager, open_offer(&format!("GZN-{i}")))
            .await;
    }
    let plain = app.get("/api/v1/offers?limit=50", None).await;
    let res = app
        .send(
            TestRequest::get()
                .uri("/api/v1/offers?limit=50")
                .insert_header(("Accept-Encoding", "gzip")),
        )
        .await;
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&res.body), plain.body);
    let metrics = String::from_utf8(app.get("/metrics", None).await.body).unwrap();
    assert_eq!(
        metric(&metrics, "passerelle_public_cache_compressions_total"),
        0
    );
    assert_eq!(metric(&metrics, "passerelle_public_cache_bytes"), 0);
}
