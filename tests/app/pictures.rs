//! Pictures as they are kept: the sizes of an upload, their bytes stored
//! once per content in PostgreSQL whoever uses them, an item's pictures in
//! order, and bytes forgotten once nothing uses them.

use diesel::prelude::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use storefront::error::Error;
use storefront::models::{ItemPicture, PictureBytes, Role};
use storefront::pictures::store::{attach, detach, InDatabase, Store};
use storefront::pictures::{prepare, Prepared};

use crate::harness::TestApp;

/// A picture of `width` × `height` in `format`, its blue `shade`.
pub fn encoded(width: u32, height: u32, shade: u8, format: ImageFormat) -> Vec<u8> {
    let picture = DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, shade])
    }));
    let mut bytes = Vec::new();
    picture.write_to(&mut std::io::Cursor::new(&mut bytes), format).expect("encode");
    bytes
}

fn photo(width: u32, height: u32, shade: u8) -> Prepared {
    prepare(&encoded(width, height, shade, ImageFormat::Jpeg)).expect("a picture")
}

fn blobs(conn: &mut PgConnection) -> i64 {
    storefront::schema::picture_blobs::table.count().get_result(conn).expect("count")
}

#[rocket::async_test]
async fn pictures_are_kept_in_order_and_their_bytes_once() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let (kettle, teapot) =
        (app.item(&owner, store, "Kettle", "1.00").await, app.item(&owner, store, "Teapot", "2.00").await);
    let mut conn = app.conn();
    let (wide, tall) = (photo(2000, 1000, 10), photo(300, 600, 200));

    let (first, sizes) = attach(&mut conn, &InDatabase, kettle, None, &wide).expect("attached");
    assert_eq!(first.position, 0);
    assert_eq!((first.width, first.height), (2000, 1000));
    let widths: Vec<i32> = sizes.iter().map(|size| size.width).collect();
    assert_eq!(widths, [160, 480, 1280]);
    let (second, _) = attach(&mut conn, &InDatabase, kettle, Some("The lid, open"), &tall).expect("attached");
    assert_eq!((second.position, second.alt.as_deref()), (1, Some("The lid, open")));
    attach(&mut conn, &InDatabase, teapot, None, &wide).expect("the same picture on another item");
    assert_eq!(blobs(&mut conn), 3 + 3, "the same bytes are stored once");

    let listed = ItemPicture::of_items(&mut conn, &[kettle, teapot]).expect("listed");
    let shown: Vec<(i64, i32, usize)> =
        listed.iter().map(|(p, sizes)| (p.item_id, p.position, sizes.len())).collect();
    assert_eq!(shown, [(kettle, 0, 3), (kettle, 1, 3), (teapot, 0, 3)]);
    let largest = &listed[1].1[2];
    assert_eq!((largest.width, largest.height), (300, 600), "never enlarged");
    let kept = InDatabase.fetch(&mut conn, &largest.digest).expect("fetched").expect("kept");
    assert_eq!(kept.content_type, "image/jpeg");
    assert_eq!(kept.bytes, tall.renditions[2].bytes);

    // The wide picture's bytes stay while the teapot uses them.
    assert_eq!(detach(&mut conn, &InDatabase, first.id).expect("detached"), 0);
    assert_eq!(blobs(&mut conn), 6);
    let teapots = ItemPicture::digests_of_item(&mut conn, teapot).expect("digests");
    diesel::delete(storefront::schema::items::table.find(teapot))
        .execute(&mut conn)
        .expect("delete the teapot");
    assert_eq!(InDatabase.forget_unused(&mut conn, &teapots).expect("forgotten"), 3);
    assert_eq!(PictureBytes::find(&mut conn, &teapots[0]).expect("looked up").map(|b| b.bytes.len()), None);
    assert_eq!(blobs(&mut conn), 3, "the tall picture's bytes remain");
}

#[rocket::async_test]
async fn an_item_has_at_most_ten_pictures() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let item = app.item(&owner, store, "Kettle", "1.00").await;
    let mut conn = app.conn();
    for n in 0..10 {
        attach(&mut conn, &InDatabase, item, None, &photo(64, 64, n * 20)).expect("attached");
    }
    match attach(&mut conn, &InDatabase, item, None, &photo(64, 64, 255)) {
        Err(Error::Conflict(message)) => assert!(message.contains("at most 10 pictures"), "{message}"),
        other => panic!("an eleventh picture: {other:?}"),
    }
}

#[rocket::async_test]
async fn demo_data_has_a_picture_drawn_for_every_item() {
    let app = TestApp::new().await;
    let mut conn = app.conn();
    let seeded = storefront::demo::seed(&mut conn, "not-a-real-hash").expect("seeded");
    let counts: Vec<(i64, i64)> = storefront::schema::items::table
        .left_join(storefront::schema::item_pictures::table)
        .group_by(storefront::schema::items::id)
        .select((
            storefront::schema::items::id,
            diesel::dsl::count(storefront::schema::item_pictures::id.nullable()),
        ))
        .load(&mut conn)
        .expect("counted");
    assert_eq!(counts.len(), seeded.items);
    assert!(counts.iter().all(|&(_, pictures)| pictures == 1), "{counts:?}");
    let shown = app.get("/api/items?limit=5").send().await.json();
    let sizes = shown[0]["images"][0]["sizes"].as_array().expect("sizes").len();
    assert_eq!(sizes, 2, "160, and the drawing's own 480: {shown}");
    let url = shown[0]["images"][0]["sizes"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&url).send().await.status, 200);
}
