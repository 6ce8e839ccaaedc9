//! Lists as CSV files: every row that matches (not only the page), in
//! batches, formulas written as text, nothing secret, and only what the
//! reader may see.

use storefront::models::Role;

use crate::harness::{TestApp, PASSWORD};

/// The file's rows, without its byte order mark, read as a spreadsheet would.
fn rows(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').expect("a byte order mark first");
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

#[rocket::async_test]
async fn items_export_with_their_store_and_tags_and_formulas_as_text() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Corner, \"the\" shop").await;
    let other = app.store(&owner, "Elsewhere").await;
    let sale = app.tag(&owner, store, "sale").await;
    let piped = app.tag(&owner, store, "a|b").await;
    let hostile = app.item(&owner, store, "=HYPERLINK(\"http://evil\")", "1.50").await;
    let plain = app.item(&owner, store, "Lamp", "30.00").await;
    app.item(&owner, other, "Far away", "2.00").await;
    app.link(&owner, hostile, &[sale, piped]).await;
    let described = app
        .put(&format!("/api/items/{plain}"))
        .bearer(&owner.access)
        .json(serde_json::json!({"description": "-5% off\nsecond line"}))
        .send()
        .await;
    assert_eq!(described.status, 200, "{}", described.text);
    app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;

    let list = browser.get(&format!("/admin/items?store={store}")).await;
    let link = format!("href=\"&#x2F;admin&#x2F;items&#x2F;export.csv?store={store}\"");
    assert!(list.text.contains(&link) && list.text.contains("Export these items as CSV"), "{}", list.text);

    let file = browser.get(&format!("/admin/items/export.csv?store={store}")).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-type"), Some("text/csv; charset=utf-8"));
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(
        file.header("content-disposition"),
        Some(format!("attachment; filename=\"items-{today}.csv\"").as_str())
    );
    assert_eq!(file.header("cache-control"), Some("no-store"));
    let store_id = store.to_string();
    assert_eq!(
        rows(&file.text),
        vec![
            vec!["id", "store_id", "store", "name", "price", "description", "tags"],
            vec![
                &hostile.to_string(),
                &store_id,
                "Corner, \"the\" shop",
                "'=HYPERLINK(\"http://evil\")",
                "1.50",
                "",
                "a\\|b|sale"
            ],
            vec![
                &plain.to_string(),
                &store_id,
                "Corner, \"the\" shop",
                "Lamp",
                "30.00",
                "'-5% off\nsecond line",
                ""
            ],
        ]
    );
    // The search narrows the file as it narrows the list.
    let searched = browser.get("/admin/items/export.csv?q=far").await;
    assert_eq!(rows(&searched.text).len(), 2);
    assert_eq!(rows(&searched.text)[1][3], "Far away");
}

#[rocket::async_test]
async fn long_lists_come_whole_in_batches() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Warehouse").await;
    app.bulk_items(store, 2_345);
    app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;
    let file = browser.get("/admin/items/export.csv").await;
    assert_eq!(file.status, 200);
    let rows = rows(&file.text);
    assert_eq!(rows.len(), 2_346);
    let ids: Vec<i64> = rows[1..].iter().map(|row| row[0].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "by id, each once");
    assert_eq!(rows[2_345][3], "Crate 2345");
}

#[rocket::async_test]
async fn owners_export_only_their_own_and_never_accounts() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let anns = app.store(&ann, "Ann's").await;
    let bobs = app.store(&bob, "Bob's").await;
    app.item(&ann, anns, "Ann's lamp", "1.00").await;
    app.item(&bob, bobs, "Bob's chair", "2.00").await;
    app.tag(&ann, anns, "ann-tag").await;
    app.tag(&bob, bobs, "bob-tag").await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;

    let items = rows(&browser.get("/admin/items/export.csv").await.text);
    assert_eq!(items.iter().skip(1).map(|r| r[3].as_str()).collect::<Vec<_>>(), ["Ann's lamp"]);
    // Asking for another owner's store finds nothing of it.
    let theirs = rows(&browser.get(&format!("/admin/items/export.csv?store={bobs}")).await.text);
    assert_eq!(theirs.len(), 1);
    let stores = rows(&browser.get("/admin/stores/export.csv").await.text);
    assert_eq!(stores[0], ["id", "name", "owner", "items", "created_at", "updated_at"]);
    assert_eq!(
        (stores.len(), stores[1][1].as_str(), stores[1][2].as_str()),
        (2, "Ann's", ann.email.as_str())
    );
    let tags = rows(&browser.get("/admin/tags/export.csv").await.text);
    assert_eq!(tags.iter().skip(1).map(|r| r[3].as_str()).collect::<Vec<_>>(), ["ann-tag"]);
    assert_eq!(browser.get("/admin/users/export.csv").await.status, 403);
}

#[rocket::async_test]
async fn only_admins_export_accounts_and_never_their_secrets() {
    let app = TestApp::new().await;
    app.insert_user("staff@example.org", Role::Staff);
    app.insert_user("admin@example.org", Role::Admin);
    app.insert_user("=cmd@example.org", Role::Member);
    let staff = app.browser();
    staff.login("staff@example.org", PASSWORD).await;
    assert_eq!(staff.get("/admin/users/export.csv").await.status, 403);

    let admin = app.browser();
    admin.login("admin@example.org", PASSWORD).await;
    let file = admin.get("/admin/users/export.csv?role=member").await;
    assert_eq!(file.status, 200);
    assert!(!file.text.contains("argon2") && !file.text.contains("$argon"), "{}", file.text);
    let rows = rows(&file.text);
    assert_eq!(rows[0], ["id", "email", "role", "active", "created_at", "updated_at"]);
    assert_eq!(rows.len(), 2, "members only: {rows:?}");
    assert_eq!(
        (rows[1][1].as_str(), rows[1][2].as_str(), rows[1][3].as_str()),
        ("'=cmd@example.org", "member", "yes")
    );
    assert!(rows[1][4].ends_with('Z') && rows[1][4].len() == 20, "{}", rows[1][4]);
    // Anonymous readers are sent to log in, as for every page of the panel.
    let anonymous = app.browser().get("/admin/items/export.csv").await;
    assert_eq!(anonymous.status, 303);
}
