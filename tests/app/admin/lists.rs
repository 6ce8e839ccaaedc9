//! Lists: search, sorting, filters, pages, bulk delete, escaping.

use storefront::models::Role;

use crate::harness::{csrf_of, TestApp, PASSWORD};

async fn staff_browser(app: &TestApp) -> crate::harness::Browser<'_> {
    app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;
    browser
}

#[rocket::async_test]
async fn store_lists_search_sort_and_page() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    for n in 0..25 {
        app.store(&owner, &format!("Shop {n:02}")).await;
    }
    app.store(&owner, "Bakery").await;
    let browser = staff_browser(&app).await;

    let first = browser.get("/admin/stores").await;
    assert!(first.text.contains("Showing 1–20 of 26"));
    assert!(first.text.contains("aria-sort=\"ascending\""));
    let descending = browser.get("/admin/stores?sort=-name").await;
    assert!(descending.text.contains("aria-sort=\"descending\""));
    let first_row = descending.text.split("<tbody>").nth(1).unwrap();
    assert!(first_row.find("Shop 24").unwrap() < first_row.find("Shop 23").unwrap());
    let search = browser.get("/admin/stores?q=bak").await;
    assert!(search.text.contains("Bakery") && search.text.contains("Showing 1–1 of 1"));
    let second = browser.get("/admin/stores?sort=name&page=2").await;
    assert!(second.text.contains("Showing 21–26 of 26"));
    let hostile = browser.get("/admin/stores?sort=password_hash&q=%00").await;
    assert_eq!(hostile.status, 200);
}

#[rocket::async_test]
async fn items_filter_by_store_and_tag() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let other = app.store(&owner, "Other").await;
    let tag = app.tag(&owner, store, "sale").await;
    let tagged = app.item(&owner, store, "Tagged thing", "1.00").await;
    app.item(&owner, store, "Plain thing", "2.00").await;
    app.item(&owner, other, "Elsewhere thing", "3.00").await;
    app.link(&owner, tagged, &[tag]).await;
    let browser = staff_browser(&app).await;

    let by_store = browser.get(&format!("/admin/items?store={store}")).await;
    assert!(by_store.text.contains("Tagged thing") && by_store.text.contains("Plain thing"));
    assert!(!by_store.text.contains("Elsewhere thing"));
    let by_tag = browser.get(&format!("/admin/items?store={store}&tag={tag}")).await;
    assert!(by_tag.text.contains("Tagged thing") && !by_tag.text.contains("Plain thing"));
    let by_price = browser.get("/admin/items?sort=-price").await;
    let body = by_price.text.split("<tbody>").nth(1).unwrap();
    assert!(body.find("Elsewhere thing").unwrap() < body.find("Tagged thing").unwrap());
}

#[rocket::async_test]
async fn bulk_delete_asks_first_then_deletes_the_selection() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let a = app.store(&owner, "A").await;
    let b = app.store(&owner, "B").await;
    let c = app.store(&owner, "C").await;
    app.item(&owner, a, "In A", "1.00").await;
    let browser = staff_browser(&app).await;
    let token = csrf_of(&browser.get("/admin/stores").await.text);
    let (a, b) = (a.to_string(), b.to_string());

    let confirm =
        browser.post("/admin/stores/bulk-delete", &[("csrf_token", &token), ("ids", &a), ("ids", &b)]).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text.contains("Delete these 2 stores?") && confirm.text.contains("<li>1 items</li>"));
    assert_eq!(app.count("stores"), 3);

    let done = browser
        .post(
            "/admin/stores/bulk-delete",
            &[("csrf_token", &token), ("ids", &a), ("ids", &b), ("confirmed", "true")],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(app.count("stores"), 1);
    assert_eq!(app.count("items"), 0);
    assert_eq!(app.get(&format!("/api/stores/{c}")).send().await.status, 200);
}

