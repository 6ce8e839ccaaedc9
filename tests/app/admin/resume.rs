//! A panel form sent after its session ended: the login page there and then,
//! carrying what was typed, and after logging in the form again, filled in,
//! with nothing saved until it is sent again. Only from this site, once, and
//! only for the session that logged in with it.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use storefront::models::Role;
use storefront::schema::sessions;

use crate::harness::{csrf_of, Browser, Reply, TestApp, PASSWORD};

const STAFF: &str = "resume-staff@example.org";

async fn staff(app: &TestApp) -> Browser<'_> {
    let browser = app.browser();
    browser.login(STAFF, PASSWORD).await;
    browser
}

/// Ends every web session, as an idle timeout would.
fn end_sessions(app: &TestApp) {
    diesel::update(sessions::table.filter(sessions::kind.eq("web")))
        .set(sessions::expires_at.eq(Utc::now() - Duration::minutes(1)))
        .execute(&mut app.conn())
        .unwrap();
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let value = html.split(&marker).nth(1)?.split('"').next()?;
    Some(value.replace("&amp;", "&").replace("&#x2F;", "/").replace("&#x27;", "'").replace("&quot;", "\""))
}

/// Logs in through the page `reply` is, sending what it carries.
async fn log_in_from(browser: &Browser<'_>, reply: &Reply, password: &str) -> Reply {
    log_in_as(browser, reply, STAFF, password).await
}

/// Logs in as `email` through the page `reply` is, sending what it carries.
async fn log_in_as(browser: &Browser<'_>, reply: &Reply, email: &str, password: &str) -> Reply {
    let token = csrf_of(&reply.text);
    let next = hidden(&reply.text, "next").unwrap_or_default();
    let draft = hidden(&reply.text, "draft").unwrap_or_default();
    let seal = hidden(&reply.text, "draft_seal").unwrap_or_default();
    browser
        .post(
            "/account/login",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", password),
                ("next", &next),
                ("draft", &draft),
                ("draft_seal", &seal),
            ],
        )
        .await
}

