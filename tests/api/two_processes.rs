//! Two real `passerelle serve` processes on one database (issue 15's tests): B's response
//! cache sees A's writes within `CACHE_MAX_STALENESS_MS`, also once its listener connection
//! is killed, and the batched `reads` limiter keeps one budget across both within the bound
//! of src/ratelimit/batched.rs.

use crate::{
    process::{request, Response, ServerProcess},
    support::{open_offer, TestApp, PASSWORD},
};
use diesel::{sql_query, Connection, PgConnection, RunQueryDsl};
use passerelle::auth::Role;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The staleness bound both processes run with, and the slack a test allows on top of it
/// (process scheduling on a loaded machine, the polling step).
const STALENESS_MS: u64 = 1000;
const BOUND: Duration = Duration::from_millis(2500);

/// A and B on `url`, ready; both are killed when dropped (`ServerProcess`'s `Drop`), even
/// when the test fails.
fn two_servers(url: &str, env: &[(&str, &str)]) -> (ServerProcess, ServerProcess) {
    let staleness = STALENESS_MS.to_string();
    let mut all = vec![
        ("JOB_WORKERS", "0"),
        ("CACHE_MAX_STALENESS_MS", staleness.as_str()),
    ];
    all.extend_from_slice(env);
    let a = ServerProcess::start(url, &all);
    let b = ServerProcess::start(url, &all);
    a.wait_ready();
    b.wait_ready();
    (a, b)
}

fn staff_token(app: &TestApp, server: &ServerProcess) -> String {
    let staff = app.create_staff(Role::Manager);
    server.login(&staff.email, PASSWORD)
}

