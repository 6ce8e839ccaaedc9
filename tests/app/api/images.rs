//! `/api/items/{id}/images`: pictures uploaded, judged by their bytes,
//! made into sizes, described, moved and removed, and served at addresses
//! that never change.

use image::ImageFormat;
use serde_json::{json, Value};
use storefront::models::Role;

use crate::harness::{TestApp, TestUser};
use crate::pictures::encoded;

const BOUNDARY: &str = "picture-boundary-7f3a";

/// A multipart body with `bytes` as the field `file` (named and typed as
/// given: neither counts) and, if given, `alt`.
fn multipart(bytes: &[u8], file_name: &str, declared: &str, alt: Option<&str>) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(alt) = alt {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\n{alt}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: {declared}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    app: &TestApp,
    user: &TestUser,
    item: i64,
    bytes: &[u8],
    alt: Option<&str>,
) -> crate::harness::Reply {
    app.post(&format!("/api/items/{item}/images"))
        .bearer(&user.access)
        .bytes(
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(bytes, "photo.jpg", "image/jpeg", alt),
        )
        .send()
        .await
}

async fn shop(app: &TestApp) -> (TestUser, i64) {
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let item = app.item(&owner, store, "Kettle", "12.50").await;
    (owner, item)
}

fn urls(image: &Value) -> Vec<String> {
    image["sizes"].as_array().unwrap().iter().map(|size| size["url"].as_str().unwrap().to_owned()).collect()
}

