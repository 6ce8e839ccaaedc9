//! Importing items from CSV files: mapping guessed from the header, a
//! preview of every row, the apply all or nothing, refused rows as CSV,
//! progress that any request can read, and files that are not what they
//! claim refused with a reason.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::Value;
use storefront::models::Role;

use crate::harness::{csrf_of, Browser, TestApp, PASSWORD};

/// Uploads `bytes` as `name`; the import's address, or the page's message.
async fn upload(browser: &Browser<'_>, name: &str, bytes: &[u8]) -> Result<String, String> {
    let token = browser.csrf("/admin/imports").await;
    let reply =
        browser.post_multipart("/admin/imports", &[("csrf_token", &token)], &[("file", name, bytes)]).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let to = reply.header("location").unwrap().to_owned();
    if to == "/admin/imports" {
        let page = browser.get(&to).await;
        let message =
            page.text.split("class=\"flash flash-error\" role=\"status\">").nth(1).unwrap_or_default();
        return Err(message.split("</p>").next().unwrap_or_default().to_owned());
    }
    Ok(to)
}

/// Waits until the step at work on `import` is done; its state.
async fn settled(browser: &Browser<'_>, import: &str) -> Value {
    let start = Instant::now();
    loop {
        let progress = browser.get(&format!("{import}/progress")).await;
        assert_eq!(progress.status, 200, "{}", progress.text);
        let progress: Value = serde_json::from_str(&progress.text).unwrap();
        if progress["state"] != "previewing" && progress["state"] != "applying" {
            return progress;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "still at work: {progress}");
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Posts the mapping form as the page fills it (the guessed columns),
/// with `extra` fields, and waits for the preview.
async fn preview(browser: &Browser<'_>, import: &str, extra: &[(&str, &str)]) -> Value {
    let page = browser.get(import).await;
    let mut fields: Vec<(String, String)> = vec![("csrf_token".into(), csrf_of(&page.text))];
    for part in page.text.split("<select id=\"map-").skip(1) {
        let key = part.split('"').next().unwrap().to_owned();
        let chosen = part.split("</select>").next().unwrap();
        let value = chosen
            .split("<option value=\"")
            .skip(1)
            .find(|option| option.contains("\" selected>"))
            .map(|option| option.split('"').next().unwrap().to_owned())
            .unwrap_or_default();
        fields.push((format!("map.{key}"), value));
    }
    fields.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let reply = browser.post(&format!("{import}/preview"), &fields).await;
    assert_eq!((reply.status, reply.header("location")), (303, Some(import)), "{}", reply.text);
    settled(browser, import).await
}

async fn apply(browser: &Browser<'_>, import: &str) -> Value {
    let token = browser.csrf(import).await;
    let reply = browser.post(&format!("{import}/apply"), &[("csrf_token", &token)]).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    settled(browser, import).await
}

fn items_in(app: &TestApp, store: i64) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn();
    diesel::sql_query("SELECT count(*) AS n FROM items WHERE store_id = $1")
        .bind::<diesel::sql_types::BigInt, _>(store)
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

/// A spreadsheet of `rows` new items of `store` as Excel writes it in
/// Europe (byte order mark, semicolons, decimal commas), with 20 bad rows
/// (every 500th from the 17th, of four kinds in turn).
fn excel_file(store: &str, rows: usize) -> Vec<u8> {
    let mut text = String::from("\u{feff}Name;Price;Description;Tags;Store\r\n");
    for n in 1..=rows {
        let row = match (n % 500 == 17).then_some(n / 500 % 4) {
            Some(0) => format!("Item {n};twelve;;;{store}"),
            Some(1) => format!(";3,00;no name;;{store}"),
            Some(2) => format!("{};3,00;;;{store}", "x".repeat(81)),
            Some(_) => format!("Item {n};3,00;;;Nowhere"),
            None => {
                format!("Item {n};{},{:02};\"Line one; line \"\"two\"\"\";sale;{store}", n % 100, n % 100)
            }
        };
        text.push_str(&row);
        text.push_str("\r\n");
    }
    text.into_bytes()
}

#[rocket::async_test]
async fn ten_thousand_rows_with_twenty_bad_ones_preview_and_apply_all_but_those() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Big Shop").await;
    app.tag(&owner, store, "Sale").await;
    let browser = app.browser();
    browser.login(&owner.email, PASSWORD).await;
    let file = excel_file("Big Shop", 10_000);

    let import = upload(&browser, "catalogue.csv", &file).await.unwrap();
    let page = browser.get(&import).await;
    assert!(page.text.contains("10000 rows"), "{}", page.text);
    for (field, column) in [("name", "Name"), ("price", "Price"), ("tags", "Tags"), ("store", "Store")] {
        let select = page
            .text
            .split(&format!("id=\"map-{field}\""))
            .nth(1)
            .unwrap()
            .split("</select>")
            .next()
            .unwrap();
        assert!(
            select.contains(&format!("selected>{column}</option>")),
            "{field} guessed as {column}: {select}"
        );
    }

    let previewed = preview(&browser, &import, &[("match_by", "name")]).await;
    assert_eq!(previewed["state"], "previewed", "{previewed}");
    assert_eq!(items_in(&app, store), 0, "a preview changes nothing");
    let page = browser.get(&import).await;
    assert!(page.text.contains("9980 new, 0 changed, 0 unchanged, 20 refused"), "{}", page.text);
    assert!(page.text.contains("<li>price: must be a decimal number such as 12.50</li>"), "{}", page.text);
    assert!(page.text.contains("<li>name: must be at most 80 characters</li>"), "{}", page.text);
    assert!(page.text.contains("store: “Nowhere” is no store&#x27;s name"), "{}", page.text);

    // The refused rows, as the file had them, with why.
    let refused = browser.get(&format!("{import}/refused.csv")).await;
    assert_eq!(refused.status, 200);
    let id = import.rsplit('/').next().unwrap();
    let attachment = format!("attachment; filename=\"import-{id}-refused-rows.csv\"");
    assert_eq!(refused.header("content-disposition"), Some(attachment.as_str()));
    assert_eq!(refused.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = refused.text.strip_prefix('\u{feff}').unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["Name", "Price", "Description", "Tags", "Store", "message"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 20);
    assert_eq!((&rows[0][0], &rows[0][1]), ("Item 17", "twelve"));
    assert_eq!(&rows[0][5], "price: must be a decimal number such as 12.50");
    assert!(rows.iter().any(|row| &row[5] == "name: must not be empty" && row[0].is_empty()));
    assert!(rows
        .iter()
        .any(|row| &row[5] == "store: “Nowhere” is no store's name" && &row[0] == "Item 1517"));

    let events = app.count("events");
    let applied = apply(&browser, &import).await;
    assert_eq!(applied["state"], "applied", "{applied}");
    assert_eq!(items_in(&app, store), 9_980);
    app.wait_until_numbered();
    assert_eq!(app.count("events") - events, 9_980, "each new item published");
    let lamp = app.get("/api/items?q=%22Item%201234%22").send().await.json();
    let found = &lamp[0];
    assert_eq!((found["name"].as_str(), found["price"].as_f64()), (Some("Item 1234"), Some(34.34)));
    assert_eq!(found["description"], "Line one; line \"two\"");
    assert_eq!(found["tags"][0]["name"], "Sale");

    // The same file again: nothing new, nothing changes.
    let again = upload(&browser, "catalogue.csv", &file).await.unwrap();
    preview(&browser, &again, &[("match_by", "name")]).await;
    assert!(browser.get(&again).await.text.contains("0 new, 0 changed, 9980 unchanged, 20 refused"));
}

#[rocket::async_test]
async fn an_export_imported_again_changes_nothing_and_a_cancelled_import_nothing_either() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Formula, \"Shop\"").await;
    let tag = app.tag(&owner, store, "a|b").await;
    let odd = app.item(&owner, store, "=SUM(A1)", "1.00").await;
    app.item(&owner, store, "'quoted'", "2.50").await;
    app.link(&owner, odd, &[tag]).await;
    let described = app
        .put(&format!("/api/items/{odd}"))
        .bearer(&owner.access)
        .json(serde_json::json!({"description": "-5% off\nand more"}))
        .send()
        .await;
    assert_eq!(described.status, 200);
    let browser = app.browser();
    browser.login(&owner.email, PASSWORD).await;
    let export = browser.get("/admin/items/export.csv").await;

    let import = upload(&browser, "items.csv", &export.bytes).await.unwrap();
    let previewed = preview(&browser, &import, &[("match_by", "id")]).await;
    assert_eq!(previewed["state"], "previewed");
    let page = browser.get(&import).await;
    assert!(page.text.contains("0 new, 0 changed, 2 unchanged, 0 refused"), "{}", page.text);
    assert!(page.text.contains("Nothing to import"));

    // A change previewed, then cancelled: nothing changes.
    let changed = String::from_utf8(export.bytes.clone()).unwrap().replace(",1.00,", ",9.00,");
    let import = upload(&browser, "changed.csv", changed.as_bytes()).await.unwrap();
    preview(&browser, &import, &[("match_by", "id")]).await;
    let page = browser.get(&import).await;
    assert!(page.text.contains("price: 1.00 → 9.00"), "{}", page.text);
    let token = csrf_of(&page.text);
    let cancelled = browser.post(&format!("{import}/cancel"), &[("csrf_token", &token)]).await;
    assert_eq!((cancelled.status, cancelled.header("location")), (303, Some("/admin/imports")));
    let item = app.get(&format!("/api/items/{odd}")).send().await.json();
    assert_eq!(item["price"], serde_json::json!(1.0));
    assert!(browser.get(&import).await.text.contains("This import was cancelled: nothing was imported."));
    let late = browser.post(&format!("{import}/apply"), &[("csrf_token", &token)]).await;
    assert_eq!(late.status, 303);
    assert_eq!(app.get(&format!("/api/items/{odd}")).send().await.json()["price"], serde_json::json!(1.0));
}

