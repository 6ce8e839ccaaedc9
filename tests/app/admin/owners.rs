//! Store owners in the panel ("Your stores"): their own stores, items and
//! tags, through the same pages as staff, and nobody else's.

use storefront::models::Role;

use crate::harness::{csrf_of, TestApp, TestUser, PASSWORD};

async fn member_browser<'a>(app: &'a TestApp, user: &TestUser) -> crate::harness::Browser<'a> {
    let browser = app.browser();
    browser.login(&user.email, PASSWORD).await;
    browser
}

fn version_of(html: &str) -> String {
    html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

#[rocket::async_test]
async fn owners_see_and_edit_only_their_own_stores() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let mine = app.store(&ann, "Ann's Apples").await;
    let theirs = app.store(&bob, "Bob's Bikes").await;
    let my_item = app.item(&ann, mine, "Cox", "1.00").await;
    let their_item = app.item(&bob, theirs, "Tandem", "900.00").await;
    let my_tag = app.tag(&ann, mine, "crisp").await;
    let their_tag = app.tag(&bob, theirs, "fast").await;
    let browser = member_browser(&app, &ann).await;

    for (path, shown, hidden) in [
        ("/admin/stores", "Ann&#x27;s Apples", "Bob&#x27;s Bikes"),
        ("/admin/items", "Cox", "Tandem"),
        ("/admin/tags", "crisp", "fast"),
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.text.contains(shown), "{path}: {}", page.text);
        assert!(!page.text.contains(hidden), "{path} shows another owner's: {}", page.text);
        assert!(page.text.contains("Showing 1–1 of 1"), "{path}");
    }
    let form = browser.get("/admin/items/new").await;
    assert!(
        form.text.contains("Ann&#x27;s Apples") && !form.text.contains("Bob&#x27;s Bikes"),
        "{}",
        form.text
    );

    for path in [
        format!("/admin/stores/{theirs}"),
        format!("/admin/stores/{theirs}/history"),
        format!("/admin/items/{their_item}"),
        format!("/admin/tags/{their_tag}"),
    ] {
        assert_eq!(browser.get(&path).await.status, 403, "{path}");
    }
    for path in
        [format!("/admin/stores/{mine}"), format!("/admin/items/{my_item}"), format!("/admin/tags/{my_tag}")]
    {
        assert_eq!(browser.get(&path).await.status, 200, "{path}");
    }

    let token = csrf_of(&browser.get("/admin/stores").await.text);
    let rename = browser
        .post(
            &format!("/admin/stores/{theirs}"),
            &[("csrf_token", &token), ("name", "Mine now"), ("version", "1")],
        )
        .await;
    assert_eq!(rename.status, 403);
    let smuggled = browser
        .post(
            "/admin/items",
            &[("csrf_token", &token), ("store_id", &theirs.to_string()), ("name", "Spam"), ("price", "1")],
        )
        .await;
    assert_eq!(smuggled.status, 403);
    assert_eq!(app.count(&format!("items WHERE store_id = {theirs}")), 1);
    assert_eq!(app.get(&format!("/api/stores/{theirs}")).send().await.json()["name"], "Bob's Bikes");
}

