//! Web sessions end: after an idle period and an absolute lifetime (members
//! may choose to stay signed in), and what has ended is deleted. With secure
//! cookies the session cookie is `__Host-` prefixed and every cookie `Secure`.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use storefront::models::Role;
use storefront::schema::sessions;

use crate::harness::{Browser, Reply, TestApp, PASSWORD};

async fn log_in(browser: &Browser<'_>, email: &str, remember: bool) -> Reply {
    let token = browser.csrf("/account/login").await;
    let mut fields = vec![("csrf_token", token.as_str()), ("email", email), ("password", PASSWORD)];
    if remember {
        fields.push(("remember", "true"));
    }
    browser.post("/account/login", &fields).await
}

/// `(expires_at - created_at, idle_minutes)` of the user's newest web session.
fn newest_session(app: &TestApp, user_id: i64) -> (Duration, Option<i32>) {
    let (created, expires, idle): (chrono::DateTime<Utc>, chrono::DateTime<Utc>, Option<i32>) =
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::kind.eq("web"))
            .order(sessions::id.desc())
            .select((sessions::created_at, sessions::expires_at, sessions::idle_minutes))
            .first(&mut app.conn())
            .unwrap();
    (expires - created, idle)
}

fn session_cookie(reply: &Reply) -> &str {
    reply
        .headers
        .iter()
        .find(|(name, value)| name == "set-cookie" && value.contains("storefront_session="))
        .map(|(_, value)| value.as_str())
        .unwrap_or_default()
}

fn rounded_hours(duration: Duration) -> i64 {
    (duration.num_minutes() as f64 / 60.0).round() as i64
}

#[rocket::async_test]
async fn staff_sessions_last_twelve_hours_and_end_after_thirty_idle_minutes() {
    let app = TestApp::new().await;
    let staff = app.user(Role::Staff).await;
    let browser = app.browser();
    // "Keep me signed in" is not for staff.
    let reply = log_in(&browser, &staff.email, true).await;
    assert_eq!(reply.status, 303);
    let (lifetime, idle) = newest_session(&app, staff.id);
    assert_eq!((rounded_hours(lifetime), idle), (12, Some(30)));
    // A cookie for this browser session only: no Expires.
    assert!(!session_cookie(&reply).contains("Expires"), "{}", session_cookie(&reply));
    assert_eq!(browser.get("/admin").await.status, 200);

    // 29 minutes without a request: still signed in.
    let set_last_seen = |minutes: i64| {
        diesel::update(sessions::table.filter(sessions::user_id.eq(staff.id)))
            .set(sessions::last_seen_at.eq(Utc::now() - Duration::minutes(minutes)))
            .execute(&mut app.conn())
            .unwrap();
    };
    set_last_seen(29);
    assert_eq!(browser.get("/admin").await.status, 200);
    // 31: the session has ended, and the login page says so by asking again.
    set_last_seen(31);
    let ended = browser.get("/admin").await;
    assert_eq!(ended.status, 303);
    assert_eq!(ended.header("location"), Some("/account/login?next=%2Fadmin"));
}

#[rocket::async_test]
async fn a_session_ends_at_its_absolute_lifetime_however_busy() {
    let app = TestApp::configured(|f| f.merge(("session_hours", 2))).await;
    let member = app.user(Role::Member).await;
    let browser = app.browser();
    log_in(&browser, &member.email, false).await;
    let (lifetime, idle) = newest_session(&app, member.id);
    assert_eq!((rounded_hours(lifetime), idle), (2, Some(30)));
    assert_eq!(browser.get("/account").await.status, 200);
    diesel::update(sessions::table.filter(sessions::user_id.eq(member.id)))
        .set((
            sessions::expires_at.eq(Utc::now() - Duration::seconds(1)),
            sessions::last_seen_at.eq(Utc::now()),
        ))
        .execute(&mut app.conn())
        .unwrap();
    assert_eq!(browser.get("/account").await.status, 303);
}

