//! Public pages: what they show, pagination, escaping, headers, errors.

use serde_json::json;
use storefront::models::Role;

use crate::harness::TestApp;

#[rocket::async_test]
async fn the_home_page_lists_stores_with_item_counts_and_pages() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    for n in 0..23 {
        let store = app.store(&owner, &format!("Store {n:02}")).await;
        if n == 0 {
            app.item(&owner, store, "Only item", "1.00").await;
        }
    }
    let browser = app.browser();

    let first = browser.get("/").await;

    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(first.count("<h1"), 1);
    assert!(first.text.contains("Showing 1–20 of 23"), "{}", first.text);
    assert!(first.text.contains("<a href=\"/stores/"));
    assert!(first.text.contains("Store 00</a></td><td class=\"num store-count\">1</td>"), "{}", first.text);
    assert!(first.text.contains("<div data-live=\"home\">"));
    // The script by its fingerprinted URL: `/static/live.<digest>.js`.
    let script = first.text.split("<script src=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
    assert!(script.starts_with("/static/live.") && script.ends_with(".js") && script.len() == 28, "{script}");
    let second = browser.get("/?page=2").await;
    assert!(second.text.contains("Showing 21–23 of 23"));
    assert!(second.text.contains("Store 22") && !second.text.contains("Store 00"));
}

#[rocket::async_test]
async fn the_store_page_shows_items_and_filters_by_tag() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Corner Books").await;
    let fiction = app.tag(&owner, store, "fiction").await;
    let dune = app.item(&owner, store, "Dune", "9.99").await;
    app.item(&owner, store, "Cosmos", "13.40").await;
    app.link(&owner, dune, &[fiction]).await;
    let browser = app.browser();

    let all = browser.get(&format!("/stores/{store}")).await;
    assert_eq!(all.status, 200);
    assert!(all.text.contains("<h1 data-live-field=\"store-name\">Corner Books</h1>"));
    assert!(all
        .text
        .contains(&format!("<div data-live=\"store\" data-store-id=\"{store}\" data-sort=\"name\">")));
    assert!(all.text.contains(&format!("<li class=\"card\" data-item-id=\"{dune}\" data-price=\"9.99\">")));
    assert!(all.text.contains("Dune") && all.text.contains("Cosmos") && all.text.contains("9.99"));
    assert!(all.text.contains("Showing 1–2 of 2"));

    let filtered = browser.get(&format!("/stores/{store}?tag={fiction}")).await;
    assert!(filtered.text.contains("Dune") && !filtered.text.contains("Cosmos"));
    assert!(filtered.text.contains("Showing 1–1 of 1"));
    assert!(filtered.text.contains(&format!("href=\"/stores/{store}?tag={fiction}\" aria-current=\"true\"")));
}

#[rocket::async_test]
async fn item_and_tag_pages_show_their_subject() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let tag = app.tag(&owner, store, "sale").await;
    let item = app.item(&owner, store, "Lamp", "20.00").await;
    app.link(&owner, item, &[tag]).await;
    app.put(&format!("/api/items/{item}"))
        .bearer(&owner.access)
        .json(json!({"description": "Bright.\nWarm."}))
        .send()
        .await;
    let browser = app.browser();

    let page = browser.get(&format!("/items/{item}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("<h1 data-live-field=\"item-name\">Lamp</h1>")
            && page.text.contains("20.00")
            && page
                .text
                .contains("<p class=\"description\" data-live-field=\"item-description\">Bright.\nWarm.</p>")
    );
    assert!(page.text.contains(&format!("href=\"/tags/{tag}\"")));

    let tag_page = browser.get(&format!("/tags/{tag}")).await;
    assert_eq!(tag_page.status, 200);
    assert!(tag_page.text.contains("Lamp") && tag_page.text.contains("Showing 1–1 of 1"));
}