#[rocket::async_test]
async fn a_linked_tag_is_not_deleted_even_in_bulk() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let used = app.tag(&owner, store, "used").await;
    let unused = app.tag(&owner, store, "unused").await;
    let item = app.item(&owner, store, "Thing", "1.00").await;
    app.link(&owner, item, &[used]).await;
    let browser = staff_browser(&app).await;
    let token = csrf_of(&browser.get("/admin/tags").await.text);
    let (used, unused) = (used.to_string(), unused.to_string());

    let refused = browser
        .post(
            "/admin/tags/bulk-delete",
            &[("csrf_token", &token), ("ids", &used), ("ids", &unused), ("confirmed", "true")],
        )
        .await;

    assert_eq!(refused.status, 409);
    assert!(refused.text.contains("Items still carry these 2 tags"));
    // The dead end leads on: to the items that still carry the tag.
    let to_items = format!(
        "href=\"&#x2F;admin&#x2F;items?store={store}&amp;tag={used}\">See the items tagged “used”</a>"
    );
    assert!(refused.text.contains(&to_items), "{}", refused.text);
    assert_eq!(app.count("tags"), 2);

    // Breadcrumbs say where a page is.
    let page = browser.get(&format!("/admin/items/{item}/history")).await;
    let crumbs =
        page.text.split("aria-label=\"Breadcrumbs\"").nth(1).unwrap().split("</nav>").next().unwrap();
    assert!(crumbs.contains("<a href=\"&#x2F;admin\">Admin</a>"), "{crumbs}");
    assert!(crumbs.contains("<a href=\"&#x2F;admin&#x2F;items\">Items</a>"), "{crumbs}");
    assert!(crumbs.contains(&format!("&#x2F;admin&#x2F;items&#x2F;{item}\">Item “Thing”</a>")), "{crumbs}");
    assert!(crumbs.contains("<span aria-current=\"page\">History</span>"), "{crumbs}");
}

#[rocket::async_test]
async fn names_are_escaped_in_the_panel() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "<script>alert(1)</script>").await;
    let tag = app.tag(&owner, store, "\" onfocus=\"x").await;
    let item = app.item(&owner, store, "<img src=x onerror=alert(1)>", "1.00").await;
    app.link(&owner, item, &[tag]).await;
    let browser = staff_browser(&app).await;
    for path in [
        "/admin".to_owned(),
        "/admin/stores".to_owned(),
        format!("/admin/stores/{store}"),
        format!("/admin/stores/{store}/delete"),
        format!("/admin/stores/{store}/history"),
        "/admin/items".to_owned(),
        format!("/admin/items/{item}"),
        "/admin/tags".to_owned(),
        format!("/admin/tags/{tag}"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        for raw in ["<script>alert(1)</script>", "\" onfocus=\"x", "<img src=x onerror=alert(1)>"] {
            assert!(!page.text.contains(raw), "{path} shows {raw} unescaped");
        }
    }
}

#[rocket::async_test]
async fn large_tables_page_by_estimate_without_counting_every_row() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Warehouse").await;
    let small = app.store(&owner, "Kiosk").await;
    app.item(&owner, small, "Only one", "1.00").await;
    app.bulk_items(store, 120_000);
    let browser = staff_browser(&app).await;

    let started = std::time::Instant::now();
    let everything = browser.get("/admin/items?page=3").await;
    let elapsed = started.elapsed();

    assert_eq!(everything.status, 200);
    assert!(everything.text.contains("Showing 41–60 of about 1"), "{}", everything.text);
    assert!(everything.text.contains("rel=\"next\""));
    assert!(elapsed < std::time::Duration::from_secs(5), "took {elapsed:?}");
    let filtered = browser.get(&format!("/admin/items?store={small}")).await;
    assert!(filtered.text.contains("Showing 1–1 of 1<"), "{}", filtered.text);
}

#[rocket::async_test]
async fn admin_lists_take_the_same_statements_whatever_their_size() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let tag = app.tag(&owner, store, "a").await;
    let mut item = 0;
    for n in 0..30 {
        item = app.item(&owner, store, &format!("Item {n:02}"), "1.00").await;
        app.link(&owner, item, &[tag]).await;
    }
    let browser = staff_browser(&app).await;
    browser.get("/admin").await;
    // What the session costs every page: an item's page is one statement.
    let before = app.queries();
    assert_eq!(browser.get(&format!("/items/{item}")).await.status, 200);
    let session = app.queries() - before - 1;

    // The page of items with their tags and total, then the store picker
    // with the chosen store's tags.
    for path in [
        "/admin/items".to_owned(),
        "/admin/items?q=item&sort=-price".to_owned(),
        format!("/admin/items?store={store}&tag={tag}"),
    ] {
        let before = app.queries();
        assert_eq!(browser.get(&path).await.status, 200, "{path}");
        assert_eq!(app.queries() - before - session, 2, "statements of {path} besides the session");
    }
}

