//! Access, refresh and personal access tokens at their edges.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use storefront::auth::jwt::{Claims, TokenKeys, TokenType};
use storefront::config::AppConfig;
use storefront::models::Role;

use crate::harness::{TestApp, TestUser};

fn keys() -> TokenKeys {
    let config: AppConfig = storefront::figment().extract().expect("configuration");
    TokenKeys::new(&config)
}

fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn own_account(app: &TestApp, user: &TestUser, token: &str) -> crate::harness::Reply {
    app.get(&format!("/api/user/{}", user.id)).bearer(token).send().await
}

#[rocket::async_test]
async fn a_valid_access_token_works_and_forgeries_do_not() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    assert_eq!(own_account(&app, &ann, &ann.access).await.status, 200);

    let claims = claims_of(&ann.access);
    let now = chrono::Utc::now().timestamp();
    let expired =
        keys().sign(&Claims { iat: now - 1000, nbf: now - 1000, exp: now - 100, ..claims.clone() }).unwrap();
    assert_eq!(own_account(&app, &ann, &expired).await.problem(401)["code"], "token_expired");

    let payload = ann.access.split('.').nth(1).unwrap();
    let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#));
    assert_eq!(own_account(&app, &ann, &none).await.problem(401)["code"], "invalid_token");
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(storefront::config::DEBUG_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(own_account(&app, &ann, &hs512).await.problem(401)["code"], "invalid_token");
    let wrong_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-that-is-long-enough"),
    )
    .unwrap();
    assert_eq!(own_account(&app, &ann, &wrong_key).await.problem(401)["code"], "invalid_token");
    let mut tampered: Vec<String> = ann.access.split('.').map(str::to_owned).collect();
    let mut body: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&tampered[1]).unwrap()).unwrap();
    body["fresh"] = json!(true);
    body["sub"] = json!("1");
    tampered[1] = URL_SAFE_NO_PAD.encode(body.to_string());
    assert_eq!(own_account(&app, &ann, &tampered.join(".")).await.problem(401)["code"], "invalid_token");

    let reply = own_account(&app, &ann, "garbage").await;
    assert_eq!(reply.problem(401)["code"], "invalid_token");
    assert!(reply.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));
    let basic = app.get(&format!("/api/user/{}", ann.id)).header("Authorization", "Basic YTpi").send().await;
    assert_eq!(basic.problem(401)["code"], "invalid_token");
}

#[rocket::async_test]
async fn tokens_are_accepted_only_in_the_authorization_header() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let in_query = app.get(&format!("/api/user/{}?access_token={}", ann.id, ann.access)).send().await;
    assert_eq!(in_query.problem(401)["code"], "authorization_required");
    let in_cookie = app
        .get(&format!("/api/user/{}", ann.id))
        .header("Cookie", &format!("access_token={}", ann.access))
        .send()
        .await;
    assert_eq!(in_cookie.problem(401)["code"], "authorization_required");
}

#[rocket::async_test]
async fn refresh_and_access_tokens_are_not_interchangeable() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    assert_eq!(own_account(&app, &ann, &ann.refresh).await.problem(401)["code"], "invalid_token");
    let reply = app.post("/api/refresh").bearer(&ann.access).send().await;
    assert_eq!(reply.problem(401)["code"], "invalid_token");
    assert_eq!(app.post("/api/refresh").send().await.problem(401)["code"], "authorization_required");
}

#[rocket::async_test]
async fn refresh_rotates_and_a_replay_revokes_the_whole_family() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;

    let first = app.post("/api/refresh").bearer(&ann.refresh).send().await;
    assert_eq!(first.status, 200, "{}", first.text);
    let first = first.json();
    let new_access = first["access_token"].as_str().unwrap();
    let new_refresh = first["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, ann.refresh);
    assert!(!claims_of(new_access).fresh);
    assert_eq!(claims_of(new_access).typ, TokenType::Access);
    assert_eq!(own_account(&app, &ann, new_access).await.status, 200);

    let replay = app.post("/api/refresh").bearer(&ann.refresh).send().await;
    assert_eq!(replay.problem(401)["code"], "token_revoked");

    assert_eq!(
        app.post("/api/refresh").bearer(new_refresh).send().await.problem(401)["code"],
        "token_revoked"
    );
    assert_eq!(own_account(&app, &ann, new_access).await.problem(401)["code"], "token_revoked");
    assert_eq!(own_account(&app, &ann, &ann.access).await.problem(401)["code"], "token_revoked");
}

#[rocket::async_test]
async fn logout_revokes_access_and_refresh_on_every_instance() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let second_instance = TestApp::launch_on(app.database.clone(), &app.url(), |f| f).await;

    assert_eq!(app.post("/api/logout").bearer(&ann.access).send().await.status, 204);

    for instance in [&app, &second_instance] {
        assert_eq!(own_account(instance, &ann, &ann.access).await.problem(401)["code"], "token_revoked");
        assert_eq!(
            instance.post("/api/refresh").bearer(&ann.refresh).send().await.problem(401)["code"],
            "token_revoked"
        );
    }
    assert_eq!(app.post("/api/logout").send().await.problem(401)["code"], "authorization_required");
    // The second instance shares the first one's database: leave dropping it to the first.
    std::mem::forget(second_instance);
}