#[rocket::async_test]
async fn search_finds_by_name_tag_and_price() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let other = app.store(&owner, "Other").await;
    let red = app.tag(&owner, store, "Red").await;
    let red_elsewhere = app.tag(&owner, other, "red").await;
    let apple = app.item(&owner, store, "Apple", "1.20").await;
    let cherry = app.item(&owner, other, "Cherry", "4.00").await;
    app.item(&owner, store, "Banana", "0.50").await;
    app.link(&owner, apple, &[red]).await;
    app.link(&owner, cherry, &[red_elsewhere]).await;
    let browser = app.browser();

    let by_tag = browser.get("/search?tag=RED").await;
    assert!(
        by_tag.text.contains("Apple") && by_tag.text.contains("Cherry") && !by_tag.text.contains("Banana")
    );
    let by_price = browser.get("/search?min_price=1&max_price=2").await;
    assert!(
        by_price.text.contains("Apple")
            && !by_price.text.contains("Cherry")
            && !by_price.text.contains("Banana")
    );
    let by_name = browser.get("/search?q=bananas").await;
    assert!(by_name.text.contains("Banana") && !by_name.text.contains("Apple"));
    assert!(by_name.text.contains("Showing 1–1 of 1"));
    // Newest first unless asked otherwise; the order is kept across pages.
    let position = |html: &str, name: &str| html.find(&format!(">{name}</a>")).unwrap();
    let newest = browser.get("/search?min_price=0").await;
    assert!(position(&newest.text, "Banana") < position(&newest.text, "Apple"));
    assert!(newest.text.contains("<option value=\"newest\" selected>Newest first</option>"));
    let cheapest = browser.get("/search?min_price=0&sort=price").await;
    assert!(position(&cheapest.text, "Banana") < position(&cheapest.text, "Apple"));
    assert!(position(&cheapest.text, "Apple") < position(&cheapest.text, "Cherry"));
    let dearest = browser.get("/search?min_price=0&sort=-price").await;
    assert!(position(&dearest.text, "Cherry") < position(&dearest.text, "Apple"));
    let odd = browser.get("/search?min_price=0&sort=password").await;
    assert!(odd.text.contains("<option value=\"newest\" selected>"));

    let bad = browser.get("/search?min_price=1.005&max_price=abc").await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("There is a problem"));
    assert!(bad.text.contains("The price must have at most two decimal places."));
    assert!(bad.text.contains("aria-invalid=\"true\""));
    let empty = browser.get("/search").await;
    assert_eq!(empty.status, 200);
    assert!(!empty.text.contains("Showing"));
}

#[rocket::async_test]
async fn names_are_escaped_everywhere_they_appear() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let script = "<script>alert(1)</script>";
    let attribute = "\" onfocus=\"x";
    let store = app.store(&owner, script).await;
    let tag = app.tag(&owner, store, attribute).await;
    let item = app.item(&owner, store, attribute, "1.00").await;
    app.link(&owner, item, &[tag]).await;
    app.put(&format!("/api/items/{item}"))
        .bearer(&owner.access)
        .json(json!({"description": format!("{script} Beware: <b>alert</b> & co")}))
        .send()
        .await;
    let browser = app.browser();

    for path in [
        "/".to_owned(),
        format!("/stores/{store}"),
        format!("/items/{item}"),
        format!("/tags/{tag}"),
        "/search?q=onfocus".to_owned(),
        "/search?q=%22%20onfocus%3D%22x".to_owned(),
        // Found in the description: a fragment of it, marked.
        "/search?q=alert".to_owned(),
        // A typo, corrected: the suggestion is escaped too.
        "/search?q=onfokus".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.text.contains(script), "{path} shows raw script");
        assert!(!page.text.contains(attribute), "{path} shows a raw attribute breakout");
        assert!(
            page.text.contains("&lt;script&gt;") || page.text.contains("&quot; onfocus=&quot;x"),
            "{path}"
        );
    }
    // Marks are the page's own; what they mark is escaped like the rest.
    let found = browser.get("/search?q=onfocus").await;
    assert!(found.text.contains("&quot; <mark>onfocus</mark>=&quot;x"), "{}", found.text);
    // Search reads text, not markup: words inside tags and scripts are not
    // found, and a fragment shows the text around the word without them.
    let fragment = browser.get("/search?q=alert").await;
    assert!(
        fragment.text.contains("<mark>alert</mark>") && !fragment.text.contains("<b>"),
        "{}",
        fragment.text
    );
    let corrected = browser.get("/search?q=onfokus").await;
    assert!(
        corrected.text.contains("Did you mean <a href=\"&#x2F;search?q=onfocus\">onfocus</a>?"),
        "{}",
        corrected.text
    );
}

