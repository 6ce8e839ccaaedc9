//! Demo data: a few stores with items and tags, each item with a picture
//! the program draws itself (nothing is downloaded), and an admin to log in
//! with, so that a first `cargo run` shows something. Loaded only into an
//! empty database, through the same services as everything else.

use diesel::PgConnection;
use rocket::fairing::AdHoc;

use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::Error;
use crate::models::{Role, Store, User, Via};
use crate::policy::Actor;
use crate::services::items::ItemInput;
use crate::services::{accounts, items, pictures, stores, tags};

pub const ADMIN_EMAIL: &str = "admin@storefront.test";

/// An item: name, price, and which of its store's tags it carries.
type DemoItem = (&'static str, &'static str, &'static [usize]);

/// A store: name, tag names, items.
const STORES: &[(&str, &[&str], &[DemoItem])] = &[
    (
        "Corner Books",
        &["fiction", "science", "classics", "paperback"],
        &[
            ("Dune", "9.99", &[0, 3]),
            ("The Left Hand of Darkness", "11.50", &[0, 2]),
            ("A Brief History of Time", "14.00", &[1]),
            ("The Selfish Gene", "12.25", &[1, 3]),
            ("Middlemarch", "8.75", &[2, 3]),
            ("Pride and Prejudice", "6.99", &[0, 2, 3]),
            ("Cosmos", "13.40", &[1]),
            ("Neuromancer", "10.00", &[0]),
            ("The Origin of Species", "9.25", &[1, 2]),
            ("Moby-Dick", "7.80", &[2, 3]),
            ("Foundation", "9.60", &[0, 3]),
            ("Silent Spring", "12.90", &[1]),
        ],
    ),
    (
        "Harbour Hardware",
        &["tools", "garden", "outdoor", "sale"],
        &[
            ("Claw hammer", "18.50", &[0]),
            ("Pruning shears", "22.00", &[1]),
            ("Cordless drill", "89.99", &[0, 3]),
            ("Watering can", "12.00", &[1, 2]),
            ("Tape measure", "7.25", &[0]),
            ("Wheelbarrow", "119.00", &[1, 2]),
            ("Spirit level", "15.75", &[0, 3]),
            ("Garden hose 25 m", "34.90", &[1, 2, 3]),
            ("Screwdriver set", "24.99", &[0]),
            ("Camping lantern", "19.95", &[2]),
            ("Rake", "16.40", &[1]),
            ("Work gloves", "9.50", &[0, 1, 3]),
        ],
    ),
    (
        "Daily Grind Coffee",
        &["beans", "equipment", "decaf", "organic"],
        &[
            ("Ethiopia Yirgacheffe 250 g", "12.50", &[0, 3]),
            ("Colombia Supremo 250 g", "10.90", &[0]),
            ("Swiss Water Decaf 250 g", "11.75", &[0, 2]),
            ("Pour-over dripper", "24.00", &[1]),
            ("Burr grinder", "149.00", &[1]),
            ("Espresso blend 1 kg", "32.00", &[0]),
            ("Milk frothing jug", "14.95", &[1]),
            ("Sumatra Mandheling 250 g", "11.20", &[0, 3]),
            ("Paper filters (100)", "4.50", &[1]),
            ("Gooseneck kettle", "59.00", &[1]),
            ("Decaf espresso 500 g", "17.80", &[0, 2]),
            ("Peru organic 250 g", "12.10", &[0, 3]),
        ],
    ),
];

/// What [`seed`] made.
pub struct Seeded {
    pub admin_email: String,
    pub stores: usize,
    pub items: usize,
}

/// Whether the database holds no users and no stores.
pub fn is_empty(conn: &mut PgConnection) -> Result<bool, Error> {
    Ok(User::count(conn)? == 0 && Store::count(conn)? == 0)
}

/// Creates the demo admin (with an already hashed password) and the demo
/// catalogue, in one transaction.
pub fn seed(conn: &mut PgConnection, admin_password_hash: &str) -> Result<Seeded, Error> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let admin =
            accounts::create_user(conn, ADMIN_EMAIL, admin_password_hash, Role::Admin, Via::Cli, None)?;
        let actor =
            Actor { user_id: admin.id, role: admin.role, via: Via::Cli, fresh: true, personal_token: false };
        let mut item_count = 0;
        for (store_name, tag_names, store_items) in STORES {
            let store = stores::create(conn, &actor, store_name)?;
            let mut tag_ids = Vec::new();
            for tag_name in *tag_names {
                tag_ids.push(tags::create(conn, &actor, store.id, tag_name)?.tag.id);
            }
            for (name, price, tag_indexes) in *store_items {
                let input = ItemInput {
                    name: Some((*name).to_owned()),
                    price: Some((*price).to_owned()),
                    description: Some(Some(format!("{name}, from {store_name}."))),
                    tag_ids: Some(tag_indexes.iter().map(|&i| tag_ids[i]).collect()),
                };
                let item = items::create(conn, &actor, store.id, input)?;
                let drawn = crate::pictures::prepare(&drawing(store.id, item_count)).map_err(|why| {
                    Error::Internal(format!("a demo picture was refused: {}", why.message()))
                })?;
                pictures::add(
                    conn,
                    crate::pictures::store::configured(),
                    &actor,
                    item.item.id,
                    None,
                    &drawn,
                )?;
                item_count += 1;
            }
        }
        Ok(Seeded { admin_email: admin.email, stores: STORES.len(), items: item_count })
    })
}

