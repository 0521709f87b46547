//! The public catalogue: visibility, French search, filters, sorting, keyset pages, facets,
//! counts that follow changes, ETags. Runs on the demo data.

use crate::support::{open_offer, TestApp};
use passerelle::auth::Role;
use serde_json::{json, Value};
use std::collections::HashSet;

const DEMO: &str = include_str!("../../demo/offers.json");

async fn seeded() -> (TestApp, String) {
    let app = TestApp::new().await;
    passerelle::demo::seed(&mut app.db.connect(), false, app.state.calendar()).unwrap();
    let (_, token) = app.token_for(Role::Manager).await;
    (app, token)
}

/// The demo offers the seed publishes (the fixture too), as written.
fn published_demo() -> Vec<Value> {
    let mut all: Vec<Value> = serde_json::from_str(DEMO).unwrap();
    all.retain(|o| o["demo_status"] == "published");
    all.push(crate::support::fixture_offer());
    all
}

fn refs(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap().to_owned())
        .collect()
}

async fn all_pages(app: &TestApp, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/offers?limit=3&{query}");
    loop {
        let res = app.get(&path, None).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let body = res.json();
        seen.extend(refs(&body));
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/offers?limit=3&{query}&cursor={c}"),
            None => return seen,
        }
    }
}