#[rocket::async_test]
async fn admin_lists_choose_their_page_size_and_never_show_a_page_past_the_end() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    for n in 0..60 {
        app.store(&owner, &format!("Shop {n:02}")).await;
    }
    let browser = staff_browser(&app).await;

    let fifty = browser.get("/admin/stores?per_page=50").await;
    assert!(fifty.text.contains("Showing 1–50 of 60"), "{}", fifty.text);
    assert!(fifty.text.contains("<option value=\"50\" selected>50</option>"));
    assert!(
        fifty.text.contains("href=\"&#x2F;admin&#x2F;stores?per_page=50&amp;sort=name&amp;page=2\""),
        "{}",
        fifty.text
    );
    let sorted = fifty.text.split("<thead>").nth(1).unwrap();
    assert!(sorted.contains("href=\"&#x2F;admin&#x2F;stores?per_page=50&amp;sort=-name\""), "{sorted}");
    let odd = browser.get("/admin/stores?per_page=7").await;
    assert!(odd.text.contains("Showing 1–20 of 60"), "only the offered sizes");

    let past = browser.get("/admin/stores?per_page=50&page=3").await;
    assert_eq!(past.status, 303);
    assert_eq!(past.header("location"), Some("/admin/stores?per_page=50&sort=name&page=2"));
    let searched = browser.get("/admin/stores?q=nothing-like-this&page=2").await;
    assert_eq!(searched.header("location"), Some("/admin/stores?q=nothing-like-this&sort=name&page=1"));
}

#[rocket::async_test]
async fn select_all_takes_every_match_of_the_list_not_only_the_page() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    for n in 0..25 {
        app.store(&owner, &format!("Shop {n:02}")).await;
    }
    let bakery = app.store(&owner, "Bakery").await;
    let browser = staff_browser(&app).await;
    let list = browser.get("/admin/stores?q=shop").await;
    assert!(list.text.contains("Select all 25 matching"), "{}", list.text);
    assert!(
        list.text.contains("action=\"&#x2F;admin&#x2F;stores&#x2F;bulk-delete?q=shop\""),
        "{}",
        list.text
    );
    let token = csrf_of(&list.text);

    let confirm = browser
        .post("/admin/stores/bulk-delete?q=shop", &[("csrf_token", &token), ("all_matching", "true")])
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text.contains("Delete these 25 stores?"), "{}", confirm.text);
    assert_eq!(confirm.text.matches("name=\"ids\"").count(), 25);
    assert!(!confirm.text.contains("Bakery"));
    let ids: Vec<String> = confirm
        .text
        .split("name=\"ids\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect();
    let mut fields: Vec<(&str, &str)> = vec![("csrf_token", &token), ("confirmed", "true")];
    fields.extend(ids.iter().map(|id| ("ids", id.as_str())));
    let deleted = browser.post("/admin/stores/bulk-delete?q=shop", &fields).await;
    assert_eq!(deleted.status, 303);
    assert_eq!(app.count("stores"), 1);
    assert_eq!(app.get(&format!("/api/stores/{bakery}")).send().await.status, 200);

    // Past the limit, it asks for a narrower list instead.
    app.bulk_items(bakery, 250);
    let items = browser.get("/admin/items").await;
    let token = csrf_of(&items.text);
    let refused =
        browser.post("/admin/items/bulk-delete", &[("csrf_token", &token), ("all_matching", "true")]).await;
    assert_eq!(refused.status, 303);
    let page = browser.get("/admin/items").await;
    assert!(page.text.contains("takes at most 200 items at a time"), "{}", page.text);
    assert_eq!(app.count("items"), 250);
}
