//! Stores: listing, creation, renaming, deletion, and who may do each.

use serde_json::json;
use storefront::models::Role;

use crate::harness::{join_all, TestApp};

#[rocket::async_test]
async fn a_member_opens_a_store_and_becomes_its_owner() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;

    let reply =
        app.post("/api/stores").bearer(&ann.access).json(json!({"name": "  Corner Books "})).send().await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let store = reply.json();
    assert_eq!(store["name"], "Corner Books");
    assert_eq!(store["owner_id"], ann.id);
    assert_eq!(store["version"], 1);
    assert_eq!(reply.header("location"), Some(format!("/api/stores/{}", store["id"]).as_str()));
    let fetched = app.get(&format!("/api/stores/{}", store["id"])).send().await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json(), store);
}

#[rocket::async_test]
async fn anonymous_clients_cannot_create_stores() {
    let app = TestApp::new().await;
    let reply = app.post("/api/stores").json(json!({"name": "Nope"})).send().await;
    let problem = reply.problem(401);
    assert_eq!(problem["code"], "authorization_required");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer realm=\"storefront\""));
    assert_eq!(app.count("stores"), 0);
}

#[rocket::async_test]
async fn store_names_are_unique_ignoring_case_and_unicode_form() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    app.store(&ann, "Caf\u{e9} Noir").await;

    for name in ["caf\u{e9} noir", "Cafe\u{301} Noir", "  CAF\u{c9} NOIR  "] {
        let reply = app.post("/api/stores").bearer(&ann.access).json(json!({"name": name})).send().await;
        assert_eq!(reply.problem(409)["code"], "conflict", "{name}");
    }
    assert_eq!(app.count("stores"), 1);
}

#[rocket::async_test]
async fn bad_store_names_are_refused_with_the_field_named() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let cases = [
        (json!({"name": ""}), "must not be empty"),
        (json!({"name": "   "}), "must not be empty"),
        (json!({"name": "x".repeat(81)}), "must be at most 80 characters"),
        (json!({"name": "x".repeat(10_000)}), "must be at most 80 characters"),
        (json!({"name": "nul\u{0}byte"}), "must not contain control or invisible characters"),
        (json!({"name": "zero\u{200B}width"}), "must not contain control or invisible characters"),
        (json!({"name": "evil\u{202E}txt.exe"}), "must not contain control or invisible characters"),
        (json!({"name": "soft\u{00AD}hyphen"}), "must not contain control or invisible characters"),
        (json!({"name": "\u{3164}\u{2800}"}), "must not contain control or invisible characters"),
        (json!({"name": 42}), "must be a string"),
        (json!({}), "is required"),
    ];
    for (body, message) in cases {
        let reply = app.post("/api/stores").bearer(&ann.access).json(body.clone()).send().await;
        let problem = reply.problem(422);
        assert_eq!(problem["errors"]["name"], message, "{body}");
    }
    let reply =
        app.post("/api/stores").bearer(&ann.access).json(json!({"name": "A", "owner_id": 1})).send().await;
    assert_eq!(reply.problem(422)["errors"]["owner_id"], "is not a known field");
    assert_eq!(app.count("stores"), 0);
}

