//! The snapshot and the change feed: order, tombstones, resumption from any cursor,
//! transactions committing out of order, empty pages, and cursors after a restore.

use super::*;

#[actix_web::test]
async fn the_snapshot_lists_every_public_offer_once_and_hands_over_to_the_feed() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let mut published = Vec::new();
    for n in 0..5 {
        published.push(id_of(
            &app.publish_new_offer(&manager, open_offer(&format!("SNAP-{n}")))
                .await,
        ));
    }
    app.create_offer(&manager, open_offer("SNAP-DRAFT")).await;
    let closed = id_of(
        &app.publish_new_offer(&manager, open_offer("SNAP-CLOSED"))
            .await,
    );
    move_offer(&app, &manager, &closed, "close").await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/partner/offers?limit=2".to_owned();
    let mut changes_cursor = None;
    loop {
        let res = app.get(&path, Some(&key)).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let body = res.json();
        assert_eq!(body["total"], 5);
        changes_cursor.get_or_insert(body["changes_cursor"].as_str().unwrap().to_owned());
        for item in body["items"].as_array().unwrap() {
            assert_eq!(item["status"], "published");
            assert!(item["contact"]["email"].is_string() && item["missions"].is_array());
            for hidden in ["created_by", "updated_by", "version", "search"] {
                assert!(item.get(hidden).is_none(), "{hidden} leaked");
            }
            seen.push(id_of(item));
        }
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert!(res.header("link").unwrap().contains("rel=\"next\""));
                path = format!("/api/v1/partner/offers?limit=2&cursor={c}");
            }
            None => break,
        }
    }
    let mut expected = published.clone();
    expected.sort();
    assert_eq!(
        seen, expected,
        "each public offer exactly once, in a stable order"
    );

    // What changes after the snapshot comes through the feed from its cursor.
    move_offer(&app, &manager, &published[0], "close").await;
    let closed_first = (
        "tombstone".to_owned(),
        published[0].clone(),
        "closed".to_owned(),
    );
    let (items, _) = follow_until(&app, &key, changes_cursor, |items| {
        summary(items).contains(&closed_first)
    })
    .await;
    assert_eq!(summary(&items).last().unwrap(), &closed_first);

    app.get("/api/v1/partner/offers?cursor=garbage", Some(&key))
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/partner/offers?limit=0", Some(&key))
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn the_change_feed_gives_every_change_in_order_with_tombstones() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let a = id_of(&app.publish_new_offer(&manager, open_offer("FEED-A")).await);
    let b = id_of(&app.publish_new_offer(&manager, open_offer("FEED-B")).await);
    let (draft, _) = app.create_offer(&manager, open_offer("FEED-DRAFT")).await;
    patch_offer(&app, &manager, &id_of(&draft), json!({"positions": 3})).await;
    patch_offer(&app, &manager, &a, json!({"positions": 2})).await;
    move_offer(&app, &manager, &b, "close").await;
    move_offer(&app, &manager, &b, "archive").await;
    // Writes outside the API are in the feed too: the trigger sees every write path.
    let c = id_of(&app.publish_new_offer(&manager, open_offer("FEED-C")).await);
    let d = id_of(&app.publish_new_offer(&manager, open_offer("FEED-D")).await);
    let mut conn = app.db.connect();
    sql_query(format!(
        "UPDATE offers SET status = 'draft', published_at = NULL WHERE id = '{c}'"
    ))
    .execute(&mut conn)
    .unwrap();
    sql_query(format!("DELETE FROM offers WHERE id = '{d}'"))
        .execute(&mut conn)
        .unwrap();

    let (items, _) = follow(&app, &key, None, 8).await;
    let s = |k: &str, id: &str, r: &str| (k.to_owned(), id.to_owned(), r.to_owned());
    // Upserts show the offer as it is now: an offer gone since shows as its tombstone.
    assert_eq!(
        summary(&items),
        vec![
            s("upsert", &a, ""),
            s("tombstone", &b, "archived"),
            s("upsert", &a, ""),
            s("tombstone", &b, "closed"),
            s("tombstone", &c, "unpublished"),
            s("tombstone", &d, "deleted"),
            s("tombstone", &c, "unpublished"),
            s("tombstone", &d, "deleted"),
        ]
    );
    // The draft never appears; the upserts carry the whole public offer, current.
    assert!(!summary(&items)
        .iter()
        .any(|(_, id, _)| id == &id_of(&draft)));
    assert_eq!(items[0]["offer"]["positions"], 2);
    assert_eq!(items[0]["offer"]["reference"], "FEED-A");
    assert!(items[0]["offer"].get("created_by").is_none());
    assert!(items[0]["changed_at"].is_string());
}

