//! Items: exact prices, partial updates, filters, sorting and pagination.

use serde_json::{json, Value};
use storefront::models::Role;

use crate::harness::{join_all, TestApp, TestUser};

async fn shop(app: &TestApp) -> (TestUser, i64) {
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    (owner, store)
}

fn names(reply: &crate::harness::Reply) -> Vec<String> {
    reply.json().as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
}

#[rocket::async_test]
async fn an_item_is_created_and_read_back_with_store_and_tags() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let body = json!({"name": "Dune", "price": 9.99, "store_id": store, "description": "A novel."});

    let reply = app.post("/api/items").bearer(&owner.access).json(body).send().await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let item = reply.json();
    assert_eq!(reply.header("location"), Some(format!("/api/items/{}", item["id"]).as_str()));
    assert_eq!(item["name"], "Dune");
    assert_eq!(item["description"], "A novel.");
    assert_eq!(item["store"], json!({"id": store, "name": "Shop"}));
    assert_eq!(item["tags"], json!([]));
    assert!(reply.text.contains("\"price\":9.99"), "{}", reply.text);

    let tag = app.tag(&owner, store, "fiction").await;
    app.link(&owner, item["id"].as_i64().unwrap(), &[tag]).await;
    let read = app.get(&format!("/api/items/{}", item["id"])).send().await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["tags"], json!([{"id": tag, "name": "fiction"}]));
}