#[rocket::async_test]
async fn members_who_ask_stay_signed_in_for_thirty_days() {
    let app = TestApp::new().await;
    let member = app.user(Role::Member).await;
    let browser = app.browser();
    let login = browser.get("/account/login").await;
    assert!(login.text.contains("Keep me signed in"), "{}", login.text);
    assert!(login.text.contains("up to 30 days"));

    let reply = log_in(&browser, &member.email, true).await;
    assert_eq!(reply.status, 303);
    let (lifetime, idle) = newest_session(&app, member.id);
    assert_eq!((lifetime.num_days(), idle), (30, None));
    // The cookie outlives the browser session, until the session expires.
    assert!(session_cookie(&reply).contains("Expires="), "{}", session_cookie(&reply));
    // An idle week later, still signed in.
    diesel::update(sessions::table.filter(sessions::user_id.eq(member.id)))
        .set(sessions::last_seen_at.eq(Utc::now() - Duration::days(7)))
        .execute(&mut app.conn())
        .unwrap();
    assert_eq!(browser.get("/account").await.status, 200);
}

#[rocket::async_test]
async fn ended_sessions_are_deleted_and_live_ones_kept() {
    let app = TestApp::new().await;
    let member = app.user(Role::Member).await;
    let (live, idle, expired, revoked) = (app.browser(), app.browser(), app.browser(), app.browser());
    for browser in [&live, &idle, &expired, &revoked] {
        log_in(browser, &member.email, false).await;
    }
    let mut conn = app.conn();
    let ids: Vec<i64> = sessions::table
        .filter(sessions::user_id.eq(member.id))
        .filter(sessions::kind.eq("web"))
        .order(sessions::id)
        .select(sessions::id)
        .load(&mut conn)
        .unwrap();
    let [live_id, idle_id, expired_id, revoked_id] = ids[..] else { panic!("four sessions: {ids:?}") };
    diesel::update(sessions::table.find(idle_id))
        .set(sessions::last_seen_at.eq(Utc::now() - Duration::minutes(45)))
        .execute(&mut conn)
        .unwrap();
    diesel::update(sessions::table.find(expired_id))
        .set(sessions::expires_at.eq(Utc::now() - Duration::minutes(1)))
        .execute(&mut conn)
        .unwrap();
    let token = revoked.csrf("/account").await;
    assert_eq!(revoked.post("/account/logout", &[("csrf_token", &token)]).await.status, 303);

    let config = storefront::config::AppConfig::from_figment(&storefront::figment()).unwrap();
    let swept = storefront::housekeeping::sweep(&mut conn, &config).unwrap();
    assert_eq!(swept.sessions, 3);
    let left: Vec<i64> = sessions::table
        .filter(sessions::id.eq_any([live_id, idle_id, expired_id, revoked_id]))
        .select(sessions::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(left, [live_id]);
    assert_eq!(live.get("/account").await.status, 200);
    // The API session of `app.user` is untouched: it lasts as long as its refresh token.
    assert_eq!(app.get(&format!("/api/user/{}", member.id)).bearer(&member.access).send().await.status, 200);
}

#[rocket::async_test]
async fn with_secure_cookies_the_session_cookie_is_host_prefixed_and_every_cookie_secure() {
    let app = TestApp::configured(|f| f.merge(("secure_cookies", true))).await;
    let member = app.user(Role::Member).await;
    let browser = app.browser();
    let mut cookies = Vec::new();
    let page = browser.get("/account/login").await;
    cookies.extend(page.headers.iter().filter(|(name, _)| name == "set-cookie").cloned());
    let login = log_in(&browser, &member.email, false).await;
    assert_eq!(login.status, 303);
    cookies.extend(login.headers.iter().filter(|(name, _)| name == "set-cookie").cloned());

    let names: Vec<&str> = cookies.iter().filter_map(|(_, value)| value.split('=').next()).collect();
    for expected in
        ["__Host-storefront_csrf", "__Host-storefront_session", "__Host-storefront_device", "_flash"]
    {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    for (_, cookie) in &cookies {
        assert!(cookie.contains("; Secure"), "{cookie}");
    }
    let session = session_cookie(&login);
    assert!(session.contains("Path=/") && !session.contains("Domain"), "{session}");
    // Browsers are told to come back over HTTPS only.
    assert_eq!(page.header("strict-transport-security"), Some("max-age=31536000"));
    // And the browser is signed in with it.
    assert_eq!(browser.get("/account").await.status, 200);
}

#[rocket::async_test]
async fn the_owners_browser_logs_in_while_another_is_throttled() {
    let app = TestApp::new().await;
    let member = app.user(Role::Member).await;
    let owner = app.browser();
    assert_eq!(log_in(&owner, &member.email, false).await.status, 303);
    let token = owner.csrf("/account").await;
    assert_eq!(owner.post("/account/logout", &[("csrf_token", &token)]).await.status, 303);

    let attacker = app.browser();
    for _ in 0..10 {
        let token = attacker.csrf("/account/login").await;
        let fields =
            [("csrf_token", token.as_str()), ("email", member.email.as_str()), ("password", "wrong")];
        assert_eq!(attacker.post("/account/login", &fields).await.status, 401);
    }
    let token = attacker.csrf("/account/login").await;
    let fields = [("csrf_token", token.as_str()), ("email", member.email.as_str()), ("password", PASSWORD)];
    let refused = attacker.post("/account/login", &fields).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s > 800)));
    assert!(refused.text.contains("Too many failed attempts"), "{}", refused.text);

    // The owner's browser kept its device cookie through the logout.
    assert_eq!(log_in(&owner, &member.email, false).await.status, 303);
    assert_eq!(owner.get("/account").await.status, 200);
}

