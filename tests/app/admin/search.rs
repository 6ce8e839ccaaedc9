//! The panel's search box: grouped results for staff, admins and owners,
//! as a page and as suggestions.

use serde_json::Value;
use storefront::models::Role;

use crate::harness::{TestApp, PASSWORD};

fn labels(group: &Value) -> Vec<String> {
    group["found"].as_array().unwrap().iter().map(|f| f["label"].as_str().unwrap().to_owned()).collect()
}

#[rocket::async_test]
async fn staff_find_stores_items_and_tags_and_admins_users_too() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let house = app.store(&owner, "Lamp House").await;
    let other = app.store(&owner, "Chairs <b>& co</b>").await;
    app.item(&owner, other, "Desk LAMP", "10.00").await;
    app.item(&owner, other, "Stool", "10.00").await;
    app.tag(&owner, house, "lamps").await;
    app.insert_user("lamplighter@example.org", Role::Member);
    app.insert_user("staff@example.org", Role::Staff);
    app.insert_user("admin@example.org", Role::Admin);

    let staff = app.browser();
    staff.login("staff@example.org", PASSWORD).await;
    let list = staff.get("/admin/stores").await;
    assert!(
        list.text.contains("action=\"/admin/search\"") && list.text.contains("role=\"combobox\""),
        "the box is on every page"
    );
    let suggestions = staff.get("/admin/search/suggestions?q=lamp").await;
    assert_eq!(suggestions.status, 200);
    let groups: Value = serde_json::from_str(&suggestions.text).unwrap();
    let titles: Vec<&str> = groups.as_array().unwrap().iter().map(|g| g["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Stores", "Items", "Tags"], "no users for staff");
    assert_eq!(labels(&groups[0]), ["Lamp House"]);
    assert_eq!(labels(&groups[1]), ["Desk LAMP"]);
    assert_eq!(groups[1]["found"][0]["detail"], "Chairs <b>& co</b>");
    assert!(groups[1]["found"][0]["href"].as_str().unwrap().starts_with("/admin/items/"));
    assert_eq!(labels(&groups[2]), ["lamps"]);
    assert_eq!(
        (groups[0]["total"].as_i64(), groups[0]["all"].as_str()),
        (Some(1), Some("/admin/stores?q=lamp"))
    );

    let page = staff.get("/admin/search?q=lamp").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Chairs &lt;b&gt;&amp; co&lt;&#x2F;b&gt;"), "escaped: {}", page.text);
    assert!(!page.text.contains("lamplighter@example.org"));
    assert!(staff
        .get("/admin/search?q=nothing-like-it")
        .await
        .text
        .contains("Nothing holds “nothing-like-it”."));

    let admin = app.browser();
    admin.login("admin@example.org", PASSWORD).await;
    let groups: Value =
        serde_json::from_str(&admin.get("/admin/search/suggestions?q=lamp").await.text).unwrap();
    assert_eq!(groups[3]["title"], "Users");
    assert_eq!(labels(&groups[3]), ["lamplighter@example.org"]);
    assert_eq!(groups[3]["found"][0]["detail"], "member");
}

#[rocket::async_test]
async fn owners_find_only_their_own() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let anns = app.store(&ann, "Ann's lamps").await;
    let bobs = app.store(&bob, "Bob's lamps").await;
    app.item(&ann, anns, "Lamp A", "1.00").await;
    app.item(&bob, bobs, "Lamp B", "1.00").await;
    app.tag(&bob, bobs, "lamp-tag").await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    let groups: Value =
        serde_json::from_str(&browser.get("/admin/search/suggestions?q=lamp").await.text).unwrap();
    assert_eq!(groups.as_array().unwrap().len(), 3);
    assert_eq!(labels(&groups[0]), ["Ann's lamps"]);
    assert_eq!(labels(&groups[1]), ["Lamp A"]);
    assert!(labels(&groups[2]).is_empty());
    assert_eq!(groups[2]["total"], 0);
    // Anonymous visitors are sent to log in; a blank search finds nothing.
    assert_eq!(app.browser().get("/admin/search?q=lamp").await.status, 303);
    let blank: Value =
        serde_json::from_str(&browser.get("/admin/search/suggestions?q=%20").await.text).unwrap();
    assert_eq!(blank, serde_json::json!([]));
}