#[rocket::async_test]
async fn a_database_failure_mid_import_leaves_nothing_half_applied() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let browser = app.browser();
    browser.login(&owner.email, PASSWORD).await;
    let mut file = String::from("name,price,store\n");
    for n in 1..=1_200 {
        file.push_str(&format!("Thing {n},{n}.00,Shop\n"));
    }
    let import = upload(&browser, "things.csv", file.as_bytes()).await.unwrap();
    preview(&browser, &import, &[]).await;
    // The database refuses the 1,100th item, after two chunks went in.
    let mut conn = app.conn();
    diesel::sql_query(
        "CREATE FUNCTION refuse_thing() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'disk full'; END $$",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER refuse_thing BEFORE INSERT ON items FOR EACH ROW \
         WHEN (NEW.name = 'Thing 1100') EXECUTE FUNCTION refuse_thing()",
    )
    .execute(&mut conn)
    .unwrap();
    let audited = app.count("audit_log");
    let failed = apply(&browser, &import).await;
    assert_eq!(failed["state"], "failed");
    assert_eq!(items_in(&app, store), 0, "not one item of the first chunks stays");
    assert_eq!(app.count("audit_log"), audited);
    let page = browser.get(&import).await;
    assert!(page.text.contains("The import failed: nothing was imported"), "{}", page.text);

    // Once the database takes them, previewing and applying again works.
    diesel::sql_query("DROP TRIGGER refuse_thing ON items").execute(&mut conn).unwrap();
    preview(&browser, &import, &[]).await;
    assert_eq!(apply(&browser, &import).await["state"], "applied");
    assert_eq!(items_in(&app, store), 1_200);
}

