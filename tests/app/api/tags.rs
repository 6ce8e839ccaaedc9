//! Tags: per-store names, links to items, and refusals.

use serde_json::json;
use storefront::models::Role;

use crate::harness::TestApp;

#[rocket::async_test]
async fn tags_are_created_listed_and_read_with_their_item_count() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;

    let reply = app
        .post(&format!("/api/stores/{store}/tags"))
        .bearer(&owner.access)
        .json(json!({"name": "sale"}))
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let tag = reply.json();
    assert_eq!(reply.header("location"), Some(format!("/api/tags/{}", tag["id"]).as_str()));
    assert_eq!(
        tag,
        json!({"id": tag["id"], "name": "sale", "store": {"id": store, "name": "Shop"}, "item_count": 0})
    );

    let item = app.item(&owner, store, "Thing", "1.00").await;
    app.link(&owner, item, &[tag["id"].as_i64().unwrap()]).await;
    let read = app.get(&format!("/api/tags/{}", tag["id"])).send().await;
    assert_eq!(read.json()["item_count"], 1);
    let list = app.get(&format!("/api/stores/{store}/tags")).send().await;
    assert_eq!(list.status, 200);
    assert_eq!(list.header("x-total-count"), Some("1"));
    assert_eq!(list.json()[0]["item_count"], 1);

    assert_eq!(
        app.get("/api/stores/999999/tags").send().await.problem(404)["detail"],
        "The store does not exist."
    );
    assert_eq!(app.get("/api/tags/999999").send().await.problem(404)["detail"], "The tag does not exist.");
}

#[rocket::async_test]
async fn tag_names_are_unique_within_a_store_only() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let first = app.store(&owner, "First").await;
    let second = app.store(&owner, "Second").await;
    app.tag(&owner, first, "Sale").await;

    let duplicate = app
        .post(&format!("/api/stores/{first}/tags"))
        .bearer(&owner.access)
        .json(json!({"name": "sale"}))
        .send()
        .await;
    assert_eq!(duplicate.problem(409)["code"], "conflict");
    app.tag(&owner, second, "sale").await;
    let long = app
        .post(&format!("/api/stores/{first}/tags"))
        .bearer(&owner.access)
        .json(json!({"name": "x".repeat(41)}))
        .send()
        .await;
    assert_eq!(long.problem(422)["errors"]["name"], "must be at most 40 characters");
}

#[rocket::async_test]
async fn linking_is_all_or_nothing_idempotent_and_within_one_store() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let elsewhere = app.store(&owner, "Elsewhere").await;
    let item = app.item(&owner, store, "Thing", "1.00").await;
    let [a, b] = [app.tag(&owner, store, "a").await, app.tag(&owner, store, "b").await];
    let foreign = app.tag(&owner, elsewhere, "foreign").await;
    let path = format!("/api/items/{item}/tags");

    let mixed =
        app.post(&path).bearer(&owner.access).json(json!({"tag_ids": [a, foreign, 999999]})).send().await;
    let problem = mixed.problem(422);
    assert_eq!(problem["errors"]["tag_ids"], format!("not tags of this item's store: {foreign}, 999999"));
    assert_eq!(app.count("item_tags"), 0);

    let linked = app.post(&path).bearer(&owner.access).json(json!({"tag_ids": [b, a, a]})).send().await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    assert_eq!(linked.json(), json!([{"id": a, "name": "a"}, {"id": b, "name": "b"}]));
    let again = app.post(&path).bearer(&owner.access).json(json!({"tag_ids": [a]})).send().await;
    assert_eq!(again.json(), linked.json());
    assert_eq!(app.count("item_tags"), 2);

    for body in [json!({"tag_ids": []}), json!({"tag_ids": "a"}), json!({"tag_ids": [0]}), json!({})] {
        assert_eq!(
            app.post(&path).bearer(&owner.access).json(body.clone()).send().await.status,
            422,
            "{body}"
        );
    }
    let missing_item =
        app.post("/api/items/999999/tags").bearer(&owner.access).json(json!({"tag_ids": [a]})).send().await;
    assert_eq!(missing_item.problem(404)["detail"], "The item does not exist.");
}

#[rocket::async_test]
async fn the_database_itself_refuses_a_cross_store_link() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let elsewhere = app.store(&owner, "Elsewhere").await;
    let item = app.item(&owner, store, "Thing", "1.00").await;
    let foreign = app.tag(&owner, elsewhere, "foreign").await;

    use diesel::prelude::*;
    use storefront::schema::item_tags;
    let mut conn = app.conn();
    for claimed_store in [store, elsewhere] {
        let result = diesel::insert_into(item_tags::table)
            .values((
                item_tags::item_id.eq(item),
                item_tags::tag_id.eq(foreign),
                item_tags::store_id.eq(claimed_store),
            ))
            .execute(&mut conn);
        assert!(result.is_err(), "linked through store {claimed_store}");
    }
}