#[actix_web::test]
async fn the_feed_resumes_from_any_cursor_and_an_empty_page_keeps_it() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(id_of(
            &app.publish_new_offer(&manager, open_offer(&format!("RES-{n}")))
                .await,
        ));
    }
    move_offer(&app, &manager, &ids[1], "close").await;
    let (all, end) = follow(&app, &key, None, 5).await;
    let all = summary(&all);

    // Page by page with limit=1, keeping every cursor.
    let mut cursors = vec![None];
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let body = app
            .get(&changes_path(cursor.as_deref(), 1), Some(&key))
            .await
            .json();
        assert_eq!(body["items"].as_array().unwrap().len(), 1);
        cursor = Some(body["next_cursor"].as_str().unwrap().to_owned());
        cursors.push(cursor.clone());
    }
    assert_eq!(cursor.as_deref(), Some(end.as_str()));
    // From each cursor, exactly the rest.
    for (n, c) in cursors.iter().enumerate() {
        let (rest, _) = follow(&app, &key, c.clone(), 5 - n).await;
        assert_eq!(summary(&rest), all[n..].to_vec(), "from cursor {n}");
    }

    // At the end: an empty page, the same cursor, the same ETag, and 304 for it.
    let res = app.get(&changes_path(Some(&end), 20), Some(&key)).await;
    let body = res.json();
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["next_cursor"], end.as_str());
    assert_eq!(body["has_more"], false);
    let etag = res.header("etag").unwrap().to_owned();
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri(&changes_path(Some(&end), 20))
                .insert_header(("Authorization", format!("Bearer {key}")))
                .insert_header(("If-None-Match", etag.clone())),
        )
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    // Once something changes, the same request is a 200 with it.
    move_offer(&app, &manager, &ids[0], "close").await;
    let (next, _) = follow(&app, &key, Some(end.clone()), 1).await;
    assert_eq!(
        summary(&next),
        vec![("tombstone".to_owned(), ids[0].clone(), "closed".to_owned())]
    );

    // The snapshot has ETags too.
    let snap = app.get("/api/v1/partner/offers", Some(&key)).await;
    let etag = snap.header("etag").unwrap().to_owned();
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri("/api/v1/partner/offers")
                .insert_header(("Authorization", format!("Bearer {key}")))
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);

    for bad in ["garbage", "YzF8eHwx", "%00"] {
        app.get(&changes_path(Some(bad), 20), Some(&key))
            .await
            .assert_problem(422, "validation_failed");
    }
    app.get("/api/v1/partner/offers/changes?limit=500", Some(&key))
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn a_transaction_that_started_first_but_commits_last_is_not_skipped() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let a = id_of(&app.publish_new_offer(&manager, open_offer("TX-A")).await);
    let b = id_of(&app.publish_new_offer(&manager, open_offer("TX-B")).await);
    let (_, cursor) = follow(&app, &key, None, 2).await;

    // Today the catalogue-version row happens to serialise writers of offers; drop its trigger
    // in this test's database so that what is tested is the feed's own guarantee.
    let mut setup = app.db.connect();
    sql_query("DROP TRIGGER offers_bump_catalog_version ON offers")
        .execute(&mut setup)
        .unwrap();

    let bump = |id: &str| {
        format!("UPDATE offers SET positions = positions + 1, version = version + 1, updated_at = now() WHERE id = '{id}'")
    };
    // T1 starts and writes first...
    let mut t1 = app.db.connect();
    sql_query("BEGIN").execute(&mut t1).unwrap();
    sql_query(bump(&a)).execute(&mut t1).unwrap();
    // ...T2 starts later, writes, and commits first.
    let mut t2 = app.db.connect();
    sql_query("BEGIN").execute(&mut t2).unwrap();
    sql_query(bump(&b)).execute(&mut t2).unwrap();
    sql_query("COMMIT").execute(&mut t2).unwrap();

    // A feed ordered by sequence alone would now hand out B's change, and its cursor would
    // pass over A's, which has the smaller sequence but is not committed yet.
    // The reader gets nothing yet: B waits for the older T1.
    let body = app
        .get(&changes_path(Some(&cursor), 20), Some(&key))
        .await
        .json();
    assert_eq!(
        body["items"],
        json!([]),
        "B was served before the older T1 ended"
    );
    assert_eq!(body["next_cursor"], cursor.as_str());

    sql_query("COMMIT").execute(&mut t1).unwrap();
    // A's change has the smaller sequence: a cursor by sequence alone, handed out after B's
    // change, would have passed over it.
    use passerelle::db::schema::offer_changes;
    let last_two: Vec<(i64, uuid::Uuid)> = offer_changes::table
        .select((offer_changes::seq, offer_changes::offer_id))
        .order(offer_changes::seq.desc())
        .limit(2)
        .load(&mut setup)
        .unwrap();
    assert_eq!(
        last_two
            .iter()
            .map(|(_, id)| id.to_string())
            .collect::<Vec<_>>(),
        vec![b.clone(), a.clone()]
    );
    // From the same cursor: A's change, then B's. Nothing skipped.
    let (items, _) = follow(&app, &key, Some(cursor), 2).await;
    assert_eq!(
        summary(&items),
        vec![
            ("upsert".to_owned(), a.clone(), String::new()),
            ("upsert".to_owned(), b.clone(), String::new())
        ]
    );
    assert_eq!(items[0]["offer"]["positions"], 2);
    assert_eq!(items[1]["offer"]["positions"], 2);
}