#[rocket::async_test]
async fn the_list_is_paginated_with_link_and_total() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    for n in 0..5 {
        app.store(&ann, &format!("Store {n}")).await;
    }

    let first = app.get("/api/stores?limit=2").send().await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-total-count"), Some("5"));
    let names: Vec<String> =
        first.json().as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["Store 0", "Store 1"]);

    let mut seen = names;
    let mut link = first.next_page();
    while let Some(url) = link {
        assert!(url.starts_with("/api/stores?limit=2&cursor="), "{url}");
        let page = app.get(&url).send().await;
        assert_eq!(page.status, 200);
        for store in page.json().as_array().unwrap() {
            seen.push(store["name"].as_str().unwrap().to_owned());
        }
        link = page.next_page();
    }
    assert_eq!(seen, ["Store 0", "Store 1", "Store 2", "Store 3", "Store 4"]);

    // A page that holds exactly the rest links to no empty page after it.
    let whole = app.get("/api/stores?limit=5").send().await;
    assert_eq!(whole.json().as_array().unwrap().len(), 5);
    assert_eq!(whole.header("link"), None);
    let store = whole.json()[0]["id"].as_i64().unwrap();
    for n in 0..3 {
        app.tag(&ann, store, &format!("t{n}")).await;
        app.item(&ann, store, &format!("i{n}"), "1.00").await;
    }
    for path in [format!("/api/stores/{store}/tags?limit=3"), format!("/api/items?store_id={store}&limit=3")]
    {
        let exact = app.get(&path).send().await;
        assert_eq!(exact.json().as_array().unwrap().len(), 3, "{path}");
        assert_eq!(exact.header("link"), None, "{path}");
        let short = app.get(&path.replace("limit=3", "limit=2")).send().await;
        assert!(short.header("link").is_some(), "{path}");
    }
}

#[rocket::async_test]
async fn reads_carry_an_etag_and_answer_304_when_unchanged() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let id = app.store(&ann, "Corner Books").await;
    let path = format!("/api/stores/{id}");

    let first = app.get(&path).send().await;
    let etag = first.header("etag").expect("an ETag").to_owned();
    let again = app.get(&path).header("If-None-Match", &etag).send().await;
    assert_eq!(again.status, 304);
    assert_eq!(again.text, "");
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    let list = app.get("/api/stores").send().await;
    let list_etag = list.header("etag").unwrap().to_owned();
    assert_eq!(app.get("/api/stores").header("If-None-Match", &list_etag).send().await.status, 304);

    app.put(&path).bearer(&ann.access).json(json!({"name": "Renamed"})).send().await;
    assert_eq!(app.get(&path).header("If-None-Match", &etag).send().await.status, 200);
    assert_eq!(app.get("/api/stores").header("If-None-Match", &list_etag).send().await.status, 200);
}

#[rocket::async_test]
async fn renaming_honours_if_match() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let id = app.store(&ann, "Old").await;
    let path = format!("/api/stores/{id}");
    let etag = app.get(&path).send().await.header("etag").unwrap().to_owned();

    let renamed = app
        .put(&path)
        .bearer(&ann.access)
        .header("If-Match", &etag)
        .json(json!({"name": "New"}))
        .send()
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json()["version"], 2);

    let stale = app
        .put(&path)
        .bearer(&ann.access)
        .header("If-Match", &etag)
        .json(json!({"name": "Newer"}))
        .send()
        .await;
    assert_eq!(stale.problem(412)["code"], "precondition_failed");
    assert_eq!(app.get(&path).send().await.json()["name"], "New");
}

#[rocket::async_test]
async fn only_the_owner_and_staff_may_rename_or_delete() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let other = app.user(Role::Member).await;
    let staff = app.user(Role::Staff).await;
    let admin = app.user(Role::Admin).await;
    let id = app.store(&owner, "Owned").await;
    let path = format!("/api/stores/{id}");

    let anonymous = app.put(&path).json(json!({"name": "x"})).send().await;
    assert_eq!(anonymous.problem(401)["code"], "authorization_required");
    let foreign = app.put(&path).bearer(&other.access).json(json!({"name": "x"})).send().await;
    assert_eq!(foreign.problem(403)["code"], "forbidden");
    for (who, name) in [(&owner, "By owner"), (&staff, "By staff"), (&admin, "By admin")] {
        let reply = app.put(&path).bearer(&who.access).json(json!({"name": name})).send().await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json()["name"], name);
    }

    assert_eq!(app.delete(&path).send().await.problem(401)["code"], "authorization_required");
    assert_eq!(app.delete(&path).bearer(&other.access).send().await.problem(403)["code"], "forbidden");
    assert_eq!(app.delete(&path).bearer(&owner.access).send().await.status, 204);
    assert_eq!(app.get(&path).send().await.problem(404)["code"], "not_found");

    for who in [&staff, &admin] {
        let id = app.store(&owner, &format!("For {}", who.email)).await;
        assert_eq!(app.delete(&format!("/api/stores/{id}")).bearer(&who.access).send().await.status, 204);
    }
}