#[rocket::async_test]
async fn pages_carry_the_security_headers() {
    let app = TestApp::new().await;
    let page = app.browser().get("/").await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), None);
    let css = app.browser().get("/static/style.css").await;
    assert_eq!(css.status, 200);
    assert!(css.text.contains("prefers-color-scheme: dark"));
}

#[rocket::async_test]
async fn missing_pages_are_friendly_html() {
    let app = TestApp::new().await;
    let browser = app.browser();
    for path in ["/nothing", "/stores/999999", "/stores/abc", "/items/0", "/tags/99999999999999999999"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.text.contains("<h1>Page not found</h1>"), "{path}");
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    }
}

#[rocket::async_test]
async fn a_failure_is_a_friendly_500_page_without_internals() {
    let app = TestApp::new().await;
    use diesel::prelude::*;
    diesel::sql_query("ALTER TABLE stores RENAME COLUMN version TO secret_column_name")
        .execute(&mut app.conn())
        .unwrap();

    let page = app.browser().get("/").await;

    assert_eq!(page.status, 500);
    assert!(page.text.contains("<h1>Something went wrong</h1>"));
    assert!(!page.text.contains("secret_column_name") && !page.text.contains("version"));
}

#[rocket::async_test]
async fn live_pages_say_which_event_they_are_current_up_to() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    app.item(&owner, store, "Lamp", "20.00").await;
    app.wait_until_numbered();
    let newest: i64 = {
        use diesel::prelude::*;
        diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT max(id) FROM events")
            .get_result(&mut app.conn())
            .unwrap()
    };
    let expected = format!("<body data-currency-prefix=\"€\" data-events-after=\"{newest}\">");
    let browser = app.browser();

    // The instance learns of its own changes through the database, within
    // a few milliseconds.
    let mut page = browser.get(&format!("/stores/{store}")).await;
    for _ in 0..100 {
        if page.text.contains(&expected) {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        page = browser.get(&format!("/stores/{store}")).await;
    }

    assert!(page.text.contains(&expected), "{}", page.text);
}

#[rocket::async_test]
async fn public_pages_take_a_fixed_number_of_statements_whatever_their_size() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let tags = [app.tag(&owner, store, "a").await, app.tag(&owner, store, "b").await];
    let mut item = 0;
    for n in 0..45 {
        item = app.item(&owner, store, &format!("Item {n:02}"), "1.00").await;
        app.link(&owner, item, &tags).await;
    }
    let browser = app.browser();
    let (a, b) = (tags[0], tags[1]);
    // Home: the stores with their item counts, and how many stores there are.
    // Store: the store with its tags and item count, then its page of items
    // with their tags and total. A tag: the tag, then its page. Search and
    // item: one. Search: its page, and the tag names its form suggests.
    for (path, statements) in [
        ("/".to_owned(), 2),
        (format!("/stores/{store}"), 2),
        (format!("/stores/{store}?tag={a}"), 2),
        (format!("/stores/{store}?page=2"), 2),
        (format!("/tags/{b}"), 2),
        (format!("/items/{item}"), 1),
        // Items and their total, their highlights, the counts beside them
        // (the estimate, the matches, their tags' and stores' names), the
        // tag names the form suggests.
        ("/search?q=item".to_owned(), 7),
        ("/search?q=item&tag=a&min_price=0.5".to_owned(), 7),
        ("/items?sort=name&page=2".to_owned(), 2),
    ] {
        let before = app.queries();
        assert_eq!(browser.get(&path).await.status, 200, "{path}");
        assert_eq!(app.queries() - before, statements, "statements of {path}");
    }
}

