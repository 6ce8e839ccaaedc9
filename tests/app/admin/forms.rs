//! Forms: create and edit with inline errors, the three save buttons,
//! conflicts, delete confirmations, history, users, and CSRF.

use storefront::models::Role;

use crate::harness::{csrf_of, Browser, TestApp, PASSWORD};

/// A change as a history page lists it.
fn change_row(field: &str, from: &str, to: &str) -> String {
    format!("<td data-label=\"Field\">{field}</td><td data-label=\"From\">{from}</td><td data-label=\"To\">{to}</td>")
}

async fn signed_in(app: &TestApp, role: Role) -> Browser<'_> {
    let email = format!("{role}@staff.example.org");
    app.insert_user(&email, role);
    let browser = app.browser();
    browser.login(&email, PASSWORD).await;
    browser
}

#[rocket::async_test]
async fn stores_are_created_with_each_save_button() {
    let app = TestApp::new().await;
    let browser = signed_in(&app, Role::Staff).await;
    let token = browser.csrf("/admin/stores/new").await;

    let save =
        browser.post("/admin/stores", &[("csrf_token", &token), ("name", "One"), ("action", "save")]).await;
    assert_eq!(save.header("location"), Some("/admin/stores"));
    let stay = browser
        .post("/admin/stores", &[("csrf_token", &token), ("name", "Two"), ("action", "continue")])
        .await;
    let two: i64 = {
        use diesel::prelude::*;
        use storefront::schema::stores;
        stores::table.filter(stores::name.eq("Two")).select(stores::id).first(&mut app.conn()).unwrap()
    };
    assert_eq!(stay.header("location"), Some(format!("/admin/stores/{two}").as_str()));
    let another = browser
        .post("/admin/stores", &[("csrf_token", &token), ("name", "Three"), ("action", "another")])
        .await;
    assert_eq!(another.header("location"), Some("/admin/stores/new"));
    assert_eq!(app.count("stores"), 3);
    let flashed = browser.get("/admin/stores/new").await;
    assert!(flashed.text.contains("Saved store “Three”. Add another below."));
    assert_eq!(app.count("audit_log WHERE via = 'admin' AND entity = 'store'"), 3);
}

#[rocket::async_test]
async fn invalid_input_comes_back_with_errors_and_the_typed_values() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Taken").await;
    let browser = signed_in(&app, Role::Staff).await;
    let token = browser.csrf("/admin/stores/new").await;

    let empty = browser.post("/admin/stores", &[("csrf_token", &token), ("name", "   ")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.text.contains("There is a problem") && empty.text.contains("Name must not be empty"));
    assert!(empty.text.contains("aria-invalid=\"true\""));
    let duplicate = browser.post("/admin/stores", &[("csrf_token", &token), ("name", "taken")]).await;
    assert_eq!(duplicate.status, 422);
    assert!(duplicate.text.contains("value=\"taken\""));

    let bad_item = browser
        .post(
            "/admin/items",
            &[("csrf_token", &token), ("store_id", &store.to_string()), ("name", "Lamp"), ("price", "1.005")],
        )
        .await;
    assert_eq!(bad_item.status, 422);
    assert!(bad_item.text.contains("Price must have at most two decimal places"));
    assert!(bad_item.text.contains("value=\"Lamp\"") && bad_item.text.contains("value=\"1.005\""));
    assert_eq!(app.count("items"), 0);
}

#[rocket::async_test]
async fn a_stale_edit_shows_a_conflict_and_overwrites_nothing() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Original").await;
    let browser = signed_in(&app, Role::Staff).await;
    let form = browser.get(&format!("/admin/stores/{store}")).await;
    let token = csrf_of(&form.text);
    assert!(form.text.contains("name=\"version\" value=\"1\""));
    app.put(&format!("/api/stores/{store}"))
        .bearer(&owner.access)
        .json(serde_json::json!({"name": "Theirs"}))
        .send()
        .await;

    let reply = browser
        .post(
            &format!("/admin/stores/{store}"),
            &[("csrf_token", &token), ("name", "Mine"), ("version", "1"), ("action", "save")],
        )
        .await;

    assert_eq!(reply.status, 409);
    assert!(reply.text.contains("was changed by someone else"));
    assert!(
        reply.text.contains(
            "<tr class=\"changed-by-you\"><th scope=\"row\">Name <span class=\"badge\">you changed</span></th><td>Mine</td><td>Theirs</td>"
        ),
        "{}",
        reply.text
    );
    assert_eq!(app.get(&format!("/api/stores/{store}")).send().await.json()["name"], "Theirs");

    // The page keeps the work: a form with "Mine" at the current version,
    // which saves it over theirs on purpose.
    let reapply = reply.text.split("id=\"reapply\"").nth(1).unwrap();
    assert!(reapply.contains("name=\"version\" value=\"2\""), "{reapply}");
    assert!(reapply.contains("value=\"Mine\""), "{reapply}");
    let saved = browser
        .post(
            &format!("/admin/stores/{store}"),
            &[("csrf_token", &token), ("name", "Mine"), ("version", "2"), ("action", "continue")],
        )
        .await;
    assert_eq!(saved.status, 303);
    assert_eq!(app.get(&format!("/api/stores/{store}")).send().await.json()["name"], "Mine");
}