#[rocket::async_test]
async fn changes_made_after_the_preview_stop_the_apply() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let lamp = app.item(&owner, store, "Lamp", "10.00").await;
    let browser = app.browser();
    browser.login(&owner.email, PASSWORD).await;
    let file = format!("id,price\n{lamp},12.00\n");
    let import = upload(&browser, "prices.csv", file.as_bytes()).await.unwrap();
    preview(&browser, &import, &[]).await;
    let meanwhile = app
        .put(&format!("/api/items/{lamp}"))
        .bearer(&owner.access)
        .json(serde_json::json!({"name": "Desk lamp"}))
        .send()
        .await;
    assert_eq!(meanwhile.status, 200);
    assert_eq!(apply(&browser, &import).await["state"], "failed");
    let page = browser.get(&import).await;
    assert!(page.text.contains("The catalogue changed since the preview (first at line 2)"), "{}", page.text);
    assert_eq!(app.get(&format!("/api/items/{lamp}")).send().await.json()["price"], serde_json::json!(10.0));
}

#[rocket::async_test]
async fn owners_import_only_into_their_own_stores() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    app.store(&ann, "Ann's").await;
    let bobs = app.store(&bob, "Bob's").await;
    let chair = app.item(&bob, bobs, "Chair", "5.00").await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    let file =
        format!("id,name,price,store\n,New lamp,1.00,Bob's\n{chair},Chair,1.00,\n,Own lamp,1.00,Ann's\n");
    let import = upload(&browser, "sneaky.csv", file.as_bytes()).await.unwrap();
    preview(&browser, &import, &[]).await;
    let page = browser.get(&import).await;
    assert!(page.text.contains("1 new, 0 changed, 0 unchanged, 2 refused"), "{}", page.text);
    assert_eq!(page.text.matches("is not a store you manage").count(), 2, "{}", page.text);
    assert_eq!(apply(&browser, &import).await["state"], "applied");
    assert_eq!(app.get(&format!("/api/items/{chair}")).send().await.json()["price"], serde_json::json!(5.0));
    assert_eq!(items_in(&app, bobs), 1);
    // Another user's import is not found.
    let other = app.browser();
    other.login(&bob.email, PASSWORD).await;
    assert_eq!(other.get(&import).await.status, 404);
}

