//! Demo data: a few stores with items and tags, and an admin to log in with,
//! so that a first `cargo run` shows something. Loaded only into an empty
//! database, through the same services as everything else.

use diesel::PgConnection;
use rocket::fairing::AdHoc;

use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::Error;
use crate::models::{Role, Store, User, Via};
use crate::policy::Actor;
use crate::services::items::ItemInput;
use crate::services::{accounts, items, stores, tags};

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
                items::create(conn, &actor, store.id, input)?;
                item_count += 1;
            }
        }
        Ok(Seeded { admin_email: admin.email, stores: STORES.len(), items: item_count })
    })
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