#[rocket::async_test]
async fn item_tags_are_limited_to_the_items_store() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let other = app.store(&owner, "Other").await;
    let mine = app.tag(&owner, store, "mine").await;
    let theirs = app.tag(&owner, other, "theirs").await;
    let item = app.item(&owner, store, "Thing", "1.00").await;
    let browser = signed_in(&app, Role::Staff).await;

    let form = browser.get(&format!("/admin/items/{item}")).await;
    assert!(form.text.contains(&format!("name=\"tag_ids\" value=\"{mine}\"")));
    assert!(!form.text.contains(&format!("name=\"tag_ids\" value=\"{theirs}\"")));
    let token = csrf_of(&form.text);
    let fields = |tag: i64, version: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("name", "Thing".to_owned()),
            ("price", "2.50".to_owned()),
            ("description", String::new()),
            ("tag_ids", tag.to_string()),
            ("version", version.to_owned()),
        ]
    };
    let as_refs = |fields: &Vec<(&'static str, String)>| {
        fields.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };

    let foreign = as_refs(&fields(theirs, "1"));
    let refused = browser
        .post(
            &format!("/admin/items/{item}"),
            &foreign.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(app.count("item_tags"), 0);

    let good = as_refs(&fields(mine, "1"));
    let saved = browser
        .post(
            &format!("/admin/items/{item}"),
            &good.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let read = app.get(&format!("/api/items/{item}")).send().await.json();
    assert_eq!(read["tags"][0]["name"], "mine");
    assert_eq!(read["price"], serde_json::json!(2.5));
}

#[rocket::async_test]
async fn deleting_confirms_what_goes_with_it() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Doomed").await;
    let tag = app.tag(&owner, store, "t").await;
    for n in 0..3 {
        let item = app.item(&owner, store, &format!("I{n}"), "1.00").await;
        app.link(&owner, item, &[tag]).await;
    }
    let browser = signed_in(&app, Role::Staff).await;

    let confirm = browser.get(&format!("/admin/stores/{store}/delete")).await;
    assert!(
        confirm.text.contains("3 items")
            && confirm.text.contains("1 tags")
            && confirm.text.contains("3 links between those items and tags")
    );
    assert_eq!(app.count("stores"), 1);
    let done = browser
        .post(&format!("/admin/stores/{store}/delete"), &[("csrf_token", &csrf_of(&confirm.text))])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        (app.count("stores"), app.count("items"), app.count("tags"), app.count("item_tags")),
        (0, 0, 0, 0)
    );
}

#[rocket::async_test]
async fn history_shows_who_changed_what_from_what_to_what() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Before").await;
    app.put(&format!("/api/stores/{store}"))
        .bearer(&owner.access)
        .json(serde_json::json!({"name": "After"}))
        .send()
        .await;
    let browser = signed_in(&app, Role::Staff).await;

    let page = browser.get(&format!("/admin/stores/{store}/history")).await;

    assert_eq!(page.status, 200);
    assert!(page.text.contains(&owner.email));
    assert!(
        page.text.contains("<td data-label=\"Action\">update</td>")
            && page.text.contains("<td data-label=\"From\">Before</td><td data-label=\"To\">After</td>"),
        "{}",
        page.text
    );
}