#[rocket::async_test]
async fn files_that_are_not_csv_text_are_refused_with_a_reason() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    app.store(&owner, "Shop").await;
    let browser = app.browser();
    browser.login(&owner.email, PASSWORD).await;
    let latin1 = upload(&browser, "latin1.csv", b"name,price\nCaf\xe9,1.00\n").await.unwrap_err();
    assert!(latin1.contains("is not UTF-8 text (line 2 is not)"), "{latin1}");
    let binary = upload(&browser, "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").await.unwrap_err();
    assert!(binary.contains("binary data"), "{binary}");
    let header_only = upload(&browser, "empty.csv", b"name,price\n").await.unwrap_err();
    assert!(header_only.contains("no rows under its header"), "{header_only}");
    let quotes = upload(&browser, "broken.csv", b"name,price\n\"Lamp,1.00\n").await;
    // An unclosed quote runs to the end: one row whose name holds the rest.
    let import = quotes.unwrap();
    preview(&browser, &import, &[]).await;
    let page = browser.get(&import).await;
    assert!(page.text.contains("0 new, 0 changed, 0 unchanged, 1 refused"), "{}", page.text);
    // A huge cell refuses its row, not the file.
    let huge = format!("name,price,store\n{},1.00,Shop\nSmall,1.00,Shop\n", "y".repeat(20_000));
    let import = upload(&browser, "huge.csv", huge.as_bytes()).await.unwrap();
    preview(&browser, &import, &[]).await;
    let page = browser.get(&import).await;
    assert!(page.text.contains("1 new, 0 changed, 0 unchanged, 1 refused"), "{}", page.text);
    assert!(page.text.contains("name: is longer than 10000 characters"), "{}", page.text);
}

#[rocket::async_test]
async fn imports_are_kept_twenty_per_account_and_a_week_at_most() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    app.store(&owner, "Shop").await;
    let browser = app.browser();
    browser.login(&owner.email, PASSWORD).await;
    let mut addresses = Vec::new();
    for n in 0..21 {
        let file = format!("name,price,store\nThing {n},1.00,Shop\n");
        addresses.push(upload(&browser, "small.csv", file.as_bytes()).await.unwrap());
    }
    assert_eq!(app.count("imports"), 20);
    assert_eq!(browser.get(&addresses[0]).await.status, 404, "the oldest went");
    assert_eq!(browser.get(&addresses[20]).await.status, 200);

    let mut conn = app.conn();
    diesel::sql_query("UPDATE imports SET created_at = now() - interval '8 days' WHERE id IN (SELECT id FROM imports ORDER BY id LIMIT 5)")
        .execute(&mut conn)
        .unwrap();
    let config = storefront::config::AppConfig::from_figment(&storefront::figment()).unwrap();
    let swept = storefront::housekeeping::sweep(&mut conn, &config).unwrap();
    assert_eq!((swept.imports, app.count("imports")), (5, 15));
}
