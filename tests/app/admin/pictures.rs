//! An item's pictures in the panel, with plain forms: several uploaded at
//! once, refused files named, alt text and places saved, one removed; for
//! the store's owner and staff, and nobody else.

use image::ImageFormat;
use serde_json::Value;
use storefront::models::Role;

use crate::harness::{csrf_of, TestApp, PASSWORD};
use crate::pictures::encoded;

fn alts(item: &Value) -> Vec<String> {
    item["images"].as_array().unwrap().iter().map(|i| i["alt"].as_str().unwrap().to_owned()).collect()
}

#[rocket::async_test]
async fn owners_upload_several_pictures_describe_move_and_remove_them() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let store = app.store(&ann, "Ann's Lamps").await;
    let item = app.item(&ann, store, "Desk lamp", "30.00").await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    let path = format!("/admin/items/{item}/pictures");

    let edit = browser.get(&format!("/admin/items/{item}")).await;
    assert!(
        edit.text
            .contains(&format!("<a href=\"&#x2F;admin&#x2F;items&#x2F;{item}&#x2F;pictures\">Pictures</a>")),
        "{}",
        edit.text
    );
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("enctype=\"multipart/form-data\"") && page.text.contains("No pictures yet."));
    let token = csrf_of(&page.text);

    let jpeg = encoded(640, 480, 40, ImageFormat::Jpeg);
    let png = encoded(300, 300, 200, ImageFormat::Png);
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let reply = browser
        .post_multipart(
            &path,
            &[("csrf_token", &token)],
            &[("files", "front.jpg", &jpeg), ("files", "evil.svg", &svg), ("files", "side.png", &png)],
        )
        .await;
    assert_eq!((reply.status, reply.header("location")), (303, Some(path.as_str())));
    let after = browser.get(&path).await;
    assert!(after.text.contains("2 pictures added. Not added: “evil.svg”:"), "{}", after.text);
    let shown = app.get(&format!("/api/items/{item}")).send().await.json();
    assert_eq!(alts(&shown), ["Desk lamp", "Desk lamp"]);
    let ids: Vec<i64> =
        shown["images"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(shown["images"][0]["width"], 640);

    // The second becomes the first, described.
    let saved = browser
        .post(
            &format!("{path}/{}", ids[1]),
            &[("csrf_token", &token), ("alt", "The lamp from the side"), ("position", "1")],
        )
        .await;
    assert_eq!(saved.status, 303);
    let shown = app.get(&format!("/api/items/{item}")).send().await.json();
    assert_eq!(alts(&shown), ["The lamp from the side", "Desk lamp"]);
    assert_eq!(shown["images"][0]["id"], ids[1]);
    // A bad place is said, and changes nothing.
    let bad = browser
        .post(&format!("{path}/{}", ids[0]), &[("csrf_token", &token), ("alt", ""), ("position", "0")])
        .await;
    assert_eq!(bad.status, 303);
    assert!(browser.get(&path).await.text.contains("The place must be a whole number from 1."));

    let removed = browser.post(&format!("{path}/{}/remove", ids[1]), &[("csrf_token", &token)]).await;
    assert_eq!(removed.status, 303);
    let shown = app.get(&format!("/api/items/{item}")).send().await.json();
    assert_eq!(alts(&shown), ["Desk lamp"]);
    // An empty choice of files is said, not an error page.
    let none = browser.post_multipart(&path, &[("csrf_token", &token)], &[("files", "", b"")]).await;
    assert_eq!(none.status, 303);
    assert!(browser.get(&path).await.text.contains("Choose one or more pictures to add."));
}

#[rocket::async_test]
async fn others_may_not_touch_an_items_pictures_and_forms_need_their_token() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let store = app.store(&ann, "Ann's").await;
    let item = app.item(&ann, store, "Vase", "8.00").await;
    let path = format!("/admin/items/{item}/pictures");
    let jpeg = encoded(200, 100, 90, ImageFormat::Jpeg);

    let anonymous = app.browser();
    assert_eq!(anonymous.get(&path).await.status, 303, "to the login page");

    let browser = app.browser();
    browser.login(&bob.email, PASSWORD).await;
    assert_eq!(browser.get(&path).await.status, 403);
    let token = csrf_of(&browser.get("/admin/items").await.text);
    let refused =
        browser.post_multipart(&path, &[("csrf_token", &token)], &[("files", "a.jpg", &jpeg)]).await;
    assert_eq!(refused.status, 403);

    let owner = app.browser();
    owner.login(&ann.email, PASSWORD).await;
    let forged = owner.post_multipart(&path, &[("csrf_token", "forged")], &[("files", "a.jpg", &jpeg)]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.get(&format!("/api/items/{item}")).send().await.json()["images"], serde_json::json!([]));

    // Staff may.
    let admin = app.user(Role::Admin).await;
    let staff = app.browser();
    staff.login(&admin.email, PASSWORD).await;
    let token = csrf_of(&staff.get(&path).await.text);
    let added = staff.post_multipart(&path, &[("csrf_token", &token)], &[("files", "a.jpg", &jpeg)]).await;
    assert_eq!(added.status, 303);
    assert_eq!(
        app.get(&format!("/api/items/{item}")).send().await.json()["images"].as_array().unwrap().len(),
        1
    );
}