/// Sets the user's role as an admin does, through the panel.
async fn change_role(admin: &Browser<'_>, user_id: i64, role: &str) {
    let form = admin.get(&format!("/admin/users/{user_id}")).await;
    let token = crate::harness::csrf_of(&form.text);
    let version =
        form.text.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let fields = [
        ("csrf_token", token.as_str()),
        ("role", role),
        ("is_active", "true"),
        ("version", &version),
        ("action", "save"),
    ];
    let saved = admin.post(&format!("/admin/users/{user_id}"), &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.text);
}

#[rocket::async_test]
async fn a_new_role_ends_the_sessions_kept_under_the_old_one() {
    let app = TestApp::new().await;
    let member = app.user(Role::Member).await;
    let kept = app.browser();
    assert_eq!(log_in(&kept, &member.email, true).await.status, 303);
    assert_eq!(newest_session(&app, member.id).1, None, "kept signed in, without an idle limit");
    let admin_user = app.user(Role::Admin).await;
    let admin = app.browser();
    assert_eq!(log_in(&admin, &admin_user.email, false).await.status, 303);

    change_role(&admin, member.id, "staff").await;

    // The 30-day session and the API login are over...
    let ended = kept.get("/account").await;
    assert_eq!(ended.status, 303);
    assert_eq!(ended.header("location"), Some("/account/login?next=%2Faccount"));
    let api = app.get(&format!("/api/user/{}", member.id)).bearer(&member.access).send().await;
    assert_eq!(api.problem(401)["code"], "token_revoked");
    // ...and the next login is a staff member's: no staying signed in.
    assert_eq!(log_in(&kept, &member.email, true).await.status, 303);
    let (lifetime, idle) = newest_session(&app, member.id);
    assert_eq!((rounded_hours(lifetime), idle), (12, Some(30)));
    assert_eq!(kept.get("/admin").await.status, 200);
}

#[rocket::async_test]
async fn only_members_may_hold_a_session_without_an_idle_limit() {
    let app = TestApp::new().await;
    let member = app.user(Role::Member).await;
    let kept = app.browser();
    assert_eq!(log_in(&kept, &member.email, true).await.status, 303);
    // Whatever made the account staff without ending its sessions (a change
    // made straight in the database), the kept session no longer holds.
    diesel::update(storefront::schema::users::table.find(member.id))
        .set(storefront::schema::users::role.eq("staff"))
        .execute(&mut app.conn())
        .unwrap();
    assert_eq!(kept.get("/account").await.status, 303);
}

#[rocket::async_test]
async fn an_account_keeps_at_most_fifty_sessions_and_the_oldest_end() {
    let app = TestApp::new().await;
    let member = app.user(Role::Member).await;
    let oldest = app.browser();
    assert_eq!(log_in(&oldest, &member.email, false).await.status, 303);
    let live = |app: &TestApp| {
        app.count(&format!(
            "sessions WHERE user_id = {} AND revoked_at IS NULL AND expires_at > now()",
            member.id
        ))
    };
    // Two so far (the API login of `app.user` and this browser); 49 more
    // logins make 51, one too many.
    for _ in 0..49 {
        assert_eq!(app.login(&member.email, PASSWORD).await.status, 200);
    }
    assert_eq!(live(&app), 50);
    let first = app.get(&format!("/api/user/{}", member.id)).bearer(&member.access).send().await;
    assert_eq!(first.problem(401)["code"], "token_revoked", "the oldest, the API login, has ended");
    assert_eq!(oldest.get("/account").await.status, 200, "the second oldest holds");
}