fn staff_etag(server: &ServerProcess, token: &str, id: &str) -> String {
    let res = request(
        server.port,
        "GET",
        &format!("/api/v1/staff/offers/{id}"),
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
    .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    res.header("etag").unwrap().to_owned()
}

/// POST `/api/v1/staff/offers/{id}/{action}` with the current ETag.
fn move_offer(server: &ServerProcess, token: &str, id: &str, action: &str) -> Response {
    let etag = staff_etag(server, token, id);
    let res = request(
        server.port,
        "POST",
        &format!("/api/v1/staff/offers/{id}/{action}"),
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("If-Match", &etag),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    )
    .unwrap();
    assert_eq!(res.status, 200, "{action}: {}", res.text());
    res
}

fn publish(server: &ServerProcess, token: &str, reference: &str) -> Value {
    let created = server.json(
        "POST",
        "/api/v1/staff/offers",
        Some(token),
        &open_offer(reference),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    move_offer(server, token, &id, "publish").json()
}

fn retitle(server: &ServerProcess, token: &str, id: &str, title: &str) {
    let etag = staff_etag(server, token, id);
    let res = request(
        server.port,
        "PATCH",
        &format!("/api/v1/staff/offers/{id}"),
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("If-Match", &etag),
            ("Content-Type", "application/merge-patch+json"),
        ],
        json!({ "title": title }).to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(res.status, 200, "retitle: {}", res.text());
}

/// B's public detail and list of the offer, both 200.
fn views(server: &ServerProcess, id: &str) -> (Value, Value) {
    let detail = server.get(&format!("/api/v1/offers/{id}")).unwrap();
    assert_eq!(detail.status, 200, "{}", detail.text());
    let list = server.get("/api/v1/offers").unwrap();
    assert_eq!(list.status, 200, "{}", list.text());
    (detail.json(), list.json())
}

fn listed(list: &Value, id: &str) -> Option<Value> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .cloned()
}

/// Polls B until `seen(detail, list)` holds; panics past [`BOUND`]; then keeps reading for a
/// further staleness interval and insists it still holds (no old body comes back). Returns
/// how long the change took to show.
fn shows_within_bound(
    b: &ServerProcess,
    id: &str,
    what: &str,
    seen: impl Fn(&Value, &Value) -> bool,
) -> Duration {
    let since = Instant::now();
    loop {
        let (detail, list) = views(b, id);
        if seen(&detail, &list) {
            break;
        }
        assert!(
            since.elapsed() < BOUND,
            "B still serves the old {what} after {:?}: {detail} / {list}",
            since.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = since.elapsed();
    let after = Instant::now();
    while after.elapsed() < Duration::from_millis(STALENESS_MS + 200) {
        let (detail, list) = views(b, id);
        assert!(
            seen(&detail, &list),
            "B went back to the old {what}: {detail} / {list}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    took
}

#[actix_web::test]
async fn a_change_on_one_process_is_seen_by_the_others_cache_within_the_bound() {
    let app = TestApp::new().await;
    let (a, b) = two_servers(app.db.url(), &[]);
    let token = staff_token(&app, &a);
    let offer = publish(&a, &token, "DEUX-CACHE-1");
    let id = offer["id"].as_str().unwrap().to_owned();
    let title = offer["title"].as_str().unwrap().to_owned();

    // B reads (and caches) the detail and the list, twice.
    for _ in 0..2 {
        let (detail, list) = views(&b, &id);
        assert_eq!(detail["title"], title.as_str());
        assert_eq!(listed(&list, &id).unwrap()["title"], title.as_str());
    }

    // A new title through A.
    retitle(&a, &token, &id, "Stage retitré par A");
    let took = shows_within_bound(&b, &id, "title", |detail, list| {
        detail["title"] == "Stage retitré par A"
            && listed(list, &id).is_some_and(|o| o["title"] == "Stage retitré par A")
    });
    eprintln!("retitle seen by B after {took:?}");

    // B's listener connection killed (A's too: same prefix): B falls back to reading the
    // version and still sees A's next change within the bound.
    let mut conn = PgConnection::establish(app.db.url()).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Killed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        #[allow(dead_code, reason = "read by diesel only")]
        pg_terminate_backend: bool,
    }
    let killed: Vec<Killed> = sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name LIKE 'passerelle-cache-listener-%'",
    )
    .load(&mut conn)
    .unwrap();
    assert!(
        killed.len() >= 2,
        "both listeners were connected: {}",
        killed.len()
    );
    let (detail, _) = views(&b, &id);
    assert_eq!(detail["title"], "Stage retitré par A");

    move_offer(&a, &token, &id, "close");
    let took = shows_within_bound(&b, &id, "open offer", |detail, list| {
        detail["accepting_applications"] == false && listed(list, &id).is_none()
    });
    eprintln!("close seen by B (listeners killed) after {took:?}");
    for server in [&a, &b] {
        assert!(
            !server.log_text().contains("panicked"),
            "{}",
            server.log_text()
        );
    }
}

const READS: u32 = 600;

#[actix_web::test]
async fn the_reads_budget_is_shared_by_both_processes_within_the_documented_bound() {
    let app = TestApp::new().await;
    let limit = READS.to_string();
    let (a, b) = two_servers(app.db.url(), &[("READS_RATE_LIMIT", limit.as_str())]);
    let token = staff_token(&app, &a);
    let offer = publish(&a, &token, "DEUX-LIMIT-1");
    let path = format!("/api/v1/offers/{}", offer["id"].as_str().unwrap());

    // One window for the whole run: when this client's window (its phase depends on the
    // bucket) ends within 15 s, start after it ends.
    let first = a.get(&path).unwrap();
    assert_eq!(first.status, 200, "{}", first.text());
    let header = first.header("ratelimit").unwrap().to_owned();
    let left: u64 = header
        .rsplit_once("t=")
        .and_then(|(_, t)| t.parse().ok())
        .unwrap_or_else(|| panic!("{header}"));
    let mut admitted = 1;
    if left < 15 {
        std::thread::sleep(Duration::from_secs(left) + Duration::from_millis(500));
        admitted = 0;
    }

    let started = Instant::now();
    let mut refused = 0;
    for i in 0..1000 {
        let server = if i % 2 == 0 { &b } else { &a };
        let res = server.get(&path).unwrap();
        match res.status {
            200 => admitted += 1,
            429 => {
                assert!(res.header("retry-after").is_some());
                refused += 1;
            }
            other => panic!("{other}: {}", res.text()),
        }
    }
    let most = READS + 2 * (READS / 8).min(1024);
    eprintln!(
        "{admitted} admitted, {refused} refused in {:?} (bound {READS}..={most})",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "still one window"
    );
    assert!(
        admitted >= READS,
        "{admitted} admitted of a budget of {READS}"
    );
    assert!(admitted <= most, "{admitted} admitted, the bound is {most}");
    assert!(refused > 0);
}

/// Everything B serves of the catalogue and of one offer: detail, list with facets, JSON-LD,
/// the XML and Atom feeds (status and body each).
struct Everything {
    detail: (u16, Value),
    jsonld: (u16, Value),
    list: Value,
    xml: String,
    atom: String,
}

impl Everything {
    fn of(server: &ServerProcess, id: &str) -> Self {
        let json = |path: &str| {
            let res = server.get(path).unwrap();
            let body = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
            (res.status, body)
        };
        let text = |path: &str| {
            let res = server.get(path).unwrap();
            assert_eq!(res.status, 200, "{path}: {}", res.text());
            res.text()
        };
        let (status, list) = json("/api/v1/offers?facets=true&limit=100");
        assert_eq!(status, 200, "{list}");
        Everything {
            detail: json(&format!("/api/v1/offers/{id}")),
            jsonld: json(&format!("/api/v1/offers/{id}/jsonld")),
            list,
            xml: text("/api/v1/feeds/offers.xml"),
            atom: text("/api/v1/feeds/offers.atom"),
        }
    }

    fn total(&self) -> i64 {
        self.list["total"].as_i64().unwrap()
    }

    /// The offers the `paid` facet counts (each offer is paid or not: the facets' total).
    fn facet_total(&self) -> i64 {
        self.list["facets"]["paid"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", self.list))
            .iter()
            .map(|c| c["count"].as_i64().unwrap())
            .sum()
    }

    fn lists(&self, id: &str) -> bool {
        listed(&self.list, id).is_some()
    }

    /// Whether `text` names the slug itself, not a longer one it begins (offers of the same
    /// title get `-2`, `-3`, …).
    fn names(text: &str, slug: &str) -> bool {
        text.match_indices(slug).any(|(at, _)| {
            !text[at + slug.len()..].starts_with(|c: char| c == '-' || c.is_ascii_alphanumeric())
        })
    }

    fn describe(&self) -> String {
        format!(
            "detail {:?} / jsonld {:?} / list {} / xml {} / atom {}",
            self.detail, self.jsonld, self.list, self.xml, self.atom
        )
    }
}

/// [`shows_within_bound`] over [`Everything`].
fn everything_within_bound(
    b: &ServerProcess,
    id: &str,
    what: &str,
    seen: impl Fn(&Everything) -> bool,
) -> Duration {
    let since = Instant::now();
    loop {
        let all = Everything::of(b, id);
        if seen(&all) {
            break;
        }
        assert!(
            since.elapsed() < BOUND,
            "B still serves the old {what} after {:?}: {}",
            since.elapsed(),
            all.describe()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = since.elapsed();
    let after = Instant::now();
    while after.elapsed() < Duration::from_millis(STALENESS_MS + 200) {
        let all = Everything::of(b, id);
        assert!(
            seen(&all),
            "B went back to the old {what}: {}",
            all.describe()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    took
}

/// A publish, an update, a close and a draft's delete through A: B's feeds, JSON-LD, list
/// totals and facets follow each within the bound, and never go back.
#[actix_web::test]
async fn the_feeds_json_ld_totals_and_facets_of_the_other_process_follow_within_the_bound() {
    let app = TestApp::new().await;
    let (a, b) = two_servers(app.db.url(), &[]);
    let token = staff_token(&app, &a);
    let first = publish(&a, &token, "DEUX-TOUT-1");
    let id = first["id"].as_str().unwrap().to_owned();
    let slug = first["slug"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let all = Everything::of(&b, &id);
        assert_eq!(
            (all.detail.0, all.jsonld.0),
            (200, 200),
            "{}",
            all.describe()
        );
        assert_eq!((all.total(), all.facet_total()), (1, 1));
        assert!(Everything::names(&all.xml, &slug) && Everything::names(&all.atom, &slug));
    }

    // Publish: the list, the total, the facets and both feeds have the new offer.
    let second = publish(&a, &token, "DEUX-TOUT-2");
    let (id2, slug2) = (
        second["id"].as_str().unwrap().to_owned(),
        second["slug"].as_str().unwrap().to_owned(),
    );
    let took = everything_within_bound(&b, &id, "catalogue of one", |all| {
        all.total() == 2
            && all.facet_total() == 2
            && all.lists(&id2)
            && Everything::names(&all.xml, &slug2)
            && Everything::names(&all.atom, &slug2)
    });
    eprintln!("publish seen by B after {took:?}");

    // Update: the detail, the JSON-LD and both feeds carry the new title.
    let title = "Stage des deux processus";
    retitle(&a, &token, &id, title);
    let took = everything_within_bound(&b, &id, "title", |all| {
        all.detail.1["title"] == title
            && all.jsonld.1["title"] == title
            && all.xml.contains(title)
            && all.atom.contains(title)
    });
    eprintln!("retitle seen by B after {took:?}");

    // Close: still shown alone (JSON-LD says no more direct applications), no longer
    // listed, counted or in the XML feed.
    move_offer(&a, &token, &id, "close");
    let took = everything_within_bound(&b, &id, "open offer", |all| {
        all.detail.0 == 200
            && all.detail.1["accepting_applications"] == false
            && all.jsonld.1["directApply"] == false
            && !all.lists(&id)
            && all.total() == 1
            && all.facet_total() == 1
            && !Everything::names(&all.xml, &slug)
    });
    eprintln!("close seen by B after {took:?}");

    // A draft, created and deleted on A: B never shows it, before or after its delete,
    // and the public set stays as it was.
    let created = a.json(
        "POST",
        "/api/v1/staff/offers",
        Some(&token),
        &open_offer("DEUX-TOUT-3"),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let draft = created.json();
    let draft_id = draft["id"].as_str().unwrap().to_owned();
    let draft_slug = draft["slug"].as_str().unwrap_or("DEUX-TOUT-3").to_owned();
    let hidden = |all: &Everything| {
        all.detail.0 == 404
            && all.jsonld.0 == 404
            && !all.lists(&draft_id)
            && all.total() == 1
            && all.facet_total() == 1
            && !Everything::names(&all.xml, &draft_slug)
            && !Everything::names(&all.atom, &draft_slug)
            && all.lists(&id2)
    };
    everything_within_bound(&b, &draft_id, "draft", hidden);
    let etag = staff_etag(&a, &token, &draft_id);
    let deleted = request(
        a.port,
        "DELETE",
        &format!("/api/v1/staff/offers/{draft_id}"),
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("If-Match", &etag),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    everything_within_bound(&b, &draft_id, "deleted draft", hidden);
    for server in [&a, &b] {
        assert!(
            !server.log_text().contains("panicked"),
            "{}",
            server.log_text()
        );
    }
}