#[actix_web::test]
async fn only_published_offers_are_listed_and_closed_ones_can_still_be_read() {
    let (app, token) = seeded().await;
    let body = app.get("/api/v1/offers?limit=100", None).await.json();
    let expected: HashSet<String> = published_demo()
        .iter()
        .map(|o| o["reference"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(refs(&body).into_iter().collect::<HashSet<_>>(), expected);
    assert_eq!(body["total"], expected.len());
    let first = &body["items"][0];
    assert_eq!(first["accepting_applications"], true);
    for hidden in [
        "created_by",
        "updated_by",
        "first_published_at",
        "search",
        "status_history",
    ] {
        assert!(first.get(hidden).is_none(), "{hidden} leaked");
    }

    let staff = app
        .get("/api/v1/staff/offers?limit=100", Some(&token))
        .await
        .json();
    let by_status = |s: &str| -> Vec<Value> {
        staff["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["status"] == s)
            .cloned()
            .collect()
    };
    for draft in by_status("draft") {
        app.get(
            &format!("/api/v1/offers/{}", draft["id"].as_str().unwrap()),
            None,
        )
        .await
        .assert_problem(404, "not_found");
        app.get(
            &format!("/api/v1/offers/{}", draft["slug"].as_str().unwrap()),
            None,
        )
        .await
        .assert_problem(404, "not_found");
    }
    let closed = &by_status("closed")[0];
    let res = app
        .get(
            &format!("/api/v1/offers/{}", closed["slug"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["status"], "closed");
    assert_eq!(body["accepting_applications"], false);
    assert!(body.get("created_by").is_none() && body.get("updated_at").is_none());

    // Archived: gone from the public site.
    let id = closed["id"].as_str().unwrap();
    let etag = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(&token))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let res = app
        .post_if_match(
            &format!("/api/v1/staff/offers/{id}/archive"),
            &token,
            &etag,
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200);
    app.get(&format!("/api/v1/offers/{id}"), None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn search_ignores_accents_and_case_and_matches_word_forms() {
    let (app, _) = seeded().await;
    let search = |q: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/offers?limit=100&q={q}"), None)
                .await
                .json()
        }
    };
    let found = search("cooperation").await;
    assert!(
        refs(&found).contains(&"VDG-VO-2026-007".to_owned()),
        "{found}"
    );
    let upper = search("COOP%C3%89RATION").await;
    assert_eq!(refs(&upper), refs(&found));

    // "cultures" finds offers that only say "culture", and the other way round.
    let plural = search("cultures").await;
    let singular = search("culture").await;
    assert!(!refs(&plural).is_empty());
    assert_eq!(
        refs(&plural).into_iter().collect::<HashSet<_>>(),
        refs(&singular).into_iter().collect::<HashSet<_>>()
    );

    let accents = search("biodiversite").await;
    assert!(accents["total"].as_i64().unwrap() >= 1);
    for item in accents["items"].as_array().unwrap() {
        assert_eq!(item["accepting_applications"], true);
    }
    assert_eq!(search("zzzzinexistant").await["total"], 0);

    // Relevance: an offer with the word in its title comes before one with it in the text.
    let ranked = app
        .get(
            "/api/v1/offers?limit=100&q=coop%C3%A9ration&sort=relevance",
            None,
        )
        .await
        .json();
    assert_eq!(
        ranked["items"][0]["reference"], "VDG-VO-2026-007",
        "{ranked}"
    );
}

#[actix_web::test]
async fn every_filter_keeps_exactly_the_matching_offers() {
    let (app, _) = seeded().await;
    let published = published_demo();
    let expect = |pred: &dyn Fn(&Value) -> bool| -> HashSet<String> {
        published
            .iter()
            .filter(|o| pred(o))
            .map(|o| o["reference"].as_str().unwrap().to_owned())
            .collect()
    };
    let has = |list: &Value, key: &str, value: &str| {
        list.as_array().unwrap().iter().any(|i| i[key] == value)
    };
    let cases: Vec<(&str, HashSet<String>)> = vec![
        (
            "department=Direction%20de%20la%20Culture",
            expect(&|o| o["department"] == "Direction de la Culture"),
        ),
        ("paid=false", expect(&|o| o["contract"]["paid"] == false)),
        (
            "remote=partial",
            expect(&|o| o["contract"]["remote"] == "partial"),
        ),
        (
            "education_level=master_2",
            expect(&|o| has(&o["requirements"]["education_levels"], "level", "master_2")),
        ),
        (
            "language=es",
            expect(&|o| has(&o["requirements"]["languages"], "code", "es")),
        ),
        (
            "field=informatique",
            expect(&|o| {
                has(
                    &o["requirements"]["fields_of_study"],
                    "name",
                    "informatique",
                )
            }),
        ),
        (
            "duration_max_months=2",
            expect(&|o| o["contract"]["duration_months_min"].as_i64().unwrap() <= 2),
        ),
        (
            "tag=Maghreb",
            expect(&|o| o["tags"].as_array().unwrap().iter().any(|t| t == "Maghreb")),
        ),
        (
            "paid=true&remote=none",
            expect(&|o| o["contract"]["paid"] == true && o["contract"]["remote"] == "none"),
        ),
    ];
    for (query, expected) in cases {
        let got: HashSet<String> = all_pages(&app, query).await.into_iter().collect();
        assert_eq!(got, expected, "filter {query}");
        let total = app
            .get(&format!("/api/v1/offers?{query}"), None)
            .await
            .json()["total"]
            .as_u64()
            .unwrap();
        assert_eq!(total as usize, expected.len(), "total for {query}");
    }
    // Start-date filters are relative to the seed's moved dates: check them on the bodies.
    let all = app.get("/api/v1/offers?limit=100", None).await.json();
    let mut starts: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contract"]["starts_from"].as_str().unwrap().to_owned())
        .collect();
    starts.sort();
    let middle = &starts[starts.len() / 2];
    let from = app
        .get(
            &format!("/api/v1/offers?limit=100&starts_from={middle}"),
            None,
        )
        .await
        .json();
    let until = app
        .get(
            &format!("/api/v1/offers?limit=100&starts_until={middle}"),
            None,
        )
        .await
        .json();
    assert_eq!(
        from["total"].as_u64().unwrap() as usize,
        starts.iter().filter(|s| *s >= middle).count()
    );
    assert_eq!(
        until["total"].as_u64().unwrap() as usize,
        starts.iter().filter(|s| *s <= middle).count()
    );
}

#[actix_web::test]
async fn invalid_filter_values_are_422_not_empty_lists() {
    let (app, _) = seeded().await;
    for (query, field) in [
        ("paid=maybe", "paid"),
        ("starts_from=2026-13-01", "starts_from"),
        ("starts_until=tomorrow", "starts_until"),
        ("duration_max_months=9", "duration_max_months"),
        ("duration_max_months=two", "duration_max_months"),
        ("education_level=phd", "education_level"),
        ("language=english", "language"),
        ("remote=sometimes", "remote"),
        ("sort=price", "sort"),
        ("sort=relevance", "sort"),
        ("facets=yes", "facets"),
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let body = app
            .get(&format!("/api/v1/offers?{query}"), None)
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    let long = "a".repeat(201);
    app.get(&format!("/api/v1/offers?q={long}"), None)
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/offers?limit=x", None)
        .await
        .assert_problem(422, "invalid_query");
    // Every bad field is listed at once, with its code.
    let body = app
        .get(
            &format!(
                "/api/v1/offers?paid=maybe&sort=relevance&language=english&department={}\
                 &facets=yes",
                "d".repeat(201)
            ),
            None,
        )
        .await
        .assert_problem(422, "validation_failed");
    let mut found: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().into(),
                e["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    found.sort();
    let expected = [
        ("department", "too_long"),
        ("facets", "invalid_boolean"),
        ("language", "invalid_language"),
        ("paid", "invalid_boolean"),
        ("sort", "needs_q"),
    ];
    assert_eq!(
        found,
        expected.map(|(f, c)| (f.to_owned(), c.to_owned())),
        "{body}"
    );
    // A filter given twice is refused, not decided by whichever comes last.
    let body = app
        .get("/api/v1/offers?remote=full&remote=none", None)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "remote", "{body}");
    assert_eq!(body["errors"][0]["code"], "duplicate", "{body}");
    // A blank value is no filter, as a browser's empty input sends it.
    assert_eq!(
        app.get("/api/v1/offers?paid=&remote=", None).await.status,
        200
    );
    // A cursor of one sort is refused by another.
    let first = app.get("/api/v1/offers?limit=2", None).await.json();
    let cursor = first["next_cursor"].as_str().unwrap();
    app.get(
        &format!("/api/v1/offers?limit=2&sort=application_deadline&cursor={cursor}"),
        None,
    )
    .await
    .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn pages_have_no_gaps_or_duplicates_while_offers_are_published_between_fetches() {
    let (app, token) = seeded().await;
    let before: HashSet<String> = published_demo()
        .iter()
        .map(|o| o["reference"].as_str().unwrap().to_owned())
        .collect();
    for sort in ["-published_at", "application_deadline"] {
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/offers?limit=3&sort={sort}");
        let mut n = 0;
        loop {
            let res = app.get(&path, None).await;
            let body = res.json();
            seen.extend(refs(&body));
            let Some(cursor) = body["next_cursor"].as_str() else {
                break;
            };
            assert!(res.header("link").unwrap().contains(cursor));
            // Someone publishes an offer while the visitor reads.
            n += 1;
            let mut extra = open_offer(&format!("VDG-NEW-{sort}-{n}"));
            extra["application"]["deadline"] = json!("2099-12-31");
            extra["contract"]["starts_from"] = json!("2100-01-01");
            extra["contract"]["ends_by"] = json!("2100-06-30");
            app.publish_new_offer(&token, extra).await;
            path = format!("/api/v1/offers?limit=3&sort={sort}&cursor={cursor}");
        }
        let unique: HashSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "duplicates with {sort}: {seen:?}");
        let missing: Vec<_> = before.difference(&unique).collect();
        assert!(missing.is_empty(), "gaps with {sort}: {missing:?}");
    }
    // Deadline order really is by deadline.
    let deadlines: Vec<String> = app
        .get("/api/v1/offers?limit=100&sort=application_deadline", None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["application"]["deadline"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = deadlines.clone();
    sorted.sort();
    assert_eq!(deadlines, sorted);
    // Relevance pages too.
    let ranked = all_pages(&app, "q=stage&sort=relevance").await;
    let unique: HashSet<_> = ranked.iter().collect();
    assert_eq!(unique.len(), ranked.len());
    assert_eq!(
        ranked.len() as u64,
        app.get("/api/v1/offers?q=stage", None).await.json()["total"]
            .as_u64()
            .unwrap()
    );
}

#[actix_web::test]
async fn totals_and_facets_follow_every_change() {
    let (app, token) = seeded().await;
    let total = |body: &Value| body["total"].as_i64().unwrap();
    let first = app
        .get("/api/v1/offers?limit=2&facets=true", None)
        .await
        .json();
    let n = total(&first);
    let facets = &first["facets"];
    let sum = |name: &str| {
        facets[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["count"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(sum("department"), n);
    assert_eq!(sum("paid"), n);
    assert_eq!(sum("duration"), n);
    assert!(sum("education_level") >= n / 2);
    let culture = facets["department"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["value"] == "Direction de la Culture")
        .unwrap();
    assert_eq!(
        culture["count"],
        app.get(
            "/api/v1/offers?department=Direction%20de%20la%20Culture",
            None
        )
        .await
        .json()["total"]
    );
    assert!(app
        .get("/api/v1/offers?limit=2", None)
        .await
        .json()
        .get("facets")
        .is_none());

    let published = app.publish_new_offer(&token, open_offer("VDG-T-10")).await;
    let after = app
        .get("/api/v1/offers?limit=2&facets=true", None)
        .await
        .json();
    assert_eq!(total(&after), n + 1, "the count moved with the catalogue");
    assert_eq!(
        after["facets"]["department"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["count"].as_i64().unwrap())
            .sum::<i64>(),
        n + 1
    );

    let id = published["id"].as_str().unwrap();
    let etag = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(&token))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    app.post_if_match(
        &format!("/api/v1/staff/offers/{id}/close"),
        &token,
        &etag,
        json!({}),
    )
    .await;
    assert_eq!(
        total(&app.get("/api/v1/offers?limit=2", None).await.json()),
        n
    );
}

#[actix_web::test]
async fn a_public_offer_has_a_strong_etag_and_cache_headers() {
    let (app, _) = seeded().await;
    let list = app.get("/api/v1/offers?limit=1", None).await.json();
    let slug = list["items"][0]["slug"].as_str().unwrap();
    let res = app.get(&format!("/api/v1/offers/{slug}"), None).await;
    assert_eq!(res.status, 200);
    assert!(res.header("cache-control").unwrap().starts_with("public"));
    let etag = res.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"));
    let again = app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&format!("/api/v1/offers/{slug}"))
                .insert_header(("If-None-Match", etag.clone())),
        )
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    // Behind nginx's gzip or a CDN the tag comes back weak: If-None-Match compares weakly.
    let weakened = app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&format!("/api/v1/offers/{slug}"))
                .insert_header(("If-None-Match", format!("W/{etag}"))),
        )
        .await;
    assert_eq!(weakened.status, 304);
    let other = app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&format!("/api/v1/offers/{slug}"))
                .insert_header(("If-None-Match", "\"other\"")),
        )
        .await;
    assert_eq!(other.status, 200);
    app.get(&format!("/api/v1/offers/{}", uuid::Uuid::new_v4()), None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn seeding_twice_changes_nothing() {
    let (app, token) = seeded().await;
    let before = app
        .get("/api/v1/staff/offers?limit=100", Some(&token))
        .await
        .json();
    passerelle::demo::seed(&mut app.db.connect(), false, app.state.calendar()).unwrap();
    let after = app
        .get("/api/v1/staff/offers?limit=100", Some(&token))
        .await
        .json();
    assert_eq!(before["total"], after["total"]);
    assert_eq!(before["total"], 15);
}

/// Offers that mention "carillon" in their title (`T…`) or only in their text (`B…`).
async fn carillon_offers(app: &TestApp, token: &str) -> Vec<(String, Value)> {
    let mut published = Vec::new();
    // Oldest first: the title matches are older than the text-only ones, so only the rank
    // can put them first; T2 and T3 share a publication instant (the id breaks that tie).
    for (reference, in_title, advance) in [
        ("VDG-T1", true, 1),
        ("VDG-T2", true, 1),
        ("VDG-T3", true, 0),
        ("VDG-B1", false, 1),
        ("VDG-B2", false, 1),
        ("VDG-B3", false, 0),
        ("VDG-B4", false, 1),
    ] {
        app.clock.advance(chrono::Duration::seconds(advance));
        let mut offer = open_offer(reference);
        if in_title {
            offer["title"] = json!("Stage – Carillon municipal");
        } else {
            offer["title"] = json!("Stage – Accueil des publics");
            // Many times in the text: a whole-document rank could prefer it to a title.
            offer["summary"] = json!("Le carillon, le carillon et encore le carillon.");
            offer["context"] = json!("Le carillon de l'hôtel de ville sonne : carillon.");
        }
        let body = app.publish_new_offer(token, offer).await;
        published.push((reference.to_owned(), body));
    }
    published
}

#[actix_web::test]
async fn relevance_puts_title_matches_first_then_the_newest() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    let published = carillon_offers(&app, &token).await;
    let ranked = app
        .get("/api/v1/offers?limit=100&q=carillon&sort=relevance", None)
        .await
        .json();
    let order = refs(&ranked);
    assert_eq!(order.len(), 7, "{ranked}");
    let titles: HashSet<&str> = order[..3].iter().map(String::as_str).collect();
    assert_eq!(
        titles,
        HashSet::from(["VDG-T1", "VDG-T2", "VDG-T3"]),
        "{order:?}"
    );
    // Equal ranks come newest first (T2 and T3 were published together: by id, descending).
    let id = |r: &str| {
        published.iter().find(|(p, _)| p == r).unwrap().1["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (t2, t3) = if id("VDG-T2") > id("VDG-T3") {
        ("VDG-T2", "VDG-T3")
    } else {
        ("VDG-T3", "VDG-T2")
    };
    assert_eq!(order[..3], [t2, t3, "VDG-T1"], "{order:?}");
    let (b2, b3) = if id("VDG-B2") > id("VDG-B3") {
        ("VDG-B2", "VDG-B3")
    } else {
        ("VDG-B3", "VDG-B2")
    };
    assert_eq!(order[3..], ["VDG-B4", b2, b3, "VDG-B1"], "{order:?}");
    // The default sort of the same search is newest first: the text-only offers lead.
    let newest = refs(
        &app.get("/api/v1/offers?limit=100&q=carillon", None)
            .await
            .json(),
    );
    assert_eq!(newest[0], "VDG-B4", "{newest:?}");
    // What is filtered is still the whole document: a word of the missions finds them all.
    let body_word = app
        .get(
            "/api/v1/offers?limit=100&q=Bethl%C3%A9em&sort=relevance",
            None,
        )
        .await
        .json();
    assert_eq!(body_word["total"], 7, "{body_word}");
}

#[actix_web::test]
async fn relevance_pages_have_no_gaps_or_duplicates_even_across_ties() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    carillon_offers(&app, &token).await;
    for limit in [1, 2, 3] {
        let whole = refs(
            &app.get("/api/v1/offers?limit=100&q=carillon&sort=relevance", None)
                .await
                .json(),
        );
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/offers?limit={limit}&q=carillon&sort=relevance");
        let mut n = 0;
        loop {
            let res = app.get(&path, None).await;
            assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
            let body = res.json();
            assert_eq!(body["total"], whole.len() + n, "{body}");
            seen.extend(refs(&body));
            let Some(cursor) = body["next_cursor"].as_str() else {
                break;
            };
            // Matches are published while the visitor reads: in a title and in the text.
            n += 1;
            app.clock.advance(chrono::Duration::seconds(1));
            let mut extra = open_offer(&format!("VDG-NEW-{limit}-{n}"));
            extra["title"] = json!(if n % 2 == 0 {
                "Stage – Carillon municipal"
            } else {
                "Stage – Le carillon"
            });
            app.publish_new_offer(&token, extra).await;
            path =
                format!("/api/v1/offers?limit={limit}&q=carillon&sort=relevance&cursor={cursor}");
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "duplicates at limit {limit}: {seen:?}"
        );
        let kept: Vec<&String> = seen.iter().filter(|r| whole.contains(r)).collect();
        assert_eq!(
            kept,
            whole.iter().collect::<Vec<_>>(),
            "gaps or another order at limit {limit}"
        );
    }
}

#[actix_web::test]
async fn relevance_cursors_are_checked() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    carillon_offers(&app, &token).await;
    let first = app
        .get("/api/v1/offers?limit=2&q=carillon&sort=relevance", None)
        .await
        .json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    // Another sort refuses it, relevance without q too.
    for query in [
        format!("q=carillon&cursor={cursor}"),
        format!("q=carillon&sort=application_deadline&cursor={cursor}"),
        format!("sort=relevance&cursor={cursor}"),
    ] {
        app.get(&format!("/api/v1/offers?limit=2&{query}"), None)
            .await
            .assert_problem(422, "validation_failed");
    }
    // The format from before the tie-break date, a bad date, and garbage are refused.
    let id = uuid::Uuid::new_v4();
    for text in [
        format!("r|{}|{id}", 0.5f32.to_bits()),
        format!("r|{}|soon|{id}", 0.5f32.to_bits()),
        format!("r|nan|1764590400123456|{id}"),
    ] {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        let body = app
            .get(
                &format!("/api/v1/offers?limit=2&q=carillon&sort=relevance&cursor={raw}"),
                None,
            )
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["field"], "cursor", "{body}");
    }
}
