//! Bulk changes to items: choose, confirm what changes, apply all or
//! nothing; refused when an item changed in between; audited and published
//! like single changes; for owners, their own items only.

use serde_json::Value;
use storefront::models::Role;

use crate::harness::{csrf_of, Browser, TestApp, PASSWORD};

/// The value of the hidden input `name` on a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned()
}

async fn price_of(app: &TestApp, id: i64) -> String {
    let price = app.get(&format!("/api/items/{id}")).send().await.json()["price"].as_f64().unwrap();
    format!("{price:.2}")
}

async fn tags_of(app: &TestApp, id: i64) -> Vec<String> {
    let item: Value = app.get(&format!("/api/items/{id}")).send().await.json();
    item["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

/// Posts the change `fields` for the ticked `ids` at `path`.
async fn change(
    browser: &Browser<'_>,
    path: &str,
    token: &str,
    ids: &[i64],
    fields: &[(&str, &str)],
) -> crate::harness::Reply {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", token)];
    form.extend(ids.iter().map(|id| ("ids", id.as_str())));
    form.extend_from_slice(fields);
    browser.post(path, &form).await
}

#[rocket::async_test]
async fn prices_change_by_a_percentage_after_a_confirmation_that_shows_each_change() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let a = app.item(&owner, store, "Alpha", "19.99").await;
    let b = app.item(&owner, store, "Beta", "0.05").await;
    let c = app.item(&owner, store, "Gamma", "0.00").await;
    let browser = app.browser();
    browser.login(&owner.email, PASSWORD).await;
    let list = browser.get("/admin/items").await;
    assert!(list.text.contains("formaction=\"&#x2F;admin&#x2F;items&#x2F;bulk-change\""), "{}", list.text);
    let token = csrf_of(&list.text);
    let path = "/admin/items/bulk-change";

    let choose = change(&browser, path, &token, &[a, b, c], &[]).await;
    assert_eq!(choose.status, 200);
    assert!(choose.text.contains("Change 3 items") && choose.text.contains("value=\"change_price\""));
    let bad =
        change(&browser, path, &token, &[a, b, c], &[("operation", "change_price"), ("percent", "ten")])
            .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("Write the change as a number of percent"), "{}", bad.text);

    let fields = [("operation", "change_price"), ("percent", "+10")];
    let confirm = change(&browser, path, &token, &[a, b, c], &fields).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text.contains("Change the price by +10 %, rounded to the nearest cent (halves up)"));
    assert!(confirm.text.contains("2 items change; 1 already is as asked."), "{}", confirm.text);
    assert!(confirm.text.contains("Yes, change 2 items"));
    assert!(confirm.text.contains("21.99") && confirm.text.contains("0.06"));
    assert_eq!(price_of(&app, a).await, "19.99", "nothing changes before the confirmation");
    let fingerprint = hidden(&confirm.text, "fingerprint");
    assert_eq!(fingerprint.len(), 32);

    let audited = app.count("audit_log");
    let events = app.count("events");
    let mut confirmed = fields.to_vec();
    confirmed.extend([("fingerprint", fingerprint.as_str()), ("confirmed", "true")]);
    let applied = change(&browser, path, &token, &[a, b, c], &confirmed).await;
    assert_eq!((applied.status, applied.header("location")), (303, Some("/admin/items")));
    assert!(browser.get("/admin/items").await.text.contains("Changed 2 items."));
    assert_eq!(
        [price_of(&app, a).await, price_of(&app, b).await, price_of(&app, c).await],
        ["21.99", "0.06", "0.00"]
    );
    assert_eq!((app.count("audit_log") - audited, app.count("events") - events), (2, 2));
    let history = browser.get(&format!("/admin/items/{a}/history")).await;
    assert!(history.text.contains("19.99") && history.text.contains("21.99"));

    // The same confirmation sent again is refused: the items changed since.
    let again = change(&browser, path, &token, &[a, b, c], &confirmed).await;
    assert_eq!(again.status, 409);
    assert!(again.text.contains("Some of these items changed since"));
    assert_eq!(price_of(&app, a).await, "21.99");
}

#[rocket::async_test]
async fn a_change_made_meanwhile_stops_the_whole_bulk_change() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let a = app.item(&owner, store, "Alpha", "10.00").await;
    let b = app.item(&owner, store, "Beta", "20.00").await;
    let browser = app.browser();
    browser.login(&owner.email, PASSWORD).await;
    let token = browser.csrf("/admin/items").await;
    let path = "/admin/items/bulk-change";
    let fields = [("operation", "set_price"), ("price", "5,00")];
    let confirm = change(&browser, path, &token, &[a, b], &fields).await;
    assert!(confirm.text.contains("Set the price to"), "{}", confirm.text);
    let fingerprint = hidden(&confirm.text, "fingerprint");

    let meanwhile = app
        .put(&format!("/api/items/{b}"))
        .bearer(&owner.access)
        .json(serde_json::json!({"name": "Beta, renamed"}))
        .send()
        .await;
    assert_eq!(meanwhile.status, 200);
    let mut confirmed = fields.to_vec();
    confirmed.extend([("fingerprint", fingerprint.as_str()), ("confirmed", "true")]);
    let refused = change(&browser, path, &token, &[a, b], &confirmed).await;
    assert_eq!(refused.status, 409);
    assert!(refused.text.contains("Beta, renamed"), "the changes worked out again: {}", refused.text);
    assert_eq!(
        [price_of(&app, a).await, price_of(&app, b).await],
        ["10.00", "20.00"],
        "nothing half-applied"
    );
}