#[rocket::async_test]
async fn prices_are_exact_decimals() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let accepted = [
        (json!(0), "0.00"),
        (json!(12.5), "12.50"),
        (json!("12.5"), "12.50"),
        (json!("0.10"), "0.10"),
        (json!(9999999999.99_f64), "9999999999.99"),
        (json!("9999999999.99"), "9999999999.99"),
    ];
    for (price, shown) in accepted {
        let reply = app
            .post("/api/items")
            .bearer(&owner.access)
            .json(json!({"name": "P", "price": price, "store_id": store}))
            .send()
            .await;
        assert_eq!(reply.status, 201, "{price}: {}", reply.text);
        assert!(reply.text.contains(&format!("\"price\":{shown}")), "{price}: {}", reply.text);
    }
    let raw_bodies = [
        (r#"{"name":"P","price":-1,"store_id":STORE}"#, "must not be negative"),
        (r#"{"name":"P","price":1e400,"store_id":STORE}"#, "must be at most 9999999999.99"),
        (r#"{"name":"P","price":"NaN","store_id":STORE}"#, "must be a decimal number such as 12.50"),
        (r#"{"name":"P","price":"Infinity","store_id":STORE}"#, "must be a decimal number such as 12.50"),
        (r#"{"name":"P","price":1.005,"store_id":STORE}"#, "must have at most two decimal places"),
        (r#"{"name":"P","price":"1.005","store_id":STORE}"#, "must have at most two decimal places"),
        (r#"{"name":"P","price":10000000000,"store_id":STORE}"#, "must be at most 9999999999.99"),
        (r#"{"name":"P","price":true,"store_id":STORE}"#, "must be a number or a decimal string"),
        (r#"{"name":"P","price":null,"store_id":STORE}"#, "must be a number or a decimal string"),
    ];
    for (body, message) in raw_bodies {
        let body = body.replace("STORE", &store.to_string());
        let reply =
            app.post("/api/items").bearer(&owner.access).raw(Some("application/json"), &body).send().await;
        assert_eq!(reply.problem(422)["errors"]["price"], message, "{body}");
    }
    assert_eq!(app.count("items"), 6);
}

#[rocket::async_test]
async fn creation_names_every_bad_field_at_once() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;

    let reply = app
        .post("/api/items")
        .bearer(&owner.access)
        .json(json!({"name": "", "store_id": store, "description": 5}))
        .send()
        .await;

    let problem = reply.problem(422);
    assert_eq!(problem["errors"], json!({"price": "is required", "description": "must be a string or null"}));
    let reply = app
        .post("/api/items")
        .bearer(&owner.access)
        .json(json!({"name": "", "price": "1", "store_id": store}))
        .send()
        .await;
    assert_eq!(reply.problem(422)["errors"], json!({"name": "must not be empty"}));
    let reply =
        app.post("/api/items").bearer(&owner.access).json(json!({"name": "A", "price": 1})).send().await;
    assert_eq!(reply.problem(422)["errors"], json!({"store_id": "is required"}));
    for store_id in [json!("abc"), json!(0), json!(-3), json!("1"), json!(1.5)] {
        let reply = app
            .post("/api/items")
            .bearer(&owner.access)
            .json(json!({"name": "A", "price": 1, "store_id": store_id}))
            .send()
            .await;
        assert_eq!(reply.problem(422)["errors"]["store_id"], "must be a positive integer id", "{store_id}");
    }
    let far = app
        .post("/api/items")
        .bearer(&owner.access)
        .json(json!({"name": "A", "price": 1, "store_id": 2147483648_i64}))
        .send()
        .await;
    assert_eq!(far.problem(404)["detail"], "The store does not exist.");
}

#[rocket::async_test]
async fn items_go_only_into_stores_one_manages() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let other = app.user(Role::Member).await;
    let staff = app.user(Role::Staff).await;
    let admin = app.user(Role::Admin).await;
    let body = |name: &str| json!({"name": name, "price": "1.00", "store_id": store});

    assert_eq!(
        app.post("/api/items").json(body("x")).send().await.problem(401)["code"],
        "authorization_required"
    );
    assert_eq!(
        app.post("/api/items").bearer(&other.access).json(body("x")).send().await.problem(403)["code"],
        "forbidden"
    );
    let missing = json!({"name": "x", "price": 1, "store_id": 999_999});
    assert_eq!(
        app.post("/api/items").bearer(&owner.access).json(missing).send().await.problem(404)["detail"],
        "The store does not exist."
    );
    for who in [&owner, &staff, &admin] {
        assert_eq!(
            app.post("/api/items").bearer(&who.access).json(body(&who.email)).send().await.status,
            201
        );
    }
    assert_eq!(app.count("items"), 3);
}

#[rocket::async_test]
async fn updates_are_partial_and_never_create() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let id = app.item(&owner, store, "Old name", "5.00").await;
    let path = format!("/api/items/{id}");
    app.put(&path).bearer(&owner.access).json(json!({"description": "Text"})).send().await;

    let reply = app.put(&path).bearer(&owner.access).json(json!({"price": "7.25"})).send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let item = reply.json();
    assert_eq!((item["name"].clone(), item["description"].clone()), (json!("Old name"), json!("Text")));
    assert!(reply.text.contains("\"price\":7.25"));
    assert_eq!(item["version"], 3);

    let cleared = app.put(&path).bearer(&owner.access).json(json!({"description": null})).send().await;
    assert_eq!(cleared.json()["description"], Value::Null);

    let empty = app.put(&path).bearer(&owner.access).json(json!({})).send().await;
    assert_eq!(empty.problem(422)["errors"]["body"], "must change at least one of name, price, description");
    let bad = app.put(&path).bearer(&owner.access).json(json!({"name": "", "price": -1})).send().await;
    assert_eq!(
        bad.problem(422)["errors"],
        json!({"name": "must not be empty", "price": "must not be negative"})
    );
    let store_change = app.put(&path).bearer(&owner.access).json(json!({"store_id": 2})).send().await;
    assert_eq!(store_change.problem(422)["errors"]["store_id"], "is not a known field");

    let missing =
        app.put("/api/items/999999").bearer(&owner.access).json(json!({"name": "Ghost"})).send().await;
    assert_eq!(missing.problem(404)["detail"], "The item does not exist.");
    assert_eq!(app.count("items"), 1);
}

#[rocket::async_test]
async fn item_writes_follow_the_role_matrix() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let other = app.user(Role::Member).await;
    let staff = app.user(Role::Staff).await;
    let admin = app.user(Role::Admin).await;
    let id = app.item(&owner, store, "Item", "1.00").await;
    let path = format!("/api/items/{id}");

    assert_eq!(
        app.put(&path).json(json!({"name": "x"})).send().await.problem(401)["code"],
        "authorization_required"
    );
    assert_eq!(
        app.put(&path).bearer(&other.access).json(json!({"name": "x"})).send().await.problem(403)["code"],
        "forbidden"
    );
    for who in [&owner, &staff, &admin] {
        let reply = app.put(&path).bearer(&who.access).json(json!({"name": who.email.clone()})).send().await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(app.delete(&path).send().await.problem(401)["code"], "authorization_required");
    assert_eq!(app.delete(&path).bearer(&other.access).send().await.problem(403)["code"], "forbidden");
    assert_eq!(app.delete(&path).bearer(&owner.access).send().await.status, 204);
    assert_eq!(app.delete(&path).bearer(&owner.access).send().await.problem(404)["code"], "not_found");
    for who in [&staff, &admin] {
        let id = app.item(&owner, store, "Again", "1.00").await;
        assert_eq!(app.delete(&format!("/api/items/{id}")).bearer(&who.access).send().await.status, 204);
    }
}

#[rocket::async_test]
async fn parallel_puts_with_one_if_match_give_one_success() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let id = app.item(&owner, store, "Contended", "1.00").await;
    let path = format!("/api/items/{id}");
    let etag = app.get(&path).send().await.header("etag").unwrap().to_owned();

    let requests = (0..20).map(|n| {
        app.put(&path)
            .bearer(&owner.access)
            .header("If-Match", &etag)
            .json(json!({"price": format!("{n}.00")}))
            .send()
    });
    let replies = join_all(requests).await;

    let ok = replies.iter().filter(|r| r.status == 200).count();
    let stale = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!((ok, stale), (1, 19));
}

async fn catalogue(app: &TestApp) -> (TestUser, i64, i64, [i64; 2]) {
    let (owner, store) = shop(app).await;
    let other_store = app.store(&owner, "Other").await;
    let red = app.tag(&owner, store, "red").await;
    let big = app.tag(&owner, store, "big").await;
    let items = [
        ("Apple", "1.20", vec![red]),
        ("Ball 50%_off", "3.00", vec![red, big]),
        ("Car", "15.00", vec![big]),
        ("Drum", "8.50", vec![]),
    ];
    for (name, price, tags) in items {
        let id = app.item(&owner, store, name, price).await;
        if !tags.is_empty() {
            app.link(&owner, id, &tags).await;
        }
    }
    app.item(&owner, other_store, "Elsewhere apple", "2.00").await;
    (owner, store, other_store, [red, big])
}

#[rocket::async_test]
async fn filters_combine() {
    let app = TestApp::new().await;
    let (_, store, other_store, [red, big]) = catalogue(&app).await;
    let cases = [
        (format!("store_id={store}"), vec!["Apple", "Ball 50%_off", "Car", "Drum"]),
        (format!("store_id={other_store}"), vec!["Elsewhere apple"]),
        (format!("tag_id={red}"), vec!["Apple", "Ball 50%_off"]),
        (format!("tag_id={red}&tag_id={big}"), vec!["Ball 50%_off"]),
        ("q=APPLES&sort=name".to_owned(), vec!["Apple", "Elsewhere apple"]),
        ("q=ball".to_owned(), vec!["Ball 50%_off"]),
        (format!("q=apple&store_id={other_store}"), vec!["Elsewhere apple"]),
        // Words of no item, and signs alone, find nothing.
        ("q=%25_".to_owned(), vec![]),
        ("min_price=3&max_price=8.50".to_owned(), vec!["Ball 50%_off", "Drum"]),
        (format!("store_id={store}&min_price=2&sort=-price"), vec!["Car", "Drum", "Ball 50%_off"]),
        ("sort=name".to_owned(), vec!["Apple", "Ball 50%_off", "Car", "Drum", "Elsewhere apple"]),
        ("sort=-name&limit=2".to_owned(), vec!["Elsewhere apple", "Drum"]),
        ("sort=price".to_owned(), vec!["Apple", "Elsewhere apple", "Ball 50%_off", "Drum", "Car"]),
    ];
    for (query, expected) in cases {
        let reply = app.get(&format!("/api/items?{query}")).send().await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text);
        assert_eq!(names(&reply), expected, "{query}");
    }
    let total = app.get(&format!("/api/items?tag_id={red}&limit=1")).send().await;
    assert_eq!(total.header("x-total-count"), Some("2"));
}

#[rocket::async_test]
async fn bad_filters_are_422_naming_the_parameter() {
    let app = TestApp::new().await;
    let cases = [
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=abc", "limit"),
        ("store_id=abc", "store_id"),
        ("store_id=0", "store_id"),
        ("store_id=99999999999999999999", "store_id"),
        ("tag_id=x", "tag_id"),
        ("min_price=-1", "min_price"),
        ("max_price=NaN", "max_price"),
        ("min_price=1.005", "min_price"),
        ("min_price=5&max_price=4", "max_price"),
        ("sort=password_hash", "sort"),
        ("sort=name;DROP%20TABLE%20items", "sort"),
        ("cursor=garbage", "cursor"),
        ("q=%00", "q"),
        ("store_id=", "store_id"),
        ("limit=", "limit"),
        ("tag_id=", "tag_id"),
        ("sort=", "sort"),
        ("min_price=", "min_price"),
        ("limit=10&limit=20", "limit"),
    ];
    for (query, field) in cases {
        let reply = app.get(&format!("/api/items?{query}")).send().await;
        let problem = reply.problem(422);
        assert!(problem["errors"][field].is_string(), "{query}: {problem}");
    }
    let long = format!("/api/items?q={}", "a".repeat(81));
    assert_eq!(app.get(&long).send().await.problem(422)["errors"]["q"], "must be at most 80 characters");
}

#[rocket::async_test]
async fn cursors_walk_every_sort_without_gaps_or_repeats() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    for n in 0..7 {
        // Equal prices make the tie-break on id matter.
        app.item(&owner, store, &format!("Item {}", n % 3), &format!("{}.00", n % 2)).await;
    }
    for sort in ["name", "-name", "price", "-price", "created_at", "-created_at"] {
        let everything = names(&app.get(&format!("/api/items?sort={sort}")).send().await);
        let mut walked = Vec::new();
        let mut url = Some(format!("/api/items?sort={sort}&limit=3"));
        while let Some(next) = url {
            let page = app.get(&next).send().await;
            assert_eq!(page.status, 200, "{next}: {}", page.text);
            walked.extend(names(&page));
            url = page.next_page();
        }
        assert_eq!(walked, everything, "{sort}");
        assert_eq!(walked.len(), 7);
    }
    let first = app.get("/api/items?sort=name&limit=3").send().await;
    let link = first.header("link").unwrap();
    let cursor = link.split("cursor=").nth(1).unwrap().split('>').next().unwrap();
    let mismatched = app.get(&format!("/api/items?sort=price&cursor={cursor}")).send().await;
    assert_eq!(mismatched.problem(422)["errors"]["cursor"], "belongs to a list sorted another way");
}

#[rocket::async_test]
async fn listing_costs_the_same_number_of_queries_for_any_page_size() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let tags = [app.tag(&owner, store, "a").await, app.tag(&owner, store, "b").await];
    for n in 0..30 {
        let id = app.item(&owner, store, &format!("Item {n}"), "1.00").await;
        app.link(&owner, id, &tags).await;
    }
    let mut counts = Vec::new();
    for limit in [1, 10, 30] {
        let before = app.queries();
        let reply = app.get(&format!("/api/items?limit={limit}")).send().await;
        assert_eq!(reply.json().as_array().unwrap().len(), limit);
        counts.push(app.queries() - before);
    }
    // Page, tags and total in one statement; the pool checks a connection
    // without a query.
    assert_eq!(counts, [1, 1, 1], "queries per list request by page size");
    for path in ["/api/items?q=item&limit=5", &format!("/api/items?store_id={store}&tag_id={}", tags[0])] {
        let before = app.queries();
        assert_eq!(app.get(path).send().await.status, 200);
        assert_eq!(app.queries() - before, 1, "queries of {path}");
    }

    let item = app.get("/api/items?limit=1").send().await.json()[0]["id"].as_i64().unwrap();
    let before = app.queries();
    app.get(&format!("/api/items/{item}")).send().await;
    // Item with its store and tags: one statement.
    assert_eq!(app.queries() - before, 1, "queries per item request");
}

#[rocket::async_test]
async fn the_unfiltered_total_of_a_huge_catalogue_is_an_estimate() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let small = app.store(&owner, "Small").await;
    app.item(&owner, small, "Lonely", "1.00").await;
    app.bulk_items(store, 120_000);

    let everything = app.get("/api/items?limit=1").send().await;
    let filtered = app.get(&format!("/api/items?store_id={small}")).send().await;

    assert_eq!(everything.header("x-total-count-approximate"), Some("true"));
    let estimate: i64 = everything.header("x-total-count").unwrap().parse().unwrap();
    assert!((100_000..=140_000).contains(&estimate), "{estimate}");
    assert_eq!(filtered.header("x-total-count"), Some("1"));
    assert_eq!(filtered.header("x-total-count-approximate"), Some("false"));

    // A filtered list counts up to 1,000 and estimates beyond.
    let crowded = app.get(&format!("/api/items?store_id={store}&limit=1")).send().await;
    assert_eq!(crowded.header("x-total-count-approximate"), Some("true"));
    let estimate: i64 = crowded.header("x-total-count").unwrap().parse().unwrap();
    assert!((100_000..=140_000).contains(&estimate), "{estimate}");
    // Every crate has the word.
    let search = app.get("/api/items?q=crate&limit=1").send().await;
    assert_eq!(search.header("x-total-count-approximate"), Some("true"));
    let estimate: i64 = search.header("x-total-count").unwrap().parse().unwrap();
    assert!(estimate > 1_000, "never below what was counted: {estimate}");
    // "Crate 11999" alone has both words; the price narrows to a count.
    let narrow = app.get("/api/items?q=crate%2011999").send().await;
    assert_eq!(narrow.header("x-total-count"), Some("1"));
    assert_eq!(narrow.header("x-total-count-approximate"), Some("false"));
    let cheap = app.get("/api/items?q=crate&max_price=0&sort=name").send().await;
    assert_eq!(cheap.header("x-total-count"), Some("120"));
    assert_eq!(cheap.header("x-total-count-approximate"), Some("false"));
}

#[rocket::async_test]
async fn an_item_reads_back_its_tags_by_name_with_quotes_intact() {
    let app = TestApp::new().await;
    let (owner, store) = shop(&app).await;
    let item = app.item(&owner, store, "Tagged", "3.00").await;
    let names = ["zeta", "mid \"quoted\" ✓", "alpha"];
    let mut ids = Vec::new();
    for name in names {
        ids.push(app.tag(&owner, store, name).await);
    }
    app.link(&owner, item, &ids).await;

    let before = app.queries();
    let read = app.get(&format!("/api/items/{item}")).send().await;
    assert_eq!(app.queries() - before, 1);
    assert_eq!(
        read.json()["tags"],
        json!([{"id": ids[2], "name": "alpha"}, {"id": ids[1], "name": "mid \"quoted\" ✓"}, {"id": ids[0], "name": "zeta"}])
    );
    assert_eq!(read.json()["store"], json!({"id": store, "name": "Shop"}));
}