#[rocket::async_test]
async fn an_edit_sent_after_the_session_ended_comes_back_after_logging_in() {
    let app = TestApp::new().await;
    app.insert_user(STAFF, Role::Staff);
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let item = app.item(&owner, store, "Kettle", "20.00").await;
    let browser = staff(&app).await;
    let form = browser.get(&format!("/admin/items/{item}")).await;
    let (token, version) = (csrf_of(&form.text), hidden(&form.text, "version").unwrap());
    end_sessions(&app);

    let fields = [
        ("csrf_token", token.as_str()),
        ("version", &version),
        ("original.name", "Kettle"),
        ("original.price", "20.00"),
        ("name", "Kettle & lid"),
        ("price", "21.50"),
        ("description", "Typed late"),
        ("action", "save"),
    ];
    let sent = browser.post(&format!("/admin/items/{item}"), &fields).await;
    assert_eq!(sent.status, 401, "{}", sent.text);
    assert!(sent.text.contains("<h1>Log in</h1>"));
    assert!(sent.text.contains("Log in again, and what you typed comes back in the form."));
    assert_eq!(hidden(&sent.text, "next").as_deref(), Some(format!("/admin/items/{item}").as_str()));
    let draft = hidden(&sent.text, "draft").unwrap();
    assert!(draft.contains("name=Kettle+%26+lid") && draft.contains("price=21.50"), "{draft}");
    assert!(!draft.contains(&token), "the ended session's token is not carried");
    assert_eq!(app.get(&format!("/api/items/{item}")).send().await.json()["name"], "Kettle", "nothing saved");

    // A wrong password keeps the draft on the login page.
    let wrong = log_in_from(&browser, &sent, "not the password").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(hidden(&wrong.text, "draft").as_deref(), Some(draft.as_str()));

    let logged_in = log_in_from(&browser, &wrong, PASSWORD).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.text);
    assert_eq!(logged_in.header("location"), Some(format!("/admin/items/{item}?draft=1").as_str()));
    let back = browser.get(&format!("/admin/items/{item}?draft=1")).await;
    assert_eq!(back.status, 200);
    assert!(back.text.contains("What you typed is back in the form: check it and save again."));
    assert!(back.text.contains("value=\"Kettle &amp; lid\"") && back.text.contains("value=\"21.50\""));
    assert!(back.text.contains(">Typed late</textarea>"), "{}", back.text);
    assert_eq!(hidden(&back.text, "version"), Some(version.clone()), "still the version it was read at");
    assert_eq!(hidden(&back.text, "original.name").as_deref(), Some("Kettle"));

    // Taken once: the page again shows what is stored.
    let again = browser.get(&format!("/admin/items/{item}?draft=1")).await;
    assert!(!again.text.contains("What you typed is back") && again.text.contains("value=\"Kettle\""));

    // Sent again, signed in, it saves.
    let token = csrf_of(&back.text);
    let saved = browser
        .post(
            &format!("/admin/items/{item}"),
            &[
                ("csrf_token", token.as_str()),
                ("version", &version),
                ("name", "Kettle & lid"),
                ("price", "21.50"),
                ("description", "Typed late"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    assert_eq!(app.get(&format!("/api/items/{item}")).send().await.json()["name"], "Kettle & lid");
}

#[rocket::async_test]
async fn a_new_object_sent_after_the_session_ended_comes_back_on_its_form() {
    let app = TestApp::new().await;
    app.insert_user(STAFF, Role::Staff);
    let browser = staff(&app).await;
    let token = browser.csrf("/admin/stores/new").await;
    end_sessions(&app);

    let sent = browser
        .post("/admin/stores", &[("csrf_token", &token), ("name", "Opened late"), ("action", "save")])
        .await;
    assert_eq!(sent.status, 401);
    assert_eq!(hidden(&sent.text, "next").as_deref(), Some("/admin/stores/new"));
    assert_eq!(app.count("stores"), 0);

    let logged_in = log_in_from(&browser, &sent, PASSWORD).await;
    assert_eq!(logged_in.header("location"), Some("/admin/stores/new?draft=1"));
    let back = browser.get("/admin/stores/new?draft=1").await;
    assert!(back.text.contains("value=\"Opened late\""), "{}", back.text);
    assert!(back.text.contains("What you typed is back in the form"));
}

#[rocket::async_test]
async fn only_a_form_of_this_site_is_kept_and_only_for_the_session_that_logged_in_with_it() {
    let app = TestApp::new().await;
    app.insert_user(STAFF, Role::Staff);
    let browser = staff(&app).await;
    let token = browser.csrf("/admin/stores/new").await;
    end_sessions(&app);
    let fields = [("csrf_token", token.as_str()), ("name", "Forged")];

    // From another site, or from no page at all: refused, as any forged form.
    let forged = browser.post_from("/admin/stores", &fields, Some("https://evil.example")).await;
    assert_eq!(forged.status, 403);
    assert!(!forged.text.contains("name=\"draft\""));
    let unstated = browser.post_from("/admin/stores", &fields, None).await;
    assert_eq!(unstated.status, 403);
    // A form with nothing typed: the login page as for any page.
    let empty = browser.post("/admin/stores", &[("csrf_token", token.as_str())]).await;
    assert_eq!(empty.status, 303);
    assert_eq!(empty.header("location"), Some("/account/login?next=%2Fadmin%2Fstores"));

    // Kept for the session that logged in with it, not another one.
    let sent = browser.post("/admin/stores", &fields).await;
    assert_eq!(sent.status, 401);
    let logged_in = log_in_from(&browser, &sent, PASSWORD).await;
    assert_eq!(logged_in.status, 303);
    let other = staff(&app).await;
    let elsewhere = other.get("/admin/stores/new?draft=1").await;
    assert_eq!(elsewhere.status, 200);
    assert!(!elsewhere.text.contains("Forged") && !elsewhere.text.contains("What you typed is back"));
    assert!(browser.get("/admin/stores/new?draft=1").await.text.contains("value=\"Forged\""));
    assert_eq!(app.count("form_drafts"), 0, "taken");
}

#[rocket::async_test]
async fn a_draft_comes_back_only_to_the_account_whose_session_typed_it() {
    let app = TestApp::new().await;
    let admin_email = "resume-admin@example.org";
    app.insert_user(admin_email, Role::Admin);
    let member_email = "resume-member@example.org";
    let member = app.insert_user(member_email, Role::Member);
    // A shared computer: the member was signed in, and the session ended.
    let shared = app.browser();
    shared.login(member_email, PASSWORD).await;
    let token = shared.csrf("/account").await;
    end_sessions(&app);

    // The member sends a promotion of their own account to the panel.
    let fields =
        [("csrf_token", token.as_str()), ("role", "admin"), ("is_active", "true"), ("action", "save")];
    let sent = shared.post(&format!("/admin/users/{member}"), &fields).await;
    assert_eq!(sent.status, 401, "{}", sent.text);
    assert!(hidden(&sent.text, "draft").is_some_and(|draft| draft.contains("role=admin")));

    // An admin logs in on that very page: the draft is not theirs.
    let logged_in = log_in_as(&shared, &sent, admin_email, PASSWORD).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.text);
    assert_eq!(logged_in.header("location"), Some(format!("/admin/users/{member}").as_str()));
    assert_eq!(app.count("form_drafts"), 0);
    let page = shared.get(&format!("/admin/users/{member}?draft=1")).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("What you typed is back"), "{}", page.text);
    assert!(page.text.contains("<option value=\"member\" selected"), "{}", page.text);
    let role: String = {
        use storefront::schema::users;
        users::table.find(member).select(users::role).first(&mut app.conn()).unwrap()
    };
    assert_eq!(role, "member");
}

