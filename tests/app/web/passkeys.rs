//! Passkeys as a second step: added from the account page and used at the
//! login's second step, with a software authenticator that answers
//! WebAuthn's ceremonies as a browser would (P-256 keys, `none`
//! attestation); each challenge answered once, answers for another site
//! refused, required staff satisfied, and an admin's reset taking them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::Private;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use storefront::models::Role;

use super::two_step::{logout, recovery_codes_on};
use crate::harness::{csrf_of, Browser, TestApp, PASSWORD};

/// An authenticator in software: one P-256 credential, for one origin.
struct SoftPasskey {
    key: EcKey<Private>,
    credential_id: Vec<u8>,
    counter: u32,
    origin: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The CBOR head of an item of major type `major` and length or value `n`.
fn cbor_head(major: u8, n: usize) -> Vec<u8> {
    match n {
        0..=23 => vec![major << 5 | n as u8],
        24..=255 => vec![major << 5 | 24, n as u8],
        _ => vec![major << 5 | 25, (n >> 8) as u8, n as u8],
    }
}

fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    [cbor_head(2, bytes.len()), bytes.to_vec()].concat()
}

fn cbor_text(text: &str) -> Vec<u8> {
    [cbor_head(3, text.len()), text.as_bytes().to_vec()].concat()
}

fn cbor_int(n: i64) -> Vec<u8> {
    if n >= 0 {
        cbor_head(0, n as usize)
    } else {
        cbor_head(1, (-1 - n) as usize)
    }
}

impl SoftPasskey {
    fn new(origin: &str) -> SoftPasskey {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let mut credential_id = vec![0u8; 32];
        openssl::rand::rand_bytes(&mut credential_id).unwrap();
        SoftPasskey {
            key: EcKey::generate(&group).unwrap(),
            credential_id,
            counter: 0,
            origin: origin.to_owned(),
        }
    }