// --- publication formats ----------------------------------------------------------------------

/// A dump restored into another PostgreSQL cluster keeps the feed's rows and their old
/// transaction ids, and partners keep their cursors: on the new cluster both are ahead of the
/// transaction counter. Here the restore is played by moving every id a billion ahead.
#[actix_web::test]
async fn after_a_restore_into_another_cluster_old_cursors_get_410_and_the_feed_is_repaired() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let a = id_of(
        &app.publish_new_offer(&manager, open_offer("RESTORE-A"))
            .await,
    );
    let (items, _) = follow(&app, &key, None, 1).await;
    assert_eq!(
        summary(&items),
        vec![("upsert".into(), a.clone(), "".into())]
    );

    // The old cluster was a billion transactions ahead; a partner followed it to the end.
    let mut conn = app.db.connect();
    sql_query("UPDATE offer_changes SET xact_id = xact_id + 1000000000")
        .execute(&mut conn)
        .unwrap();
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        xact_id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
    }
    let last: Last =
        sql_query("SELECT xact_id, seq FROM offer_changes ORDER BY xact_id DESC, seq DESC LIMIT 1")
            .get_result(&mut conn)
            .unwrap();
    let old_cursor = passerelle::partners::sync::FeedCursor {
        xact_id: last.xact_id,
        seq: last.seq,
    }
    .encode();

    // Before the repair, the restored rows are hidden from a partner starting over...
    let fresh = app.get(&changes_path(None, 100), Some(&key)).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.json()["items"], json!([]));
    // ...and the old cursor is refused with what to do, not answered with an empty page.
    let res = app
        .get(&changes_path(Some(&old_cursor), 100), Some(&key))
        .await;
    let problem = res.assert_problem(410, "cursor_expired");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("/api/v1/partner/offers"));

    // Every start (serve's migrator, `passerelle migrate`) repairs the feed.
    let (ok, out, err) = crate::process::run_cli(app.db.url(), &["migrate"], None);
    assert!(ok, "{out}{err}");
    assert!(err.contains("change feed: 1 change(s)"), "{err}");
    let (items, cursor) = follow(&app, &key, None, 1).await;
    assert_eq!(
        summary(&items),
        vec![("upsert".into(), a.clone(), "".into())]
    );
    // New changes come after the restored ones, and the old cursor stays refused.
    move_offer(&app, &manager, &a, "close").await;
    let (items, _) = follow(&app, &key, Some(cursor), 1).await;
    assert_eq!(
        summary(&items),
        vec![("tombstone".into(), a, "closed".into())]
    );
    app.get(&changes_path(Some(&old_cursor), 100), Some(&key))
        .await
        .assert_problem(410, "cursor_expired");
    // A second start finds nothing to move.
    let (ok, _, err) = crate::process::run_cli(app.db.url(), &["migrate"], None);
    assert!(ok && !err.contains("change feed"), "{err}");
}