#[rocket::async_test]
async fn a_draft_needs_the_ended_session_of_its_account_and_its_own_seal() {
    let app = TestApp::new().await;
    app.insert_user(STAFF, Role::Staff);
    // A browser that was never signed in has no account to keep a draft for.
    let stranger = app.browser();
    let token = stranger.csrf("/account/login").await;
    let fields = [("csrf_token", token.as_str()), ("name", "Nobody's")];
    let sent = stranger.post("/admin/stores", &fields).await;
    assert_eq!(sent.status, 303);
    assert_eq!(sent.header("location"), Some("/account/login?next=%2Fadmin%2Fstores"));

    // A seal opens only the draft it was made for.
    let browser = staff(&app).await;
    let token = browser.csrf("/admin/stores/new").await;
    end_sessions(&app);
    let sent = browser.post("/admin/stores", &[("csrf_token", &token), ("name", "Sealed")]).await;
    assert_eq!(sent.status, 401);
    let tampered = sent.text.replace("name=Sealed", "name=Swapped");
    assert!(tampered.contains("name=Swapped"));
    let tampered = Reply { text: tampered, ..sent };
    let logged_in = log_in_from(&browser, &tampered, PASSWORD).await;
    assert_eq!(logged_in.status, 303);
    assert_eq!(logged_in.header("location"), Some("/admin/stores/new"));
    assert_eq!(app.count("form_drafts"), 0);
}

#[rocket::async_test]
async fn the_version_a_user_is_edited_at_is_not_derived_from_what_users_see() {
    let app = TestApp::new().await;
    app.insert_user(STAFF, Role::Staff);
    let admin = app.user(Role::Admin).await;
    let member = app.user(Role::Member).await;
    let browser = app.browser();
    browser.login(&admin.email, PASSWORD).await;
    let version_of = |text: &str| hidden(text, "version").unwrap().parse::<i64>().unwrap();
    let created = app.get(&format!("/api/user/{}", member.id)).bearer(&member.access).send().await.json();
    let created_at = chrono::DateTime::parse_from_rfc3339(created["created_at"].as_str().unwrap()).unwrap();
    let form = browser.get(&format!("/admin/users/{}", member.id)).await;
    let version = version_of(&form.text);
    assert_ne!(version, created_at.timestamp_micros());
    assert!(version > 1_000_000, "random, not a count: {version}");
    // Every change draws a new one.
    diesel::update(storefront::schema::users::table.find(member.id))
        .set(storefront::schema::users::is_active.eq(true))
        .execute(&mut app.conn())
        .unwrap();
    let form = browser.get(&format!("/admin/users/{}", member.id)).await;
    assert_ne!(version_of(&form.text), version);
}