#[rocket::async_test]
async fn staff_add_and_remove_a_tag_by_name_across_stores_of_all_matching_items() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let north = app.store(&owner, "North").await;
    let south = app.store(&owner, "South").await;
    let sale_north = app.tag(&owner, north, "Sale").await;
    let lamp_n = app.item(&owner, north, "Lamp north", "1.00").await;
    let lamp_s = app.item(&owner, south, "Lamp south", "1.00").await;
    let chair = app.item(&owner, south, "Chair", "1.00").await;
    app.link(&owner, lamp_n, &[sale_north]).await;
    app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;
    let token = browser.csrf("/admin/items").await;
    // "All matching" the search "lamp", from the list's address.
    let path = "/admin/items/bulk-change?q=lamp";
    let all = [("csrf_token", token.as_str()), ("all_matching", "true")];

    let without = [all.as_slice(), &[("operation", "add_tag"), ("tag", "sale")]].concat();
    let confirm = browser.post(path, &without).await;
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.text.contains("1 already is as asked; 1 is in stores without that tag"),
        "{}",
        confirm.text
    );
    assert!(!confirm.text.contains("Yes, change"), "nothing to change");

    let creating =
        [all.as_slice(), &[("operation", "add_tag"), ("tag", "sale"), ("create_missing", "true")]].concat();
    let confirm = browser.post(path, &creating).await;
    assert!(confirm.text.contains("The tag is created first in: South."), "{}", confirm.text);
    let fingerprint = hidden(&confirm.text, "fingerprint");
    let confirmed =
        [creating.as_slice(), &[("fingerprint", fingerprint.as_str()), ("confirmed", "true")]].concat();
    let applied = browser.post(path, &confirmed).await;
    assert_eq!((applied.status, applied.header("location")), (303, Some("/admin/items?q=lamp")));
    assert_eq!(tags_of(&app, lamp_s).await, ["sale"]);
    assert_eq!(tags_of(&app, lamp_n).await, ["Sale"]);
    assert!(tags_of(&app, chair).await.is_empty(), "not matching, not changed");

    let removing = [all.as_slice(), &[("operation", "remove_tag"), ("tag", "SALE")]].concat();
    let confirm = browser.post(path, &removing).await;
    assert!(confirm.text.contains("2 items change"), "{}", confirm.text);
    let fingerprint = hidden(&confirm.text, "fingerprint");
    let confirmed =
        [removing.as_slice(), &[("fingerprint", fingerprint.as_str()), ("confirmed", "true")]].concat();
    assert_eq!(browser.post(path, &confirmed).await.status, 303);
    assert!(tags_of(&app, lamp_n).await.is_empty() && tags_of(&app, lamp_s).await.is_empty());
}

#[rocket::async_test]
async fn owners_change_only_their_own_items() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let anns = app.store(&ann, "Ann's").await;
    let bobs = app.store(&bob, "Bob's").await;
    let mine = app.item(&ann, anns, "Lamp", "1.00").await;
    let theirs = app.item(&bob, bobs, "Lamp", "1.00").await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    let token = browser.csrf("/admin/items").await;
    let fields = [("operation", "set_price"), ("price", "9.00")];
    let refused = change(&browser, "/admin/items/bulk-change", &token, &[mine, theirs], &fields).await;
    assert_eq!(refused.status, 403);

    // "All matching" takes only what the owner manages.
    let all = [
        ("csrf_token", token.as_str()),
        ("all_matching", "true"),
        ("operation", "set_price"),
        ("price", "9.00"),
    ];
    let confirm = browser.post("/admin/items/bulk-change?q=lamp", &all).await;
    assert!(confirm.text.contains("1 item changes"), "{}", confirm.text);
    let fingerprint = hidden(&confirm.text, "fingerprint");
    let confirmed =
        [all.as_slice(), &[("fingerprint", fingerprint.as_str()), ("confirmed", "true")]].concat();
    assert_eq!(browser.post("/admin/items/bulk-change?q=lamp", &confirmed).await.status, 303);
    assert_eq!([price_of(&app, mine).await, price_of(&app, theirs).await], ["9.00", "1.00"]);
    // Nothing selected is said on the list.
    let nothing = browser.post("/admin/items/bulk-change", &[("csrf_token", token.as_str())]).await;
    assert_eq!((nothing.status, nothing.header("location")), (303, Some("/admin/items")));
}