/// A picture for the `n`th demo item: rings on a gradient, in a hue of its
/// store's with a shift of its own, as a JPEG of 480 × 360.
fn drawing(store_id: i64, n: usize) -> Vec<u8> {
    use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
    let hue = (store_id as f32 * 97.0 + n as f32 * 23.0) % 360.0;
    let rings = 3.0 + (n % 5) as f32;
    let picture = RgbImage::from_fn(480, 360, |x, y| {
        let (dx, dy) = (x as f32 - 240.0, y as f32 - 180.0);
        let ring = ((dx * dx + dy * dy).sqrt() / 180.0 * rings).fract();
        let light = 0.35 + 0.3 * (y as f32 / 360.0) + if ring < 0.5 { 0.2 } else { 0.0 };
        Rgb(hsl(hue, 0.55, light.min(0.9)))
    });
    let mut bytes = Vec::new();
    // Encoding into memory does not fail; if it did, the empty picture
    // would be refused where it is prepared.
    let _ =
        DynamicImage::ImageRgb8(picture).write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Jpeg);
    bytes
}

/// A colour from hue (degrees), saturation and lightness (0 to 1).
fn hsl(hue: f32, saturation: f32, lightness: f32) -> [u8; 3] {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let sector = hue / 60.0;
    let second = chroma * (1.0 - (sector % 2.0 - 1.0).abs());
    let (r, g, b) = match sector as u32 {
        0 => (chroma, second, 0.0),
        1 => (second, chroma, 0.0),
        2 => (0.0, chroma, second),
        3 => (0.0, second, chroma),
        4 => (second, 0.0, chroma),
        _ => (chroma, 0.0, second),
    };
    let lift = lightness - chroma / 2.0;
    [r, g, b].map(|channel| ((channel + lift) * 255.0).round().clamp(0.0, 255.0) as u8)
}

/// A password to print once, for the demo admin.
pub fn generate_password() -> String {
    crate::auth::random_token(12)
}

/// Tells the operator how to log in, once.
pub fn announce(seeded: &Seeded, password: &str) {
    println!(
        "Loaded demo data: {} stores, {} items with tags.\n\
         Demo admin: {} / {password}  (shown only now; keep it or run `create-admin`)",
        seeded.stores, seeded.items, seeded.admin_email
    );
}

/// At launch, fills an empty database with demo data when `seed_demo_data`
/// is on (the debug profile).
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Demo data", |rocket| async {
        let wanted = rocket.state::<AppConfig>().is_some_and(|c| c.seed_demo_data);
        if !wanted {
            return Ok(rocket);
        }
        let Some(conn) = DbPool::get_one(&rocket).await else {
            return Err(rocket);
        };
        let password = generate_password();
        let hash = match crate::flows::hash_password(password.clone()).await {
            Ok(hash) => hash,
            Err(e) => {
                tracing::error!("demo data: {e}");
                return Err(rocket);
            }
        };
        let outcome =
            conn.run(move |conn| if is_empty(conn)? { seed(conn, &hash).map(Some) } else { Ok(None) }).await;
        match outcome {
            Ok(Some(seeded)) => {
                announce(&seeded, &password);
                Ok(rocket)
            }
            Ok(None) => Ok(rocket),
            Err(e) => {
                tracing::error!("demo data could not be loaded: {e}");
                Err(rocket)
            }
        }
    })
}