#[rocket::async_test]
async fn an_upload_is_made_into_sizes_shown_with_the_item_and_served_for_a_year() {
    let app = TestApp::new().await;
    let (owner, item) = shop(&app).await;
    let reply = upload(&app, &owner, item, &encoded(2000, 1000, 40, ImageFormat::Jpeg), None).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("location"), Some(format!("/api/items/{item}").as_str()));
    let body = reply.json();
    assert_eq!(body["version"], json!(2));
    let image = &body["images"][0];
    assert_eq!((image["alt"].clone(), image["alt_set"].clone()), (json!("Kettle"), json!(false)));
    assert_eq!((image["width"].clone(), image["height"].clone()), (json!(2000), json!(1000)));
    let sizes: Vec<(i64, i64)> = image["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|size| (size["width"].as_i64().unwrap(), size["height"].as_i64().unwrap()))
        .collect();
    assert_eq!(sizes, [(160, 80), (480, 240), (1280, 640)]);
    let read = app.get(&format!("/api/items/{item}")).send().await.json();
    assert_eq!(read["images"], body["images"], "every representation shows the pictures");
    let listed = app.get("/api/items").send().await.json();
    assert_eq!(listed[0]["images"], body["images"]);

    let url = &urls(image)[0];
    assert!(url.starts_with("/pictures/") && url.ends_with(".jpg"), "{url}");
    let picture = app.get(url).send().await;
    assert_eq!(picture.status, 200);
    assert_eq!(picture.header("content-type"), Some("image/jpeg"));
    assert_eq!(picture.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(&picture.bytes[..3], &[0xFF, 0xD8, 0xFF]);
    let etag = picture.header("etag").expect("an entity tag").to_owned();
    let again = app.get(url).header("If-None-Match", &etag).send().await;
    assert_eq!(again.status, 304);
    let before = app.queries();
    assert_eq!(app.get(url).send().await.status, 200);
    assert_eq!(app.queries(), before, "a picture read twice costs no query");
    assert_eq!(app.get(&url.replace(".jpg", ".png")).send().await.status, 404);
    assert_eq!(app.get("/pictures/not-a-digest.jpg").send().await.status, 404);
}

#[rocket::async_test]
async fn uploads_are_judged_by_their_bytes_and_refused_with_a_reason() {
    let app = TestApp::new().await;
    let (owner, item) = shop(&app).await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>"#.to_vec();
    let jpeg = encoded(600, 400, 90, ImageFormat::Jpeg);
    // A PNG header claiming 60,000 x 60,000 pixels.
    let mut bomb = encoded(1, 1, 0, ImageFormat::Png);
    bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let mut large = jpeg.clone();
    large.resize(10 * 1024 * 1024 + 1, 0);
    let cases: [(&str, Vec<u8>, u16, &str); 5] = [
        ("svg", svg, 415, "unsupported_picture"),
        ("truncated", jpeg[..jpeg.len() / 2].to_vec(), 422, "unreadable_picture"),
        ("bomb", bomb, 422, "too_many_pixels"),
        ("empty", Vec::new(), 422, "empty_upload"),
        ("large", large, 413, "upload_too_large"),
    ];
    for (what, bytes, status, code) in cases {
        let reply = upload(&app, &owner, item, &bytes, None).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_eq!(reply.json()["code"], json!(code), "{what}: {}", reply.text);
        assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{what}");
    }
    let partless = app
        .post(&format!("/api/items/{item}/images"))
        .bearer(&owner.access)
        .bytes(
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            format!("--{BOUNDARY}\r\nFalse--{BOUNDARY}--\r\n").into_bytes(),
        )
        .send()
        .await;
    assert_eq!(partless.status, 422, "a malformed form is not too large: {}", partless.text);
    let json = app
        .post(&format!("/api/items/{item}/images"))
        .bearer(&owner.access)
        .json(json!({"file": "x"}))
        .send()
        .await;
    assert_eq!((json.status, json.json()["code"].clone()), (415, json!("unsupported_media_type")));
    let read = app.get(&format!("/api/items/{item}")).send().await.json();
    assert_eq!((read["images"].clone(), read["version"].clone()), (json!([]), json!(1)), "nothing was added");
}

#[rocket::async_test]
async fn only_who_manages_the_store_changes_its_pictures() {
    let app = TestApp::new().await;
    let (owner, item) = shop(&app).await;
    let jpeg = encoded(300, 300, 10, ImageFormat::Jpeg);
    let stranger = app.user(Role::Member).await;
    assert_eq!(upload(&app, &stranger, item, &jpeg, None).await.status, 403);
    let anonymous = app
        .post(&format!("/api/items/{item}/images"))
        .bytes(
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(&jpeg, "a.jpg", "image/jpeg", None),
        )
        .send()
        .await;
    assert_eq!(anonymous.status, 401);
    let staff = app.user(Role::Staff).await;
    assert_eq!(upload(&app, &staff, item, &jpeg, None).await.status, 201);
    let id = app.get(&format!("/api/items/{item}")).send().await.json()["images"][0]["id"].as_i64().unwrap();
    let path = format!("/api/items/{item}/images/{id}");
    assert_eq!(app.delete(&path).bearer(&stranger.access).send().await.status, 403);
    let patch =
        app.request(rocket::http::Method::Patch, &path).bearer(&stranger.access).json(json!({"alt": "x"}));
    assert_eq!(patch.send().await.status, 403);
    assert_eq!(upload(&app, &owner, 999_999, &jpeg, None).await.status, 404);
}

#[rocket::async_test]
async fn pictures_are_described_moved_and_removed() {
    let app = TestApp::new().await;
    let (owner, item) = shop(&app).await;
    let first =
        upload(&app, &owner, item, &encoded(400, 300, 1, ImageFormat::Png), Some("  From above ")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = upload(&app, &owner, item, &encoded(300, 400, 2, ImageFormat::WebP), None).await.json();
    let ids: Vec<i64> =
        second["images"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(second["images"][0]["alt"], json!("From above"));
    let patch = |id: i64, body: Value| {
        app.request(rocket::http::Method::Patch, &format!("/api/items/{item}/images/{id}"))
            .bearer(&owner.access)
            .json(body)
    };
    let moved = patch(ids[1], json!({"position": 0, "alt": "From the side"})).send().await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let order: Vec<i64> =
        moved.json()["images"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(order, [ids[1], ids[0]]);
    assert_eq!(moved.json()["images"][0]["alt"], json!("From the side"));
    let cleared = patch(ids[1], json!({"alt": null})).send().await.json();
    assert_eq!(
        (cleared["images"][0]["alt"].clone(), cleared["images"][0]["alt_set"].clone()),
        (json!("Kettle"), json!(false))
    );
    for (body, field) in
        [(json!({}), "body"), (json!({"position": -1}), "position"), (json!({"colour": 1}), "colour")]
    {
        let refused = patch(ids[0], body).send().await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert!(refused.json()["errors"].get(field).is_some(), "{}", refused.text);
    }
    assert_eq!(patch(ids[0] + 100, json!({"alt": "x"})).send().await.status, 404);

    let url = urls(&moved.json()["images"][0])[0].clone();
    let removed =
        app.delete(&format!("/api/items/{item}/images/{}", ids[1])).bearer(&owner.access).send().await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let left: Vec<i64> =
        removed.json()["images"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(left, [ids[0]]);
    assert_eq!(app.count("picture_blobs"), 2, "the removed picture's bytes are gone, the other's stay");
    assert_eq!(app.get(&url).send().await.status, 404);
    assert_eq!(app.delete(&format!("/api/items/{item}")).bearer(&owner.access).send().await.status, 204);
    assert_eq!(app.count("picture_blobs"), 0, "deleting the item removes its pictures' bytes");
}

/// CRC-32 of PNG chunks, for a hand-made header.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[rocket::async_test]
async fn pictures_show_on_the_store_page_and_as_the_item_page_gallery() {
    let app = TestApp::new().await;
    let (owner, item) = shop(&app).await;
    let store = app.get(&format!("/api/items/{item}")).send().await.json()["store"]["id"].as_i64().unwrap();
    upload(&app, &owner, item, &encoded(1600, 1200, 5, ImageFormat::Jpeg), Some("The kettle <b>boiling</b>"))
        .await;
    let body = upload(&app, &owner, item, &encoded(500, 500, 6, ImageFormat::Jpeg), None).await.json();
    let first = &body["images"][0];
    // As the page writes them: Tera escapes `/` too.
    let urls: Vec<String> = urls(first).iter().map(|url| url.replace('/', "&#x2F;")).collect();

    let page = app.get(&format!("/stores/{store}")).send().await;
    assert_eq!(page.status, 200);
    // A card shows the middle size, and offers all.
    let card = format!(
        r#"<div class="card-picture"><img src="{}" srcset="{} 160w, {} 480w, {} 1280w" sizes="(max-width: 40rem) 45vw, 15rem" width="480" height="360" alt="" loading="lazy" decoding="async"></div>"#,
        urls[1], urls[0], urls[1], urls[2]
    );
    assert!(page.text.contains(&card), "{}", page.text);
    // Lists of items elsewhere keep a thumbnail beside the name.
    let all = app.get("/items").send().await;
    let thumb = format!(
        r#"<img class="thumb" src="{}" srcset="{} 160w, {} 480w, {} 1280w" sizes="3rem" width="160" height="120" alt="" loading="lazy" decoding="async">"#,
        urls[0], urls[0], urls[1], urls[2]
    );
    assert!(all.text.contains(&thumb), "{}", all.text);

    let page = app.get(&format!("/items/{item}")).header("Host", "shop.example.org").send().await;
    assert_eq!(page.status, 200);
    let og = format!(r#"<meta property="og:image" content="http:&#x2F;&#x2F;shop.example.org{}">"#, urls[2]);
    assert!(page.text.contains(&og), "{}", page.text);
    assert!(
        page.text.contains(r#"alt="The kettle &lt;b&gt;boiling&lt;&#x2F;b&gt;""#),
        "alt text escaped: {}",
        page.text
    );
    assert!(page.text.contains(r#"width="1280" height="960" alt="The kettle"#));
    assert!(page.text.contains(r#"width="500" height="500" alt="Kettle" loading="lazy""#), "{}", page.text);
}

#[rocket::async_test]
async fn the_admin_items_list_shows_each_items_first_picture() {
    let app = TestApp::new().await;
    let (owner, item) = shop(&app).await;
    let body = upload(&app, &owner, item, &encoded(800, 400, 9, ImageFormat::Jpeg), None).await.json();
    let small = urls(&body["images"][0])[0].replace('/', "&#x2F;");
    let staff = app.user(Role::Staff).await;
    let browser = app.browser();
    browser.login(&staff.email, crate::harness::PASSWORD).await;
    let list = browser.get("/admin/items").await;
    assert_eq!(list.status, 200);
    let thumb = format!(
        r#"<img class="thumb" src="{small}" width="160" height="80" alt="" loading="lazy" decoding="async">"#
    );
    assert!(list.text.contains(&thumb), "{}", list.text);
}

#[rocket::async_test]
async fn an_upload_retried_with_its_key_adds_one_picture() {
    let app = TestApp::new().await;
    let (owner, item) = shop(&app).await;
    let send = |bytes: Vec<u8>, boundary_alt: Option<&'static str>| {
        app.post(&format!("/api/items/{item}/images"))
            .bearer(&owner.access)
            .header("Idempotency-Key", "upload-1")
            .bytes(
                &format!("multipart/form-data; boundary={BOUNDARY}"),
                multipart(&bytes, "photo.jpg", "image/jpeg", boundary_alt),
            )
            .send()
    };
    let picture = encoded(64, 48, 90, ImageFormat::Jpeg);
    let first = send(picture.clone(), Some("Front")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send(picture.clone(), Some("Front")).await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (201, Some("true")));
    assert_eq!(again.text, first.text);
    assert_eq!(again.json()["images"].as_array().unwrap().len(), 1);
    // Another picture, or other alt text, under the same key is another request.
    let other = send(encoded(64, 48, 10, ImageFormat::Jpeg), Some("Front")).await;
    assert_eq!(other.problem(422)["code"], "idempotency_key_reused");
    assert_eq!(send(picture, Some("Back")).await.problem(422)["code"], "idempotency_key_reused");
}
