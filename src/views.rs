//! What the API shows of each model, and what live events carry of it.
//! Views are built by destructuring, so a field added to a model (a secret,
//! say) never appears here by accident.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::models::picture::{ShownPicture, ShownSize};
use crate::models::{EventKind, ItemDetail, Role, Store, StoredEvent, Tag, TagDetail, TagRef, User};
use crate::price::Price;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> UserView {
        let User { id, email, role, is_active, created_at, .. } = user;
        UserView { id, email, role, is_active, created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    pub id: i64,
    pub name: String,
    /// The member who opened the store; `null` once their account is gone.
    pub owner_id: Option<i64>,
    /// Grows by one with every change.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Store> for StoreView {
    fn from(store: Store) -> StoreView {
        let Store { id, name, owner_id, version, created_at, updated_at } = store;
        StoreView { id, name, owner_id, version, created_at, updated_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRefView {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagRefView {
    pub id: i64,
    pub name: String,
}

impl From<TagRef> for TagRefView {
    fn from(tag: TagRef) -> TagRefView {
        let TagRef { id, name } = tag;
        TagRefView { id, name }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub id: i64,
    pub name: String,
    #[schema(value_type = f64, minimum = 0, maximum = 9999999999.99, example = 12.5)]
    pub price: Price,
    pub description: Option<String>,
    pub store: StoreRefView,
    /// By name.
    pub tags: Vec<TagRefView>,
    /// Its pictures, in order.
    pub images: Vec<ImageView>,
    /// Grows by one with every change, tags and pictures included.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A picture of an item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    pub id: i64,
    /// What it shows, for those who cannot see it: the item's name unless
    /// set for this picture.
    #[schema(example = "The kettle from the side")]
    pub alt: String,
    /// Whether `alt` was set for this picture.
    pub alt_set: bool,
    /// The picture's own size, upright.
    pub width: i32,
    pub height: i32,
    /// The sizes to show it in, smallest first (long side at most 160, 480
    /// and 1280 pixels, never enlarged), each at an address that never
    /// changes and may be cached for a year.
    pub sizes: Vec<ImageSizeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageSizeView {
    pub width: i32,
    pub height: i32,
    #[schema(example = "/pictures/3f1b34a5a23635fd59e7143294e3873df5d14d2d526e627685ee8c80cd3bfa80.jpg")]
    pub url: String,
}

impl ImageView {
    /// The pictures an item's row holds, as shown.
    pub fn all_of(item: &crate::models::Item) -> Vec<ImageView> {
        ShownPicture::of(&item.pictures)
            .into_iter()
            .map(|picture| ImageView {
                id: picture.id,
                alt_set: picture.alt.is_some(),
                alt: picture.alt.unwrap_or_else(|| item.name.clone()),
                width: picture.width,
                height: picture.height,
                sizes: picture
                    .sizes
                    .into_iter()
                    .map(|size| ImageSizeView {
                        width: size.width,
                        height: size.height,
                        url: picture_url(&size),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Where the bytes of a size are served: named by their digest.
pub fn picture_url(size: &ShownSize) -> String {
    let extension = if size.content_type == "image/png" { "png" } else { "jpg" };
    format!("/pictures/{}.{extension}", size.digest)
}

impl From<ItemDetail> for ItemView {
    fn from(detail: ItemDetail) -> ItemView {
        let ItemDetail { item, store_name, tags } = detail;
        let images = ImageView::all_of(&item);
        ItemView {
            id: item.id,
            name: item.name,
            price: item.price,
            description: item.description,
            store: StoreRefView { id: item.store_id, name: store_name },
            tags: tags.into_iter().map(TagRefView::from).collect(),
            images,
            version: item.version,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

impl From<&ItemDetail> for ItemView {
    fn from(detail: &ItemDetail) -> ItemView {
        ItemView::from(detail.clone())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagView {
    pub id: i64,
    pub name: String,
    pub store: StoreRefView,
    /// How many items carry the tag.
    pub item_count: i64,
}

impl From<TagDetail> for TagView {
    fn from(detail: TagDetail) -> TagView {
        let TagDetail { tag, store_name, item_count } = detail;
        TagView::new(tag, store_name, item_count)
    }
}

impl TagView {
    pub fn new(tag: Tag, store_name: String, item_count: i64) -> TagView {
        let Tag { id, name, store_id, .. } = tag;
        TagView { id, name, store: StoreRefView { id: store_id, name: store_name }, item_count }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairView {
    /// Send as `Authorization: Bearer ...`; valid for `expires_in` seconds.
    pub access_token: String,
    /// Exchange at `POST /api/refresh`; each one works once.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    pub expires_in: i64,
    /// Login only: send it as `device_token` with your next logins. It keeps
    /// this client able to log in while others fail on the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// Whose tokens these are.
    pub user: UserView,
}

/// One committed change, as `GET /api/events` sends it in `data:`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventView {
    /// Grows in the order changes become visible; resume after it with
    /// `Last-Event-ID`.
    pub id: i64,
    /// What happened; also the stream's `event:` name.
    #[schema(value_type = EventKindSchema)]
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    /// The store, item or tag the event is about.
    pub entity_id: i64,
    /// The store it belongs to (for `store.*`, the store itself).
    pub store_id: i64,
    /// After the change, as the API shows it: a `StoreView` for `store.*`, an
    /// `ItemView` for `item.*` (with its store and tags), a `TagView` for
    /// `tag.*`; `null` for `*.deleted`.
    #[schema(schema_with = event_object_schema)]
    pub object: Option<serde_json::Value>,
}

fn event_object_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{OneOfBuilder, Type};
    use utoipa::openapi::{ObjectBuilder, Ref};
    OneOfBuilder::new()
        .item(Ref::from_schema_name("StoreView"))
        .item(Ref::from_schema_name("ItemView"))
        .item(Ref::from_schema_name("TagView"))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .build()
        .into()
}

impl From<StoredEvent> for EventView {
    fn from(event: StoredEvent) -> EventView {
        let StoredEvent { id, at, kind, entity_id, store_id, object, .. } = event;
        EventView { id, kind: kind.as_str(), at, entity_id, store_id, object }
    }
}

/// The kinds of events, which are the stream's `event:` names.
pub struct EventKindSchema;

impl utoipa::PartialSchema for EventKindSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EventKind::ALL.iter().map(|kind| kind.as_str())))
            .description(Some(
                "What happened. A store's deletion takes its items, tags and links with it: \
                 no separate events are sent for them.",
            ))
            .into()
    }
}

impl ToSchema for EventKindSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "EventKind".into()
    }
}

/// Facet counts of an item listing: see `GET /api/items/facets`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsView {
    /// How many items match.
    pub total: i64,
    /// `total` is the database's estimate.
    pub total_approximate: bool,
    /// The counts are estimates, scaled from the first matches read.
    pub approximate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagCountView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stores: Option<Vec<StoreCountView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Vec<PriceBandView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagCountView {
    #[schema(example = 3)]
    pub id: i64,
    #[schema(example = "sci-fi")]
    pub name: String,
    /// The tag's store.
    #[schema(example = "Corner Books")]
    pub store_name: String,
    /// Items that would be left with the tag as a filter too.
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCountView {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "Corner Books")]
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceBandView {
    /// The band's lowest price, as `min_price`.
    #[schema(example = "10.00")]
    pub min: String,
    /// The band's highest price, as `max_price`; `null` for the last band.
    #[schema(example = "24.99")]
    pub max: Option<String>,
    pub count: i64,
}

impl From<crate::models::facets::Facets> for FacetsView {
    fn from(facets: crate::models::facets::Facets) -> FacetsView {
        let crate::models::facets::Facets { total, approximate, tags, stores, price } = facets;
        FacetsView {
            total: total.count,
            total_approximate: total.approximate,
            approximate,
            tags: tags.map(|tags| {
                tags.into_iter()
                    .map(|t| TagCountView {
                        id: t.id,
                        name: t.name,
                        store_name: t.store_name,
                        count: t.count,
                    })
                    .collect()
            }),
            stores: stores.map(|stores| {
                stores
                    .into_iter()
                    .map(|s| StoreCountView { id: s.id, name: s.name, count: s.count })
                    .collect()
            }),
            price: price.map(|bands| {
                bands
                    .into_iter()
                    .map(|b| PriceBandView {
                        min: b.min.to_string(),
                        max: b.max.map(|max| max.to_string()),
                        count: b.count,
                    })
                    .collect()
            }),
        }
    }
}