#[rocket::async_test]
async fn a_member_opens_a_store_fills_it_and_closes_it_from_the_web() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let browser = member_browser(&app, &ann).await;

    let account = browser.get("/account").await;
    assert!(account.text.contains("Your stores") && account.text.contains("You have no store yet."));
    assert!(account.text.contains("href=\"/admin/stores/new\""));
    assert!(account.text.contains("<h2 id=\"settings\">Settings</h2>"));
    assert!(account.text.contains("<a href=\"/account/tokens\">API tokens</a>"));
    let token = csrf_of(&account.text);
    let empty = browser.get("/admin/stores").await;
    assert!(
        empty.text.contains("No stores yet.") && !empty.text.contains("Nothing matches."),
        "{}",
        empty.text
    );
    let searched = browser.get("/admin/stores?q=books").await;
    assert!(searched.text.contains("Nothing matches."), "{}", searched.text);

    let opened = browser.post("/admin/stores", &[("csrf_token", &token), ("name", "Corner Books")]).await;
    assert_eq!(opened.status, 303, "{}", opened.text);
    let store: i64 = app.get("/api/stores").send().await.json()[0]["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/api/stores/{store}")).send().await.json()["owner_id"], ann.id);

    let tag = browser
        .post("/admin/tags", &[("csrf_token", &token), ("store_id", &store.to_string()), ("name", "fiction")])
        .await;
    assert_eq!(tag.status, 303);
    let tag_id = app.get(&format!("/api/stores/{store}/tags")).send().await.json()[0]["id"].as_i64().unwrap();
    let item = browser
        .post(
            "/admin/items",
            &[
                ("csrf_token", &token),
                ("store_id", &store.to_string()),
                ("name", "Dune"),
                ("price", "9.99"),
                ("tag_ids", &tag_id.to_string()),
            ],
        )
        .await;
    assert_eq!(item.status, 303, "{}", item.text);
    let listed = app.get(&format!("/api/items?store_id={store}")).send().await.json();
    assert_eq!(listed[0]["name"], "Dune");
    assert_eq!(listed[0]["tags"][0]["name"], "fiction");

    let account = browser.get("/account").await;
    assert!(account.text.contains("Corner Books</a></td><td class=\"num\">1</td>"), "{}", account.text);

    // Renaming keeps the same conflict handling as staff have.
    let form = browser.get(&format!("/admin/stores/{store}")).await;
    let renamed = browser
        .post(
            &format!("/admin/stores/{store}"),
            &[("csrf_token", &token), ("name", "Corner Books & Maps"), ("version", &version_of(&form.text))],
        )
        .await;
    assert_eq!(renamed.status, 303);

    // A fresh login may close the store, with what is in it.
    let closed = browser.post(&format!("/admin/stores/{store}/delete"), &[("csrf_token", &token)]).await;
    assert_eq!(closed.status, 303, "{}", closed.text);
    assert_eq!(app.count("stores"), 0);
    assert_eq!(app.count("items"), 0);
}

#[rocket::async_test]
async fn owners_get_403_on_the_delete_pages_of_what_is_not_theirs() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let mine = app.store(&ann, "Ann's Apples").await;
    let theirs = app.store(&bob, "Bob's Bikes").await;
    let my_item = app.item(&ann, mine, "Cox", "1.00").await;
    let their_item = app.item(&bob, theirs, "Tandem", "900.00").await;
    let their_tag = app.tag(&bob, theirs, "fast").await;
    let browser = member_browser(&app, &ann).await;

    for path in [
        format!("/admin/stores/{theirs}/delete"),
        format!("/admin/items/{their_item}/delete"),
        format!("/admin/tags/{their_tag}/delete"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(!page.text.contains("Tandem") && !page.text.contains("Bob&#x27;s Bikes"), "{path}");
    }
    assert_eq!(browser.get(&format!("/admin/items/{my_item}/delete")).await.status, 200);

    // The bulk confirmation, with one of theirs among the ids.
    let token = browser.csrf("/admin/items").await;
    let (mine, theirs) = (my_item.to_string(), their_item.to_string());
    let fields = [("csrf_token", token.as_str()), ("ids", mine.as_str()), ("ids", theirs.as_str())];
    let confirm = browser.post("/admin/items/bulk-delete", &fields).await;
    assert_eq!(confirm.status, 403);
    assert!(!confirm.text.contains("Tandem"));
    assert_eq!(app.count("items"), 2);
}

#[rocket::async_test]
async fn an_owners_history_names_staff_by_their_role() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let staff = app.user(Role::Staff).await;
    let store = app.store(&ann, "Ann's Apples").await;
    let item = app.item(&ann, store, "Cox", "1.00").await;
    let renamed = app
        .put(&format!("/api/items/{item}"))
        .bearer(&staff.access)
        .json(serde_json::json!({"name": "Cox's Orange"}))
        .send()
        .await;
    assert_eq!(renamed.status, 200);

    let owner = member_browser(&app, &ann).await;
    let history = owner.get(&format!("/admin/items/{item}/history")).await;
    assert_eq!(history.status, 200);
    assert!(!history.text.contains(&staff.email), "{}", history.text);
    assert!(history.text.contains("a staff member"), "{}", history.text);
    assert!(history.text.contains(&ann.email), "the owner sees their own changes as theirs");

    let colleague = member_browser(&app, &staff).await;
    let history = colleague.get(&format!("/admin/items/{item}/history")).await;
    assert!(history.text.contains(&staff.email), "staff see who it was");
}