#[rocket::async_test]
async fn deep_pages_are_read_from_the_nearer_end_in_the_same_order() {
    use diesel::prelude::*;
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    diesel::sql_query(format!(
        "INSERT INTO items (store_id, name, price) SELECT {store}, 'Item ' || lpad(n::text, 4, '0'), 1 \
         FROM generate_series(0, 244) AS n"
    ))
    .execute(&mut app.conn())
    .unwrap();
    let browser = app.browser();
    let names = |html: &str| -> Vec<String> {
        html.split("class=\"item-name\"><a href=\"/items/")
            .skip(1)
            .map(|row| row.split('>').nth(1).unwrap().split('<').next().unwrap().to_owned())
            .collect()
    };
    let expected = |range: std::ops::Range<usize>| range.map(|n| format!("Item {n:04}")).collect::<Vec<_>>();

    let shallow = browser.get(&format!("/stores/{store}?page=3")).await;
    assert!(shallow.text.contains("Showing 41–60 of 245"), "{}", shallow.text);
    assert_eq!(names(&shallow.text), expected(40..60));
    // Fifty cards a page when asked, and the links keep asking.
    let fifty = browser.get(&format!("/stores/{store}?per_page=50&page=2")).await;
    assert!(fifty.text.contains("Showing 51–100 of 245"), "{}", fifty.text);
    assert_eq!(names(&fifty.text), expected(50..100));
    assert!(fifty.text.contains("per_page=50&amp;page=3"), "{}", fifty.text);
    // Past the middle: read backwards, shown forwards.
    let before = app.queries();
    let last = browser.get(&format!("/stores/{store}?page=13")).await;
    assert_eq!(app.queries() - before, 3, "store, total, page");
    assert!(last.text.contains("Showing 241–245 of 245"), "{}", last.text);
    assert_eq!(names(&last.text), expected(240..245));
    let before_last = browser.get(&format!("/stores/{store}?page=12")).await;
    assert_eq!(names(&before_last.text), expected(220..240));
    let beyond = browser.get(&format!("/stores/{store}?page=14")).await;
    assert_eq!(names(&beyond.text), Vec::<String>::new());
}

#[rocket::async_test]
async fn pages_past_the_end_lead_to_the_last_and_pages_are_numbered() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Deep").await;
    for n in 0..3 {
        app.item(&owner, store, &format!("Coffee {n}"), "1.00").await;
    }
    app.bulk_items(store, 200);
    let browser = app.browser();

    let past = browser.get("/?page=5").await;
    assert_eq!((past.status, past.header("location")), (303, Some("/?page=1")));
    let store_past = browser.get(&format!("/stores/{store}?page=99")).await;
    assert_eq!(store_past.status, 303);
    assert_eq!(store_past.header("location"), Some(format!("/stores/{store}?page=11").as_str()));
    let last = browser.get(&format!("/stores/{store}?page=11")).await;
    assert!(last.text.contains("Showing 201–203 of 203"), "{}", last.text);
    let search = browser.get("/search?q=coffee&page=4").await;
    assert_eq!(
        (search.status, search.header("location")),
        (303, Some("/search?q=coffee&sort=relevance&page=1"))
    );

    // First, last and the two either side, with gaps between.
    let middle = browser.get(&format!("/stores/{store}?page=6")).await;
    let bar = middle.text.split("class=\"pagination\"").nth(1).unwrap().split("</nav>").next().unwrap();
    let numbers: Vec<&str> =
        bar.split("aria-label=\"Page ").skip(1).map(|s| s.split(['"', ',']).next().unwrap()).collect();
    assert_eq!(numbers, ["1", "4", "5", "6", "7", "8", "11"], "{bar}");
    assert_eq!(bar.matches("class=\"gap\"").count(), 2);
    assert!(bar.contains("<span aria-current=\"page\" aria-label=\"Page 6, this page\">6</span>"), "{bar}");
    assert!(bar.contains(&format!("href=\"&#x2F;stores&#x2F;{store}?page=11\"")), "{bar}");
}