#[rocket::async_test]
async fn admins_change_roles_and_deactivation_ends_access_at_once() {
    let app = TestApp::new().await;
    let member = app.user(Role::Member).await;
    let (_, pat) =
        storefront::services::sessions::create_personal_token(&mut app.conn(), member.id, "ci", None)
            .unwrap();
    let browser = signed_in(&app, Role::Admin).await;
    let form = browser.get(&format!("/admin/users/{}", member.id)).await;
    let token = csrf_of(&form.text);
    let version =
        form.text.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    let promoted = browser
        .post(
            &format!("/admin/users/{}", member.id),
            &[
                ("csrf_token", &token),
                ("role", "staff"),
                ("is_active", "true"),
                ("version", &version),
                ("action", "continue"),
            ],
        )
        .await;
    assert_eq!(promoted.status, 303, "{}", promoted.text);
    // A new role ends the logins made under the old one; personal tokens
    // go on, with the new role.
    let ended = app.get(&format!("/api/user/{}", member.id)).bearer(&member.access).send().await;
    assert_eq!(ended.problem(401)["code"], "token_revoked");
    assert_eq!(
        app.get(&format!("/api/user/{}", member.id)).bearer(&pat).send().await.json()["role"],
        "staff"
    );

    let form = browser.get(&format!("/admin/users/{}", member.id)).await;
    let version =
        form.text.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let deactivated = browser
        .post(
            &format!("/admin/users/{}", member.id),
            &[("csrf_token", &token), ("role", "staff"), ("version", &version)],
        )
        .await;
    assert_eq!(deactivated.status, 303);
    let reply = app.get(&format!("/api/user/{}", member.id)).bearer(&pat).send().await;
    assert_eq!(reply.problem(401)["code"], "token_revoked");
    assert_eq!(app.count(&format!("sessions WHERE user_id = {} AND revoked_at IS NULL", member.id)), 0);
}

#[rocket::async_test]
async fn admins_cannot_demote_or_delete_themselves() {
    let app = TestApp::new().await;
    let browser = signed_in(&app, Role::Admin).await;
    let me: i64 = {
        use diesel::prelude::*;
        use storefront::schema::users;
        users::table.select(users::id).first(&mut app.conn()).unwrap()
    };
    let form = browser.get(&format!("/admin/users/{me}")).await;
    let token = csrf_of(&form.text);
    let version =
        form.text.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    let demote = browser
        .post(
            &format!("/admin/users/{me}"),
            &[("csrf_token", &token), ("role", "member"), ("is_active", "true"), ("version", &version)],
        )
        .await;
    assert_eq!(demote.status, 422);
    assert!(demote.text.contains("cannot be changed on your own account"));
    let confirm = browser.get(&format!("/admin/users/{me}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text.contains("You cannot delete your own account here."));
    assert!(!confirm.text.contains("Yes, delete"));
    let delete = browser.post(&format!("/admin/users/{me}/delete"), &[("csrf_token", &token)]).await;
    assert_eq!(delete.status, 409);
    assert!(delete.text.contains("You cannot delete your own account here."));
    let bulk = browser
        .post(
            "/admin/users/bulk-delete",
            &[("csrf_token", &token), ("ids", &me.to_string()), ("confirmed", "true")],
        )
        .await;
    assert_eq!(bulk.status, 409);
    assert_eq!(app.count("users"), 1);
}

#[rocket::async_test]
async fn admin_forms_refuse_missing_tokens_and_other_origins() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Kept").await;
    let browser = signed_in(&app, Role::Admin).await;
    let token = browser.csrf("/admin").await;
    let item = app.item(&owner, store, "Kept item", "1.00").await;
    let tag = app.tag(&owner, store, "kept").await;
    let (store_id, item_id, tag_id) = (store.to_string(), item.to_string(), tag.to_string());
    let bulk = |id: &String| vec![("ids", id.clone()), ("confirmed", "true".to_owned())];
    let forms: Vec<(String, Vec<(&str, String)>)> = vec![
        ("/admin/stores".into(), vec![("name", "New".into())]),
        (format!("/admin/stores/{store}"), vec![("name", "Renamed".into()), ("version", "1".into())]),
        (format!("/admin/stores/{store}/delete"), vec![]),
        ("/admin/stores/bulk-delete".into(), bulk(&store_id)),
        (
            "/admin/items".into(),
            vec![("store_id", store_id.clone()), ("name", "New".into()), ("price", "1".into())],
        ),
        (
            format!("/admin/items/{item}"),
            vec![("name", "Renamed".into()), ("price", "2".into()), ("version", "1".into())],
        ),
        (format!("/admin/items/{item}/delete"), vec![]),
        ("/admin/items/bulk-delete".into(), bulk(&item_id)),
        ("/admin/tags".into(), vec![("store_id", store_id.clone()), ("name", "new".into())]),
        (format!("/admin/tags/{tag}"), vec![("name", "renamed".into()), ("version", "1".into())]),
        (format!("/admin/tags/{tag}/delete"), vec![]),
        ("/admin/tags/bulk-delete".into(), bulk(&tag_id)),
        (format!("/admin/users/{}", owner.id), vec![("role", "admin".into()), ("is_active", "true".into())]),
        (format!("/admin/users/{}/delete", owner.id), vec![]),
        ("/admin/users/bulk-delete".into(), bulk(&owner.id.to_string())),
    ];
    let stranger = app.browser();
    app.insert_user("other-admin@example.org", Role::Admin);
    stranger.login("other-admin@example.org", PASSWORD).await;
    let foreign = stranger.csrf("/admin").await;
    for (path, fields) in forms {
        let plain: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(browser.post(&path, &plain).await.status, 403, "{path} without a token");
        let mut with_foreign = plain.clone();
        with_foreign.push(("csrf_token", &foreign));
        assert_eq!(
            browser.post(&path, &with_foreign).await.status,
            403,
            "{path} with another session's token"
        );
        let mut with_token = plain.clone();
        with_token.push(("csrf_token", &token));
        assert_eq!(
            browser.post_from(&path, &with_token, Some("http://evil.example")).await.status,
            403,
            "{path} cross-origin"
        );
    }
    let store_now = app.get(&format!("/api/stores/{store}")).send().await.json();
    assert_eq!(store_now["name"], "Kept");
    assert_eq!(app.get(&format!("/api/items/{item}")).send().await.json()["name"], "Kept item");
    assert_eq!(app.get(&format!("/api/tags/{tag}")).send().await.json()["name"], "kept");
    assert_eq!(
        (app.count("stores"), app.count("items"), app.count("tags"), app.count("users")),
        (1, 1, 1, 3)
    );
    assert_eq!(
        app.get(&format!("/api/user/{}", owner.id)).bearer(&owner.access).send().await.json()["role"],
        "member"
    );
}

#[rocket::async_test]
async fn a_form_that_does_not_parse_is_422_not_a_missing_page() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Kept").await;
    let browser = signed_in(&app, Role::Staff).await;
    let token = browser.csrf("/admin/stores").await;

    let reply =
        browser.post("/admin/stores/bulk-delete", &[("csrf_token", &token), ("ids", "not-a-number")]).await;

    assert_eq!(reply.status, 422);
    assert!(reply.text.contains("<h1>Request not understood</h1>"));
    assert_eq!(app.get(&format!("/api/stores/{store}")).send().await.status, 200);
}

