//! Ranked search (`q`), corrected typos, and facet counts.

use diesel::prelude::*;
use serde_json::{json, Value};
use storefront::models::Role;

use crate::harness::{Reply, TestApp, TestUser};

fn names(reply: &Reply) -> Vec<String> {
    reply.json().as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
}

async fn described(app: &TestApp, owner: &TestUser, store: i64, name: &str, description: &str) -> i64 {
    let body = json!({"name": name, "price": "5.00", "store_id": store, "description": description});
    let reply = app.post("/api/items").bearer(&owner.access).json(body).send().await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_i64().unwrap()
}

/// A catalogue made for relevance: "tea" in a name, a tag, a description
/// and a store's name, each in a different item.
async fn tea_catalogue(app: &TestApp) -> (TestUser, i64, i64) {
    let owner = app.user(Role::Member).await;
    let house = app.store(&owner, "Hill House").await;
    let corner = app.store(&owner, "Tea Corner").await;
    // Made in the reverse order of relevance, so that ids cannot explain it.
    app.item(&owner, corner, "Spoon", "1.00").await;
    described(app, &owner, house, "Kettle", "Boils water for tea in a minute.").await;
    let mug = app.item(&owner, house, "Mug", "4.00").await;
    let tag = app.tag(&owner, house, "tea things").await;
    app.link(&owner, mug, &[tag]).await;
    app.item(&owner, house, "Green tea", "6.00").await;
    (owner, house, corner)
}

#[rocket::async_test]
async fn the_name_ranks_above_tags_description_and_store() {
    let app = TestApp::new().await;
    tea_catalogue(&app).await;
    let reply = app.get("/api/items?q=tea").send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(names(&reply), ["Green tea", "Mug", "Kettle", "Spoon"]);
    assert_eq!(reply.header("x-total-count"), Some("4"));
    // Other orders stay available with words.
    let by_price = app.get("/api/items?q=tea&sort=-price").send().await;
    assert_eq!(names(&by_price), ["Green tea", "Kettle", "Mug", "Spoon"]);
    let by_name = app.get("/api/items?q=tea&sort=name").send().await;
    assert_eq!(names(&by_name), ["Green tea", "Kettle", "Mug", "Spoon"]);
}

#[rocket::async_test]
async fn a_relevance_order_pages_with_its_cursor() {
    let app = TestApp::new().await;
    tea_catalogue(&app).await;
    let mut path = "/api/items?q=tea&limit=1".to_owned();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let reply = app.get(&path).send().await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        seen.extend(names(&reply));
        match reply.next_page() {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(seen, ["Green tea", "Mug", "Kettle", "Spoon"]);
    // A cursor of one order does not continue another.
    let first = app.get("/api/items?q=tea&limit=1").send().await;
    let cursor = first.next_page().unwrap();
    let other = app.get(&cursor.replace("q=tea", "q=tea&sort=name")).send().await;
    assert_eq!(other.problem(422)["errors"]["cursor"], "belongs to a list sorted another way");
}

#[rocket::async_test]
async fn web_search_syntax_accents_and_word_endings() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Cafe Noir").await;
    for name in ["Crème brûlée", "Green tea", "Black tea", "Teapots"] {
        app.item(&owner, store, name, "3.00").await;
    }
    described(&app, &owner, store, "Books of recipes", "For the kitchen.").await;
    let cases: [(&str, &[&str]); 8] = [
        // Accents are ignored both ways.
        ("creme%20brulee", &["Crème brûlée"]),
        ("CAF%C3%89", &["Crème brûlée", "Green tea", "Black tea", "Teapots", "Books of recipes"]),
        // Word endings: "teapot" finds "Teapots", "book" finds "Books".
        ("teapot", &["Teapots"]),
        ("book", &["Books of recipes"]),
        // A phrase, a word left out, either word.
        ("%22green%20tea%22", &["Green tea"]),
        ("tea%20-green", &["Black tea"]),
        ("brulee%20or%20teapot", &["Crème brûlée", "Teapots"]),
        // Words of the syntax alone find nothing, and are no error.
        ("%22%20-", &[]),
    ];
    for (q, expected) in cases {
        let reply = app.get(&format!("/api/items?q={q}&sort=created_at")).send().await;
        assert_eq!(reply.status, 200, "{q}: {}", reply.text);
        assert_eq!(names(&reply), expected, "{q}");
    }
}