#[rocket::async_test]
async fn search_says_when_the_lowest_price_is_above_the_highest() {
    let app = TestApp::new().await;
    let browser = app.browser();
    let reply = browser.get("/search?q=a&min_price=20&max_price=5").await;
    assert_eq!(reply.status, 422);
    assert!(reply.text.contains("The lowest price is above the highest: lower it, or raise the highest."));
    assert_eq!(browser.get("/search?q=a&min_price=5&max_price=5").await.status, 200);
}

#[rocket::async_test]
async fn prices_are_written_in_the_configured_currency() {
    let app = TestApp::configured(|figment| figment.merge(("currency", "USD"))).await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Dollars").await;
    let item = app.item(&owner, store, "Desk", "1234.5").await;
    let browser = app.browser();
    let page = browser.get(&format!("/stores/{store}")).await;
    assert!(page.text.contains("<p class=\"item-price\">$1,234.50</p>"), "{}", page.text);
    assert!(page.text.contains("data-currency-prefix=\"$\""));
    let detail = browser.get(&format!("/items/{item}")).await;
    assert!(detail.text.contains("<dd data-live-field=\"item-price\">$1,234.50</dd>"), "{}", detail.text);
    // The API keeps the exact decimal.
    assert_eq!(
        app.get(&format!("/api/items/{item}")).send().await.json()["price"],
        serde_json::json!(1234.50)
    );

    let euros = TestApp::new().await;
    let owner = euros.user(Role::Member).await;
    let store = euros.store(&owner, "Euros").await;
    euros.item(&owner, store, "Chair", "12").await;
    let page = euros.browser().get(&format!("/stores/{store}")).await;
    assert!(page.text.contains("€12.00"), "{}", page.text);
}

#[rocket::async_test]
async fn the_store_page_sorts_all_items_are_listed_and_tags_match_in_part() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Sorted").await;
    let salty = app.tag(&owner, store, "Salty snacks").await;
    let cheap = app.item(&owner, store, "Zwieback", "1.00").await;
    app.item(&owner, store, "Almonds", "9.00").await;
    app.link(&owner, cheap, &[salty]).await;
    let browser = app.browser();

    let by_name = browser.get(&format!("/stores/{store}")).await;
    let rows = by_name.text.split("class=\"item-grid\"").nth(1).unwrap();
    assert!(rows.find("Almonds").unwrap() < rows.find("Zwieback").unwrap());
    assert!(by_name.text.contains("data-sort=\"name\""));
    let by_price = browser.get(&format!("/stores/{store}?sort=-price")).await;
    let rows = by_price.text.split("class=\"item-grid\"").nth(1).unwrap();
    assert!(rows.find("Almonds").unwrap() < rows.find("Zwieback").unwrap(), "highest price first");
    let by_price = browser.get(&format!("/stores/{store}?sort=price")).await;
    let rows = by_price.text.split("class=\"item-grid\"").nth(1).unwrap();
    assert!(rows.find("Zwieback").unwrap() < rows.find("Almonds").unwrap());
    assert!(by_price.text.contains("<option value=\"price\" selected>"));

    let all = browser.get("/items?sort=name").await;
    assert_eq!(all.status, 200);
    assert!(all.text.contains("<h1>All items</h1>") && all.text.contains("Showing 1–2 of 2"), "{}", all.text);

    let partial = browser.get("/search?tag=salt").await;
    assert!(partial.text.contains("Zwieback") && !partial.text.contains("Almonds</a>"), "{}", partial.text);
    assert!(
        partial.text.contains("<option value=\"Salty snacks\"></option>"),
        "the tag field suggests names"
    );
}