#[rocket::async_test]
async fn new_forms_start_from_the_store_chosen_and_keep_it_for_the_next() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Kept store").await;
    app.store(&owner, "Other store").await;
    let tag = app.tag(&owner, store, "kept-tag").await;
    let browser = signed_in(&app, Role::Staff).await;

    // The list filtered by store adds to that store; without JavaScript the
    // same address shows the store's tags, with what was typed.
    let list = browser.get(&format!("/admin/items?store={store}")).await;
    assert!(
        list.text.contains(&format!("href=\"&#x2F;admin&#x2F;items&#x2F;new?store_id={store}\"")),
        "{}",
        list.text
    );
    let form = browser.get(&format!("/admin/items/new?store_id={store}&name=Typed&price=2.50")).await;
    assert!(
        form.text.contains(&format!("<option value=\"{store}\" selected>Kept store</option>")),
        "{}",
        form.text
    );
    assert!(form.text.contains("value=\"Typed\"") && form.text.contains("value=\"2.50\""));
    assert!(form.text.contains(&format!("value=\"{tag}\"> kept-tag")), "{}", form.text);
    assert!(
        form.text.contains("name=\"action\" value=\"reload\"")
            && form.text.contains("Show this store&#x27;s tags")
    );
    assert!(!form.text.contains("formmethod"), "nothing is sent in the address");
    // Enter in a field presses the form's first button, which saves.
    let item_form = form.text.split("class=\"admin-form\"").nth(1).unwrap_or_default();
    let first_button = item_form.split("<button").nth(1).unwrap_or_default();
    assert!(first_button.contains("value=\"save\""), "{first_button}");

    // Without the script, the button posts the form back, shown again for
    // the store chosen, with what was typed, and saves nothing.
    let reloaded = browser
        .post(
            "/admin/items",
            &[
                ("csrf_token", &csrf_of(&form.text)),
                ("store_id", &store.to_string()),
                ("name", "Typed"),
                ("price", "2.50"),
                ("action", "reload"),
            ],
        )
        .await;
    assert_eq!(reloaded.status, 200);
    assert!(
        reloaded.text.contains("value=\"Typed\"")
            && reloaded.text.contains(&format!("value=\"{tag}\"> kept-tag"))
    );
    assert_eq!(app.count("items"), 0);
    let blank = browser.get("/admin/items/new").await;
    assert!(blank.text.contains("<option value=\"\">Choose…</option>"), "{}", blank.text);

    let token = csrf_of(&form.text);
    let saved = browser
        .post(
            "/admin/items",
            &[
                ("csrf_token", &token),
                ("store_id", &store.to_string()),
                ("name", "First"),
                ("price", "1"),
                ("action", "another"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    assert_eq!(saved.header("location"), Some(format!("/admin/items/new?store_id={store}").as_str()));

    // A store's page lists what is in it, with links to add more.
    let page = browser.get(&format!("/admin/stores/{store}")).await;
    assert!(page.text.contains("Items (1)") && page.text.contains("Tags (1)"), "{}", page.text);
    assert!(page.text.contains(">First</a>") && page.text.contains(">kept-tag</a>"));
    assert!(page.text.contains("Add an item to this store") && page.text.contains("Add a tag to this store"));
    // Its owner by email, not by id.
    assert!(page.text.contains(&owner.email), "{}", page.text);
}

#[rocket::async_test]
async fn history_and_the_dashboard_name_what_they_speak_of() {
    let app = TestApp::new().await;
    let carol = app.user(Role::Member).await;
    let store = app.store(&carol, "Snacks").await;
    let salty = app.tag(&carol, store, "salty").await;
    let sweet = app.tag(&carol, store, "sweet").await;
    let item = app.item(&carol, store, "Pretzel", "2.00").await;
    app.link(&carol, item, &[salty, sweet]).await;
    let gone = app.item(&carol, store, "Gone soon", "1.00").await;
    app.delete(&format!("/api/items/{gone}")).bearer(&carol.access).send().await;
    let browser = signed_in(&app, Role::Admin).await;

    let history = browser.get(&format!("/admin/items/{item}/history")).await;
    assert!(history.text.contains(&change_row("tags", "(none)", "salty, sweet")), "{}", history.text);
    let store_history = browser.get(&format!("/admin/stores/{store}/history")).await;
    assert!(store_history.text.contains(&change_row("owner", "—", &carol.email)), "{}", store_history.text);

    let dashboard = browser.get("/admin").await;
    assert!(dashboard.text.contains("item “Pretzel”"), "{}", dashboard.text);
    assert!(dashboard.text.contains("item “Gone soon”"), "a deleted item by its last name");
    assert!(dashboard.text.contains("tag “salty”") && dashboard.text.contains("store “Snacks”"));
    assert!(dashboard.text.contains("tags: (none) → salty, sweet"), "{}", dashboard.text);
    let tag_history = browser.get(&format!("/admin/tags/{salty}/history")).await;
    assert!(tag_history.text.contains(&change_row("store", "—", "Snacks")), "{}", tag_history.text);
}

#[rocket::async_test]
async fn a_conflict_reapplies_only_the_fields_this_edit_changed() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let item = app.item(&owner, store, "Kettle", "20.00").await;
    let browser = signed_in(&app, Role::Staff).await;
    let form = browser.get(&format!("/admin/items/{item}")).await;
    let token = csrf_of(&form.text);
    assert!(form.text.contains("name=\"original.name\" value=\"Kettle\""), "{}", form.text);
    assert!(form.text.contains("name=\"original.price\" value=\"20.00\""));
    // Someone else changes the price meanwhile.
    app.put(&format!("/api/items/{item}"))
        .bearer(&owner.access)
        .json(serde_json::json!({"price": "25.00"}))
        .send()
        .await;

    // This edit changed the name only.
    let reply = browser
        .post(
            &format!("/admin/items/{item}"),
            &[
                ("csrf_token", &token),
                ("version", "1"),
                ("name", "Tea kettle"),
                ("price", "20.00"),
                ("description", ""),
                ("original.name", "Kettle"),
                ("original.price", "20.00"),
                ("original.description", ""),
            ],
        )
        .await;
    assert_eq!(reply.status, 409);
    let table = reply.text.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    assert!(
        table
            .contains("Name <span class=\"badge\">you changed</span></th><td>Tea kettle</td><td>Kettle</td>"),
        "{table}"
    );
    assert!(table.contains("<th scope=\"row\">Price</th><td>20.00</td><td>25.00</td>"), "{table}");
    // The form re-applies the name onto their price.
    let reapply = reply.text.split("id=\"reapply\"").nth(1).unwrap();
    assert!(
        reapply.contains("name=\"name\" type=\"text\" value=\"Tea kettle\"")
            || reapply.contains("value=\"Tea kettle\""),
        "{reapply}"
    );
    assert!(reapply.contains("value=\"25.00\"") && !reapply.contains("value=\"20.00\""), "{reapply}");
    assert!(reapply.contains("name=\"original.price\" value=\"25.00\""));
    let saved = browser
        .post(
            &format!("/admin/items/{item}"),
            &[("csrf_token", &token), ("version", "2"), ("name", "Tea kettle"), ("price", "25.00")],
        )
        .await;
    assert_eq!(saved.status, 303);
    let now = app.get(&format!("/api/items/{item}")).send().await.json();
    assert_eq!((&now["name"], &now["price"]), (&serde_json::json!("Tea kettle"), &serde_json::json!(25.00)));
}

#[rocket::async_test]
async fn form_errors_read_as_whole_sentences() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await.to_string();
    let browser = signed_in(&app, Role::Staff).await;
    let token = browser.csrf("/admin/items/new").await;
    let summary_of = |text: &str| {
        text.split("There is a problem").nth(1).unwrap().split("</ul>").next().unwrap().to_owned()
    };

    let reply = browser.post("/admin/items", &[("csrf_token", &token), ("name", "x"), ("price", "1")]).await;
    assert_eq!(reply.status, 422);
    let summary = summary_of(&reply.text);
    assert!(summary.contains(">Choose a store.</a>"), "{summary}");
    assert!(!summary.contains("Store id"), "no doubled subject: {summary}");

    let reply = browser
        .post(
            "/admin/items",
            &[("csrf_token", &token), ("store_id", &store), ("name", "x"), ("price", "1.005")],
        )
        .await;
    let summary = summary_of(&reply.text);
    assert!(summary.contains(">Price must have at most two decimal places.</a>"), "{summary}");
    assert!(reply
        .text
        .contains("<p class=\"error\" id=\"price-error\">Price must have at most two decimal places.</p>"));
}