#[rocket::async_test]
async fn deactivation_deletion_and_password_changes_take_effect_at_once() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let cid = app.user(Role::Member).await;
    use diesel::prelude::*;
    use storefront::schema::users;
    let mut conn = app.conn();

    diesel::update(users::table.find(ann.id)).set(users::is_active.eq(false)).execute(&mut conn).unwrap();
    assert_eq!(own_account(&app, &ann, &ann.access).await.problem(401)["code"], "token_revoked");
    assert_eq!(
        app.post("/api/refresh").bearer(&ann.refresh).send().await.problem(401)["code"],
        "token_revoked"
    );

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let hash = storefront::auth::password::hash("a-brand-new-password").unwrap();
    storefront::models::User::set_password_hash(&mut conn, bob.id, &hash).unwrap();
    assert_eq!(own_account(&app, &bob, &bob.access).await.problem(401)["code"], "token_revoked");

    diesel::delete(users::table.find(cid.id)).execute(&mut conn).unwrap();
    assert_eq!(own_account(&app, &cid, &cid.access).await.problem(401)["code"], "token_revoked");
}

#[rocket::async_test]
async fn personal_access_tokens_work_like_access_tokens_but_are_never_fresh() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let mut conn = app.conn();
    let (token, secret) =
        storefront::services::sessions::create_personal_token(&mut conn, ann.id, "ci", None).unwrap();
    assert!(secret.starts_with("sfp_") && secret.starts_with(&token.prefix));

    assert_eq!(own_account(&app, &ann, &secret).await.status, 200);
    let store = app.post("/api/stores").bearer(&secret).json(json!({"name": "Via token"})).send().await;
    assert_eq!(store.status, 201, "{}", store.text);
    let id = store.json()["id"].as_i64().unwrap();
    // A personal token can never be fresh: 403, and the answer says what to do.
    let fresh_only = app.delete(&format!("/api/stores/{id}")).bearer(&secret).send().await;
    let problem = fresh_only.problem(403);
    assert_eq!(problem["code"], "fresh_token_required");
    assert_eq!(
        problem["detail"],
        "A personal access token cannot do this. Log in again (POST /api/login) and use the access \
         token of that login."
    );
    let challenge = fresh_only.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    let own_delete = app.delete(&format!("/api/user/{}", ann.id)).bearer(&secret).send().await;
    assert_eq!(own_delete.problem(403)["code"], "fresh_token_required");
    // A refreshed access token is not fresh either, but a new login cures it: 401.
    let refreshed = app.post("/api/refresh").bearer(&ann.refresh).send().await.json();
    let access = refreshed["access_token"].as_str().unwrap();
    let stale = app.delete(&format!("/api/stores/{id}")).bearer(access).send().await;
    assert_eq!(stale.problem(401)["code"], "fresh_token_required");

    let unknown = own_account(&app, &ann, "sfp_thisisnotarealtokenatallxxxxxxxxxxxxxxxxxxx").await;
    assert_eq!(unknown.problem(401)["code"], "invalid_token");
    storefront::models::ApiToken::revoke(&mut conn, ann.id, token.id).unwrap();
    assert_eq!(own_account(&app, &ann, &secret).await.problem(401)["code"], "token_revoked");

    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let (_, expired) =
        storefront::services::sessions::create_personal_token(&mut conn, ann.id, "old", Some(past)).unwrap();
    assert_eq!(own_account(&app, &ann, &expired).await.problem(401)["code"], "token_expired");
}

#[rocket::async_test]
async fn logging_out_with_a_personal_token_revokes_it() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let (_, secret) =
        storefront::services::sessions::create_personal_token(&mut app.conn(), ann.id, "cli", None).unwrap();
    assert_eq!(app.post("/api/logout").bearer(&secret).send().await.status, 204);
    assert_eq!(own_account(&app, &ann, &secret).await.problem(401)["code"], "token_revoked");
    assert_eq!(own_account(&app, &ann, &ann.access).await.status, 200);
}

#[rocket::async_test]
async fn the_refresh_token_may_come_in_the_body_instead() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let refreshed = app.post("/api/refresh").json(json!({"refresh_token": ann.refresh})).send().await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let body = refreshed.json();
    assert_eq!(body["user"]["id"], ann.id);
    assert_eq!(body["user"]["email"], ann.email.as_str());
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(own_account(&app, &ann, body["access_token"].as_str().unwrap()).await.status, 200);

    // Each works once, in the body as in the header: a replay revokes the session.
    let replay = app.post("/api/refresh").json(json!({"refresh_token": ann.refresh})).send().await;
    assert_eq!(replay.problem(401)["code"], "token_revoked");
    assert_eq!(app.post("/api/refresh").bearer(&next).send().await.problem(401)["code"], "token_revoked");

    // An access token is not a refresh token, wherever it is sent.
    let wrong = app.post("/api/refresh").json(json!({"refresh_token": ann.access})).send().await;
    assert_eq!(wrong.problem(401)["code"], "invalid_token");
    let missing = app.post("/api/refresh").json(json!({})).send().await;
    assert_eq!(missing.problem(422)["errors"]["refresh_token"], "is required");
    let extra = app.post("/api/refresh").json(json!({"refresh_token": "x", "user": 1})).send().await;
    assert_eq!(extra.problem(422)["errors"]["user"], "is not a known field");
    let form = app.post("/api/refresh").raw(Some("text/plain"), "refresh_token=x").send().await;
    assert_eq!(form.problem(415)["code"], "unsupported_media_type");
    let nothing = app.post("/api/refresh").send().await;
    assert_eq!(nothing.problem(401)["code"], "authorization_required");
}