#[rocket::async_test]
async fn an_owner_needs_a_fresh_token_to_delete_but_staff_do_not() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let id = app.store(&owner, "Keep me").await;
    let refreshed = app.post("/api/refresh").bearer(&owner.refresh).send().await.json();
    let stale_access = refreshed["access_token"].as_str().unwrap();

    let reply = app.delete(&format!("/api/stores/{id}")).bearer(stale_access).send().await;
    assert_eq!(reply.problem(401)["code"], "fresh_token_required");
    assert_eq!(app.count("stores"), 1);

    let staff = app.user(Role::Staff).await;
    let staff_refreshed = app.post("/api/refresh").bearer(&staff.refresh).send().await.json();
    let reply = app
        .delete(&format!("/api/stores/{id}"))
        .bearer(staff_refreshed["access_token"].as_str().unwrap())
        .send()
        .await;
    assert_eq!(reply.status, 204);
}

#[rocket::async_test]
async fn deleting_a_store_leaves_no_orphans() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let doomed = app.store(&owner, "Doomed").await;
    let kept = app.store(&owner, "Kept").await;
    for store in [doomed, kept] {
        let tags = [app.tag(&owner, store, "a").await, app.tag(&owner, store, "b").await];
        for n in 0..3 {
            let item = app.item(&owner, store, &format!("Item {n}"), "1.00").await;
            app.link(&owner, item, &tags).await;
        }
    }
    assert_eq!((app.count("items"), app.count("tags"), app.count("item_tags")), (6, 4, 12));

    let reply = app.delete(&format!("/api/stores/{doomed}")).bearer(&owner.access).send().await;

    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(
        (app.count("stores"), app.count("items"), app.count("tags"), app.count("item_tags")),
        (1, 3, 2, 6)
    );
    let orphans = app.get(&format!("/api/items?store_id={doomed}")).send().await;
    assert_eq!(orphans.header("x-total-count"), Some("0"));
}

#[rocket::async_test]
async fn fifty_parallel_creates_of_one_name_give_one_store() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;

    let requests =
        (0..50).map(|_| app.post("/api/stores").bearer(&ann.access).json(json!({"name": "Same"})).send());
    let replies = join_all(requests).await;

    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!((created, conflicts), (1, 49), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(app.count("stores"), 1);
}

#[rocket::async_test]
async fn parallel_puts_with_one_if_match_give_one_success() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let id = app.store(&ann, "Contended").await;
    let path = format!("/api/stores/{id}");
    let etag = app.get(&path).send().await.header("etag").unwrap().to_owned();

    let requests = (0..20).map(|n| {
        app.put(&path)
            .bearer(&ann.access)
            .header("If-Match", &etag)
            .json(json!({"name": format!("Writer {n}")}))
            .send()
    });
    let replies = join_all(requests).await;

    let ok = replies.iter().filter(|r| r.status == 200).count();
    let stale = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!((ok, stale), (1, 19));
    assert_eq!(app.get(&path).send().await.json()["version"], 2);
}

#[rocket::async_test]
async fn every_change_is_audited_with_actor_and_fields() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let id = app.store(&ann, "Before").await;
    app.put(&format!("/api/stores/{id}")).bearer(&ann.access).json(json!({"name": "After"})).send().await;

    use diesel::prelude::*;
    use storefront::schema::audit_log;
    let rows: Vec<(Option<i64>, String, String, String, serde_json::Value)> = audit_log::table
        .filter(audit_log::entity.eq("store"))
        .order(audit_log::id)
        .select((
            audit_log::actor_id,
            audit_log::via,
            audit_log::action,
            audit_log::entity,
            audit_log::changes,
        ))
        .load(&mut app.conn())
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, Some(ann.id));
    assert_eq!((rows[0].1.as_str(), rows[0].2.as_str()), ("api", "create"));
    assert_eq!(rows[1].2, "update");
    assert_eq!(rows[1].4, json!({"name": {"from": "Before", "to": "After"}}));
}