#[rocket::async_test]
async fn prices_are_read_as_people_type_them_in_the_shop_currency() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Euro shop").await;
    let browser = signed_in(&app, Role::Staff).await;
    let token = browser.csrf("/admin/items/new").await;
    let store_id = store.to_string();
    let create = |name: &'static str, price: &'static str| {
        let (token, store_id) = (token.clone(), store_id.clone());
        let browser = &browser;
        async move {
            let fields = [
                ("csrf_token", token.as_str()),
                ("store_id", store_id.as_str()),
                ("name", name),
                ("price", price),
                ("action", "save"),
            ];
            browser.post("/admin/items", &fields).await
        }
    };
    for (name, typed) in [("Comma", "9,90"), ("Sign", "€9.90"), ("Both", "€ 9,90"), ("After", "1.234,50 €")]
    {
        let saved = create(name, typed).await;
        assert_eq!(saved.status, 303, "{typed}: {}", saved.text);
    }
    let prices: Vec<String> = app
        .get("/api/items?sort=created_at")
        .send()
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["price"].to_string())
        .collect();
    assert_eq!(prices, ["9.9", "9.9", "9.9", "1234.5"], "as JSON numbers");
    // Another currency, or an amount that could be read two ways, is refused.
    for typed in ["$9.90", "9,999"] {
        let refused = create("Refused", typed).await;
        assert_eq!(refused.status, 422, "{typed}");
    }
    // The API stays exact.
    let body = serde_json::json!({"name": "Api", "price": "9,90", "store_id": store});
    assert_eq!(app.post("/api/items").bearer(&owner.access).json(body).send().await.status, 422);
    // And the search reads its price range the same way.
    let found = app.browser().get("/search?min_price=%E2%82%AC1.000%2C00").await;
    assert_eq!(found.status, 200);
    assert!(found.text.contains("After") && !found.text.contains("Comma"), "{}", found.text);
}