#[rocket::async_test]
async fn a_typo_finds_the_corrected_words_and_says_so() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Roastery").await;
    app.item(&owner, store, "Coffee beans", "9.00").await;
    app.item(&owner, store, "Coffee grinder", "40.00").await;
    app.item(&owner, store, "Tea", "3.00").await;

    let reply = app.get("/api/items?q=cofee%20beens").send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(names(&reply), ["Coffee beans"]);
    assert_eq!(reply.header("x-did-you-mean"), Some("coffee%20beans"));

    // One page of them: no cursor past it.
    let one = app.get("/api/items?q=cofee&limit=1").send().await;
    assert_eq!(names(&one), ["Coffee beans"]);
    assert_eq!(one.header("x-did-you-mean"), Some("coffee"));
    assert_eq!(one.next_page(), None);

    // Words found as typed are not corrected, nor is what resembles nothing.
    for q in ["coffee", "zzxqj"] {
        let reply = app.get(&format!("/api/items?q={q}")).send().await;
        assert_eq!(reply.header("x-did-you-mean"), None, "{q}");
    }
    assert_eq!(names(&app.get("/api/items?q=zzxqj").send().await), Vec::<String>::new());
    // The search syntax survives the correction.
    let minus = app.get("/api/items?q=cofee%20-grindr").send().await;
    assert_eq!(minus.header("x-did-you-mean"), Some("coffee%20-grinder"));
    assert_eq!(names(&minus), ["Coffee beans"]);
}

#[rocket::async_test]
async fn renames_retags_and_edits_are_searched_at_once() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Plain").await;
    let item = app.item(&owner, store, "Lamp", "20.00").await;
    let tag = app.tag(&owner, store, "lighting").await;
    let found = |q: &'static str| {
        let app = &app;
        async move { names(&app.get(&format!("/api/items?q={q}")).send().await) }
    };
    assert_eq!(found("lighting").await, Vec::<String>::new());
    app.link(&owner, item, &[tag]).await;
    assert_eq!(found("lighting").await, ["Lamp"]);

    // Tags are renamed in the panel (the API has no way to); as it does.
    diesel::sql_query("UPDATE tags SET name = 'glow' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(tag)
        .execute(&mut app.conn())
        .unwrap();
    assert_eq!(found("glow").await, ["Lamp"]);
    assert_eq!(found("lighting").await, Vec::<String>::new());

    let store_renamed = app
        .put(&format!("/api/stores/{store}"))
        .bearer(&owner.access)
        .json(json!({"name": "Bright Ideas"}))
        .send()
        .await;
    assert_eq!(store_renamed.status, 200, "{}", store_renamed.text);
    assert_eq!(found("bright").await, ["Lamp"]);

    let edited = app
        .put(&format!("/api/items/{item}"))
        .bearer(&owner.access)
        .json(json!({"description": "Brass, with a linen shade."}))
        .send()
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(found("linen").await, ["Lamp"]);

    let unlinked = app.delete(&format!("/api/items/{item}/tags/{tag}")).bearer(&owner.access).send().await;
    assert_eq!(unlinked.status, 204, "{}", unlinked.text);
    assert_eq!(found("glow").await, Vec::<String>::new());
}

/// Facet counts made straight in SQL, for the items `q` finds.
fn counted_in_sql(app: &TestApp, q: &str) -> Value {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "WITH found AS (SELECT id, store_id, price FROM items WHERE search @@ storefront_query($1)) \
         SELECT 'tag' AS kind, tag_id AS id, count(*) AS count FROM item_tags \
           WHERE item_id IN (SELECT id FROM found) GROUP BY tag_id \
         UNION ALL SELECT 'store', store_id, count(*) FROM found GROUP BY store_id \
         UNION ALL SELECT 'band', width_bucket(price, ARRAY[0, 10, 25, 50, 100, 250]::numeric[]), count(*) \
           FROM found GROUP BY 2",
    )
    .bind::<diesel::sql_types::Text, _>(q)
    .load(&mut app.conn())
    .unwrap();
    let mut counts = serde_json::Map::new();
    for row in rows {
        counts.insert(format!("{}:{}", row.kind, row.id), json!(row.count));
    }
    Value::Object(counts)
}