#[rocket::async_test]
async fn unlinking_and_deleting_tags() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let item = app.item(&owner, store, "Thing", "1.00").await;
    let tag = app.tag(&owner, store, "t").await;
    app.link(&owner, item, &[tag]).await;

    let refused = app.delete(&format!("/api/tags/{tag}")).bearer(&owner.access).send().await;
    assert_eq!(refused.problem(409)["detail"], "The tag is still on 1 item; remove it from them first.");

    let unlink = format!("/api/items/{item}/tags/{tag}");
    assert_eq!(app.delete(&unlink).bearer(&owner.access).send().await.status, 204);
    let again = app.delete(&unlink).bearer(&owner.access).send().await;
    assert_eq!(again.problem(404)["detail"], "The link between this item and tag does not exist.");
    assert_eq!(app.delete(&format!("/api/tags/{tag}")).bearer(&owner.access).send().await.status, 204);
    assert_eq!(app.delete(&format!("/api/tags/{tag}")).bearer(&owner.access).send().await.status, 404);
    assert_eq!(app.count("tags"), 0);
}

#[rocket::async_test]
async fn tag_writes_follow_the_role_matrix() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let other = app.user(Role::Member).await;
    let staff = app.user(Role::Staff).await;
    let admin = app.user(Role::Admin).await;
    let store = app.store(&owner, "Shop").await;
    let item = app.item(&owner, store, "Thing", "1.00").await;
    let create = format!("/api/stores/{store}/tags");

    assert_eq!(app.post(&create).json(json!({"name": "x"})).send().await.status, 401);
    assert_eq!(
        app.post(&create).bearer(&other.access).json(json!({"name": "x"})).send().await.problem(403)["code"],
        "forbidden"
    );
    let mut tags = Vec::new();
    for who in [&owner, &staff, &admin] {
        let reply =
            app.post(&create).bearer(&who.access).json(json!({"name": who.email.clone()})).send().await;
        assert_eq!(reply.status, 201);
        tags.push(reply.json()["id"].as_i64().unwrap());
    }
    let link = format!("/api/items/{item}/tags");
    assert_eq!(app.post(&link).json(json!({"tag_ids": [tags[0]]})).send().await.status, 401);
    assert_eq!(
        app.post(&link).bearer(&other.access).json(json!({"tag_ids": [tags[0]]})).send().await.status,
        403
    );
    for (who, tag) in [(&owner, tags[0]), (&staff, tags[1]), (&admin, tags[2])] {
        assert_eq!(
            app.post(&link).bearer(&who.access).json(json!({"tag_ids": [tag]})).send().await.status,
            200
        );
        let unlink = format!("/api/items/{item}/tags/{tag}");
        assert_eq!(app.delete(&unlink).bearer(&other.access).send().await.status, 403);
        assert_eq!(app.delete(&unlink).bearer(&who.access).send().await.status, 204);
        assert_eq!(app.delete(&format!("/api/tags/{tag}")).send().await.status, 401);
        assert_eq!(app.delete(&format!("/api/tags/{tag}")).bearer(&other.access).send().await.status, 403);
        assert_eq!(app.delete(&format!("/api/tags/{tag}")).bearer(&who.access).send().await.status, 204);
    }
}

#[rocket::async_test]
async fn a_tag_and_a_store_are_each_read_in_one_statement() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let tag = app.tag(&owner, store, "sale").await;
    for n in 0..3 {
        let item = app.item(&owner, store, &format!("Item {n}"), "1.00").await;
        app.link(&owner, item, &[tag]).await;
    }
    let before = app.queries();
    let read = app.get(&format!("/api/tags/{tag}")).send().await;
    assert_eq!(app.queries() - before, 1, "statements per tag read");
    assert_eq!(
        read.json(),
        json!({"id": tag, "name": "sale", "store": {"id": store, "name": "Shop"}, "item_count": 3})
    );
    assert_eq!(app.get("/api/tags/999999").send().await.problem(404)["code"], "not_found");

    let before = app.queries();
    assert_eq!(app.get(&format!("/api/stores/{store}")).send().await.status, 200);
    assert_eq!(app.queries() - before, 1, "statements per store read");
}