    fn rp_id(&self) -> String {
        self.origin.split("://").nth(1).unwrap().split(':').next().unwrap().to_owned()
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        json!({"type": kind, "challenge": options["challenge"], "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// Authenticator data: the relying party's hash, user present and
    /// verified (and `extra` flags), the counter, then `attested`.
    fn authenticator_data(&mut self, extra_flags: u8, attested: &[u8]) -> Vec<u8> {
        self.counter += 1;
        let mut data = Sha256::digest(self.rp_id().as_bytes()).to_vec();
        data.push(0x01 | 0x04 | extra_flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data.extend_from_slice(attested);
        data
    }

    /// The public key as COSE: EC2, ES256, P-256, x and y.
    fn cose_key(&self) -> Vec<u8> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let (mut x, mut y) = (openssl::bn::BigNum::new().unwrap(), openssl::bn::BigNum::new().unwrap());
        let mut context = BigNumContext::new().unwrap();
        self.key.public_key().affine_coordinates(&group, &mut x, &mut y, &mut context).unwrap();
        let pad = |n: &openssl::bn::BigNum| n.to_vec_padded(32).unwrap();
        [
            cbor_head(5, 5),
            cbor_int(1),
            cbor_int(2),
            cbor_int(3),
            cbor_int(-7),
            cbor_int(-1),
            cbor_int(1),
            cbor_int(-2),
            cbor_bytes(&pad(&x)),
            cbor_int(-3),
            cbor_bytes(&pad(&y)),
        ]
        .concat()
    }

    /// The answer to `navigator.credentials.create` with these options,
    /// as `PublicKeyCredential.toJSON()` writes it.
    fn register(&mut self, options: &Value) -> String {
        let client_data = self.client_data("webauthn.create", options);
        let mut attested = vec![0u8; 16];
        attested.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        attested.extend_from_slice(&self.credential_id);
        attested.extend_from_slice(&self.cose_key());
        let auth_data = self.authenticator_data(0x40, &attested);
        let attestation = [
            cbor_head(5, 3),
            cbor_text("fmt"),
            cbor_text("none"),
            cbor_text("attStmt"),
            cbor_head(5, 0),
            cbor_text("authData"),
            cbor_bytes(&auth_data),
        ]
        .concat();
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {"clientDataJSON": b64(&client_data), "attestationObject": b64(&attestation)},
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// The answer to `navigator.credentials.get` with these options.
    fn sign_in(&mut self, options: &Value) -> String {
        let client_data = self.client_data("webauthn.get", options);
        let auth_data = self.authenticator_data(0, &[]);
        let signed = [auth_data.clone(), Sha256::digest(&client_data).to_vec()].concat();
        let signature = EcdsaSig::sign(&Sha256::digest(&signed), &self.key).unwrap().to_der().unwrap();
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(&signature),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }
}

const ORIGIN: &str = "http://localhost:8000";

/// Reads back what a page's attribute holds, HTML-escaped.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Adds `passkey` through the account page, named `name`: the reply.
async fn add(browser: &Browser<'_>, passkey: &mut SoftPasskey, name: &str) -> crate::harness::Reply {
    let page = browser.get("/account/two-step").await;
    let token = csrf_of(&page.text);
    let options = browser.post("/account/two-step/passkey/options", &[("csrf_token", &token)]).await;
    assert_eq!(options.status, 200, "{}", options.text);
    let options: Value = serde_json::from_str(&options.text).unwrap();
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    let answer = passkey.register(&options["publicKey"]);
    browser
        .post("/account/two-step/passkey", &[("csrf_token", &token), ("name", name), ("passkey", &answer)])
        .await
}

/// The password step of a web login of an account with passkeys: the
/// page's CSRF token and the options of the passkey sign-in it offers.
async fn password_step(browser: &Browser<'_>, email: &str) -> (String, Value) {
    let token = browser.csrf("/account/login").await;
    let reply = browser
        .post("/account/login", &[("csrf_token", &token), ("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let options = reply.text.split("data-passkey-sign-in=\"").nth(1).expect("a passkey offered");
    let options: Value = serde_json::from_str(&unescape(options.split('"').next().unwrap())).unwrap();
    (csrf_of(&reply.text), options)
}

async fn answer(browser: &Browser<'_>, token: &str, email: &str, passkey: &str) -> crate::harness::Reply {
    browser
        .post(
            "/account/login",
            &[("csrf_token", token), ("email", email), ("code", ""), ("passkey", passkey)],
        )
        .await
}

/// The id of the first app or passkey the two-step page offers to remove.
fn first_removable(page: &str) -> String {
    page.split("action=\"/account/two-step/")
        .skip(1)
        .map(|rest| rest.split('/').next().unwrap())
        .find(|id| id.chars().all(|c| c.is_ascii_digit()))
        .expect("something to remove")
        .to_owned()
}

#[rocket::async_test]
async fn a_passkey_is_a_second_step_each_challenge_answered_once() {
    let app = TestApp::configured(|f| f.merge(("staff_two_step", "required"))).await;
    let staff = app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;
    let sent = browser.get("/admin/items").await;
    assert_eq!((sent.status, sent.header("location")), (303, Some("/account/two-step")));

    // Added: recovery codes shown once, the panel open.
    let mut passkey = SoftPasskey::new(ORIGIN);
    let added = add(&browser, &mut passkey, "Laptop").await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert!(added.text.contains("<td>Laptop</td>"), "{}", added.text);
    assert_eq!(added.text.matches("<li><code>").count(), 10, "the first second step brings recovery codes");
    assert_eq!(browser.get("/admin/items").await.status, 200);
    // The same credential again, or one made for another site, is refused.
    let again = add(&browser, &mut passkey, "Laptop again").await;
    assert_eq!(again.status, 422, "{}", again.text);
    let mut phished = SoftPasskey::new("http://localhost.evil.example:8000");
    let foreign = add(&browser, &mut phished, "Elsewhere").await;
    assert_eq!(foreign.status, 422);
    assert!(foreign.text.contains("The passkey was not accepted"), "{}", foreign.text);
    // Without the browser's part, the form says what it needs.
    let token = browser.csrf("/account/two-step").await;
    let bare = browser.post("/account/two-step/passkey", &[("csrf_token", &token), ("name", "x")]).await;
    assert_eq!(bare.status, 422);
    assert!(bare.text.contains("with JavaScript on"), "{}", bare.text);
    logout(&browser).await;

    // Signing in: the password, then the passkey.
    let (token, options) = password_step(&browser, "staff@example.org").await;
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["allowCredentials"][0]["id"], b64(&passkey.credential_id));
    let signed = passkey.sign_in(&options);
    let ok = answer(&browser, &token, "staff@example.org", &signed).await;
    assert_eq!((ok.status, ok.header("location")), (303, Some("/account")), "{}", ok.text);
    assert_eq!(browser.get("/admin/items").await.status, 200);
    let listed = browser.get("/account/two-step").await;
    assert!(!listed.text.contains(">never<"), "its last use is shown: {}", listed.text);
    logout(&browser).await;

    // The same answer to a new challenge is nothing, and counts as wrong.
    let (token, _) = password_step(&browser, "staff@example.org").await;
    let replayed = answer(&browser, &token, "staff@example.org", &signed).await;
    assert_eq!(replayed.status, 401, "{}", replayed.text);
    assert!(replayed.text.contains("That passkey did not sign in"), "{}", replayed.text);
    assert!(replayed.text.contains("data-passkey-sign-in"), "asked again, with a new challenge");
    assert_eq!(app.count("login_failures"), 1);
    // Another authenticator's answer (a key not of this account) is refused.
    let (token, options) = password_step(&browser, "staff@example.org").await;
    let mut stranger = SoftPasskey::new(ORIGIN);
    stranger.credential_id = passkey.credential_id.clone();
    let forged = answer(&browser, &token, "staff@example.org", &stranger.sign_in(&options)).await;
    assert_eq!(forged.status, 401);
    // An answer given in one browser does not finish another's login.
    let (_, options) = password_step(&browser, "staff@example.org").await;
    let other = app.browser();
    let (other_token, _) = password_step(&other, "staff@example.org").await;
    let crossed = answer(&other, &other_token, "staff@example.org", &passkey.sign_in(&options)).await;
    assert_eq!(crossed.status, 401, "the other browser's challenge replaced this one's");

    // The API takes a recovery code from an account with passkeys only.
    let codes = recovery_codes_on(&added.text);
    let login = |body: Value| app.post("/api/login").json(body).send();
    let missing = login(json!({"email": "staff@example.org", "password": PASSWORD})).await;
    assert_eq!(missing.problem(401)["code"], "two_step_required");
    let ok = login(json!({"email": "staff@example.org", "password": PASSWORD, "code": codes[0]})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    // The last second step of required staff stays.
    let (token, options) = password_step(&browser, "staff@example.org").await;
    assert_eq!(answer(&browser, &token, "staff@example.org", &passkey.sign_in(&options)).await.status, 303);
    let page = browser.get("/account/two-step").await;
    let id = first_removable(&page.text);
    let kept = browser
        .post(&format!("/account/two-step/{id}/remove"), &[("csrf_token", &csrf_of(&page.text))])
        .await;
    assert_eq!(kept.status, 303);
    assert!(browser.get("/account/two-step").await.text.contains("add another authenticator app or passkey"));
    let remaining: i64 = diesel::RunQueryDsl::get_result(
        diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "SELECT count(*) FROM second_factors WHERE user_id = {staff} AND kind = 'passkey'"
        )),
        &mut app.conn(),
    )
    .unwrap();
    assert_eq!(remaining, 1);
}

#[rocket::async_test]
async fn passkeys_are_removed_by_their_owner_or_reset_by_an_admin() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    for name in ["Phone", "Key"] {
        let added = add(&browser, &mut SoftPasskey::new(ORIGIN), name).await;
        assert_eq!(added.status, 200, "{}", added.text);
    }
    let page = browser.get("/account/two-step").await;
    let id = first_removable(&page.text);
    let removed = browser
        .post(&format!("/account/two-step/{id}/remove"), &[("csrf_token", &csrf_of(&page.text))])
        .await;
    assert_eq!(removed.status, 303);
    let page = browser.get("/account/two-step").await;
    assert!(!page.text.contains("<td>Phone</td>") && page.text.contains("<td>Key</td>"), "{}", page.text);

    app.insert_user("admin@example.org", Role::Admin);
    let admin = app.browser();
    admin.login("admin@example.org", PASSWORD).await;
    let page = admin.get(&format!("/admin/users/{}", ann.id)).await;
    let reset = admin
        .post(&format!("/admin/users/{}/two-step/reset", ann.id), &[("csrf_token", &csrf_of(&page.text))])
        .await;
    assert_eq!(reset.status, 303);
    assert_eq!(app.count("second_factors"), 0);
    let history = admin.get(&format!("/admin/users/{}/history", ann.id)).await;
    assert!(history.text.contains("passkeys"), "{}", history.text);
    let login = app.post("/api/login").json(json!({"email": ann.email, "password": PASSWORD})).send().await;
    assert_eq!(login.status, 200, "the password alone again");
}