#[rocket::async_test]
async fn facet_counts_agree_with_a_direct_count() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let north = app.store(&owner, "North").await;
    let south = app.store(&owner, "South").await;
    let warm = app.tag(&owner, north, "warm").await;
    let wool = app.tag(&owner, north, "wool").await;
    let cheap = app.tag(&owner, south, "cheap").await;
    let items = [
        (north, "Wool scarf", "12.00", vec![warm, wool]),
        (north, "Wool hat", "9.50", vec![warm, wool]),
        (north, "Wool socks", "25.00", vec![wool]),
        (north, "Cotton scarf", "30.00", vec![]),
        (south, "Scarf ring", "3.00", vec![cheap]),
        (south, "Silk scarf", "260.00", vec![]),
    ];
    for (store, name, price, tags) in items {
        let id = app.item(&owner, store, name, price).await;
        if !tags.is_empty() {
            app.link(&owner, id, &tags).await;
        }
    }
    let reply = app.get("/api/items/facets?q=scarf").send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let facets = reply.json();
    assert_eq!(facets["total"], 4);
    assert_eq!(facets["approximate"], false);
    let expected = counted_in_sql(&app, "scarf");
    let mut seen = serde_json::Map::new();
    for tag in facets["tags"].as_array().unwrap() {
        seen.insert(format!("tag:{}", tag["id"]), tag["count"].clone());
    }
    for store in facets["stores"].as_array().unwrap() {
        seen.insert(format!("store:{}", store["id"]), store["count"].clone());
    }
    for (n, band) in facets["price"].as_array().unwrap().iter().enumerate() {
        if band["count"] != 0 {
            seen.insert(format!("band:{}", n + 1), band["count"].clone());
        }
    }
    assert_eq!(Value::Object(seen), expected);
    // The exact figures, most frequent first, every band.
    assert_eq!(
        facets["tags"],
        json!([
            {"id": warm, "name": "warm", "store_name": "North", "count": 1},
            {"id": wool, "name": "wool", "store_name": "North", "count": 1},
            {"id": cheap, "name": "cheap", "store_name": "South", "count": 1},
        ])
    );
    assert_eq!(
        facets["stores"],
        json!([{"id": north, "name": "North", "count": 2}, {"id": south, "name": "South", "count": 2}])
    );
    let bands: Vec<(Value, Value, Value)> = facets["price"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["min"].clone(), b["max"].clone(), b["count"].clone()))
        .collect();
    assert_eq!(
        bands,
        [
            (json!("0.00"), json!("9.99"), json!(1)),
            (json!("10.00"), json!("24.99"), json!(1)),
            (json!("25.00"), json!("49.99"), json!(1)),
            (json!("50.00"), json!("99.99"), json!(0)),
            (json!("100.00"), json!("249.99"), json!(0)),
            (json!("250.00"), Value::Null, json!(1)),
        ]
    );

    // Counts follow the filters, and a choice of counts leaves the others out.
    let narrowed = app.get(&format!("/api/items/facets?q=wool&store_id={north}&facets=tags")).send().await;
    let narrowed = narrowed.json();
    assert_eq!(narrowed["total"], 3);
    assert_eq!(
        narrowed["tags"],
        json!([{"id": wool, "name": "wool", "store_name": "North", "count": 3}, {"id": warm, "name": "warm", "store_name": "North", "count": 2}])
    );
    assert!(narrowed.get("stores").is_none() && narrowed.get("price").is_none(), "{narrowed}");
    // What each count promises is what the list then holds.
    let listed = app.get(&format!("/api/items?q=wool&store_id={north}&tag_id={warm}")).send().await;
    assert_eq!(listed.header("x-total-count"), Some("2"));
}

#[rocket::async_test]
async fn facets_of_a_large_match_are_estimates_and_say_so() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Depot").await;
    // Past 10,000 expected matches, counts come from a smaller sample.
    app.bulk_items(store, 12_000);
    let reply = app.get("/api/items/facets?q=crate").send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let facets = reply.json();
    assert_eq!(facets["approximate"], true);
    assert_eq!(facets["total_approximate"], true);
    let total = facets["total"].as_i64().unwrap();
    assert!((10_001..=16_000).contains(&total), "{total}");
    // All in one store: its count is the estimated total.
    assert_eq!(facets["stores"][0]["count"], total);
    let bands: i64 = facets["price"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum();
    assert!((bands - total).abs() <= 6, "bands {bands} of {total}");
}

#[rocket::async_test]
async fn bad_facet_requests_are_422_naming_the_parameter() {
    let app = TestApp::new().await;
    for (path, field) in [
        ("/api/items/facets?facets=colour", "facets"),
        ("/api/items/facets?facets=", "facets"),
        ("/api/items/facets?min_price=x", "min_price"),
        ("/api/items?facets=tags", "facets"),
        ("/api/items?sort=-relevance", "sort"),
    ] {
        let reply = app.get(path).send().await;
        let problem = reply.problem(422);
        assert!(problem["errors"][field].is_string(), "{path}: {problem}");
    }
    let pointed = app.get("/api/items?facets=tags").send().await.problem(422);
    assert_eq!(pointed["errors"]["facets"], "are counted at /api/items/facets, with the same filters");
}
