//! Changes to many items at once: a tag added or removed, a price set or
//! changed by a percentage. A change is planned first (what each item would
//! become, for a person to confirm, with a fingerprint of the items as they
//! were read), then applied all or nothing in one transaction, and only if
//! no item changed in between: each item is checked against its version and
//! the policy, audited and published like a change made one at a time.

use std::collections::HashMap;

use diesel::PgConnection;
use sha2::{Digest, Sha256};

use super::audit::{self, Action, Changes, Subject};
use super::items::tag_ids_of;
use crate::error::Error;
use crate::models::{Item, ItemDetail, ItemTag, Store, Tag, TagRef};
use crate::policy::{self, Actor};
use crate::price::{Price, MAX_CENTS};

/// At most this many items change at once.
pub const MAX_ITEMS: usize = 10_000;

/// What happens to every selected item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkChange {
    /// The tag of this name in the item's store; stores without one get
    /// it first when `create_missing`, else their items stay as they are.
    AddTag {
        name: String,
        create_missing: bool,
    },
    RemoveTag {
        name: String,
    },
    SetPrice(Price),
    ChangePrice(Percent),
}

/// A change of price in hundredths of a percent (`-12.5 %` is `-1250`),
/// from -100 % to +1000 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percent(i64);

impl Percent {
    /// Reads `-10`, `+12.5`, `7,25 %`: at most two decimals.
    pub fn parse(typed: &str) -> Result<Percent, &'static str> {
        let text = typed.trim().trim_end_matches('%').trim().replace(',', ".");
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(&text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || whole.len() > 5 {
            return Err("Write the change as a number of percent, for example -10 or 12.5.");
        }
        if fraction.len() > 2 {
            return Err("A percentage has at most two decimals.");
        }
        let whole: i64 = whole.parse().map_err(|_| "Write the change as a number of percent.")?;
        let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
        let hundredths = (whole * 100 + fraction) * if negative { -1 } else { 1 };
        if !(-10_000..=100_000).contains(&hundredths) {
            return Err("The change must be between -100 % and +1000 %.");
        }
        Ok(Percent(hundredths))
    }

    /// `price` changed by this much, to the nearest cent (halves up).
    pub fn apply(self, price: Price) -> Option<Price> {
        let scaled = i128::from(price.cents()) * i128::from(10_000 + self.0);
        let cents = (scaled + 5_000) / 10_000;
        i64::try_from(cents).ok().filter(|&c| c <= MAX_CENTS).and_then(Price::from_cents)
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "+" };
        let (whole, fraction) = (self.0.abs() / 100, self.0.abs() % 100);
        if fraction == 0 {
            write!(f, "{sign}{whole} %")
        } else {
            write!(f, "{sign}{whole}.{fraction:02} %")
        }
    }
}

/// What one item would become.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: i64,
    pub name: String,
    pub store_name: String,
    pub from: String,
    pub to: String,
}

/// What a change would do to the selection.
#[derive(Debug)]
pub struct Plan {
    pub changed: Vec<Planned>,
    /// Items the change leaves as they are (the price is already that,
    /// the tag already there or not there).
    pub unchanged: usize,
    /// Items of stores without the tag to add, left as they are.
    pub without_tag: usize,
    /// The stores that get the tag first (`create_missing`).
    pub new_tag_in: Vec<String>,
    /// The items as they were read: applying refuses if any changed since.
    pub fingerprint: String,
}

/// The selected items, their stores and their tags.
struct Selection {
    items: Vec<Item>,
    stores: HashMap<i64, Store>,
    tags: HashMap<i64, Vec<TagRef>>,
}

impl Selection {
    /// Reads (and with `lock`, locks) the items of `ids`; every store they
    /// are in must be one `actor` manages.
    fn read(conn: &mut PgConnection, actor: &Actor, ids: &[i64], lock: bool) -> Result<Selection, Error> {
        if ids.len() > MAX_ITEMS {
            return Err(Error::invalid("ids", format!("At most {MAX_ITEMS} items change at once.")));
        }
        let items = if lock { Item::lock_all(conn, ids)? } else { Item::all_of(conn, ids)? };
        let mut store_ids: Vec<i64> = items.iter().map(|item| item.store_id).collect();
        store_ids.sort_unstable();
        store_ids.dedup();
        let stores = Store::find_all(conn, &store_ids)?;
        for store in &stores {
            policy::manage_store(actor, store)?;
        }
        let item_ids: Vec<i64> = items.iter().map(|item| item.id).collect();
        let tags = ItemTag::tags_of(conn, &item_ids)?;
        Ok(Selection { items, stores: stores.into_iter().map(|s| (s.id, s)).collect(), tags })
    }

    /// Of the items as read: which, at which versions.
    fn fingerprint(&self, change: &BulkChange) -> String {
        let mut hash = Sha256::new();
        hash.update(format!("{change:?}"));
        for item in &self.items {
            hash.update(format!(";{}:{}", item.id, item.version));
        }
        hash.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    fn store_name(&self, item: &Item) -> String {
        self.stores.get(&item.store_id).map(|s| s.name.clone()).unwrap_or_default()
    }

    fn tags_of(&self, item: &Item) -> &[TagRef] {
        self.tags.get(&item.id).map_or(&[], Vec::as_slice)
    }
}

/// One item's change, worked out.
enum Step {
    Price(Price),
    Link(i64),
    /// Link the tag to be created in the item's store.
    LinkNew,
    Unlink(i64),
}

/// What `change` does to each item of `selection`, with the tags of
/// `name` it names, by store.
struct Worked {
    steps: Vec<(usize, Step)>,
    unchanged: usize,
    without_tag: usize,
    new_tag_stores: Vec<i64>,
}

fn work_out(conn: &mut PgConnection, selection: &Selection, change: &BulkChange) -> Result<Worked, Error> {
    let tag_name = match change {
        BulkChange::AddTag { name, .. } | BulkChange::RemoveTag { name } => Some(name.trim()),
        _ => None,
    };
    let named: HashMap<i64, Tag> = match tag_name {
        Some(name) => {
            let store_ids: Vec<i64> = selection.stores.keys().copied().collect();
            Tag::named_in_stores(conn, &store_ids, name)?.into_iter().map(|t| (t.store_id, t)).collect()
        }
        None => HashMap::new(),
    };
    let mut worked = Worked { steps: Vec::new(), unchanged: 0, without_tag: 0, new_tag_stores: Vec::new() };
    for (n, item) in selection.items.iter().enumerate() {
        let carries = |tag: &Tag| selection.tags_of(item).iter().any(|t| t.id == tag.id);
        let step = match change {
            BulkChange::SetPrice(price) => (*price != item.price).then_some(Step::Price(*price)),
            BulkChange::ChangePrice(percent) => {
                let Some(price) = percent.apply(item.price) else {
                    return Err(Error::invalid(
                        "percent",
                        format!("“{}” would cost more than the highest price allowed.", item.name),
                    ));
                };
                (price != item.price).then_some(Step::Price(price))
            }
            BulkChange::AddTag { create_missing, .. } => match named.get(&item.store_id) {
                Some(tag) => (!carries(tag)).then_some(Step::Link(tag.id)),
                None if *create_missing => {
                    if !worked.new_tag_stores.contains(&item.store_id) {
                        worked.new_tag_stores.push(item.store_id);
                    }
                    Some(Step::LinkNew)
                }
                None => {
                    worked.without_tag += 1;
                    continue;
                }
            },
            BulkChange::RemoveTag { .. } => {
                named.get(&item.store_id).filter(|tag| carries(tag)).map(|tag| Step::Unlink(tag.id))
            }
        };
        match step {
            Some(step) => worked.steps.push((n, step)),
            None => worked.unchanged += 1,
        }
    }
    Ok(worked)
}

/// What `change` would do to the items of `ids`.
pub fn plan(conn: &mut PgConnection, actor: &Actor, ids: &[i64], change: &BulkChange) -> Result<Plan, Error> {
    let selection = Selection::read(conn, actor, ids, false)?;
    let worked = work_out(conn, &selection, change)?;
    let tag_name = match change {
        BulkChange::AddTag { name, .. } | BulkChange::RemoveTag { name } => name.trim(),
        _ => "",
    };
    let changed = worked
        .steps
        .iter()
        .map(|(n, step)| {
            let item = &selection.items[*n];
            let tags: Vec<&str> = selection.tags_of(item).iter().map(|t| t.name.as_str()).collect();
            let (from, to) = match step {
                Step::Price(price) => (item.price.to_string(), price.to_string()),
                Step::Link(_) | Step::LinkNew => {
                    (tags.join(", "), [tags.as_slice(), &[tag_name]].concat().join(", "))
                }
                Step::Unlink(id) => {
                    let kept =
                        selection.tags_of(item).iter().filter(|t| t.id != *id).map(|t| t.name.as_str());
                    (tags.join(", "), kept.collect::<Vec<_>>().join(", "))
                }
            };
            Planned { id: item.id, name: item.name.clone(), store_name: selection.store_name(item), from, to }
        })
        .collect();
    let new_tag_in = worked
        .new_tag_stores
        .iter()
        .filter_map(|id| selection.stores.get(id))
        .map(|s| s.name.clone())
        .collect();
    Ok(Plan {
        changed,
        unchanged: worked.unchanged,
        without_tag: worked.without_tag,
        new_tag_in,
        fingerprint: selection.fingerprint(change),
    })
}

/// Applies `change` to the items of `ids` if they are still as they were
/// when `fingerprint` was planned ([`Error::StaleVersion`] otherwise), all
/// or nothing. Returns how many items changed.
pub fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    ids: &[i64],
    change: &BulkChange,
    fingerprint: &str,
) -> Result<usize, Error> {
    crate::db::transaction(conn, |conn| {
        let selection = Selection::read(conn, actor, ids, true)?;
        if selection.fingerprint(change) != fingerprint {
            return Err(Error::StaleVersion);
        }
        let worked = work_out(conn, &selection, change)?;
        let mut created = HashMap::new();
        if let BulkChange::AddTag { name, .. } = change {
            for &store_id in &worked.new_tag_stores {
                created.insert(store_id, super::tags::create(conn, actor, store_id, name)?.tag.id);
            }
        }
        let mut audited = Vec::with_capacity(worked.steps.len());
        // New prices in one statement, however many.
        let prices: Vec<(i64, Price)> = worked
            .steps
            .iter()
            .filter_map(|(n, step)| match step {
                Step::Price(price) => Some((selection.items[*n].id, *price)),
                _ => None,
            })
            .collect();
        let before_of: HashMap<i64, &Item> = selection.items.iter().map(|item| (item.id, item)).collect();
        for item in Item::set_prices(conn, &prices)? {
            let before = before_of[&item.id];
            let changes =
                Changes::new().field("price", Some(before.price.to_string()), Some(item.price.to_string()));
            audited.push((item, selection.tags_of(before).to_vec(), changes));
        }
        for (n, step) in &worked.steps {
            let before = &selection.items[*n];
            let tags_before = selection.tags_of(before).to_vec();
            let (item, changes) = match *step {
                Step::Price(_) => continue,
                Step::Link(tag_id) => (link(conn, before, tag_id)?, Changes::new()),
                Step::LinkNew => (link(conn, before, created[&before.store_id])?, Changes::new()),
                Step::Unlink(tag_id) => {
                    ItemTag::unlink(conn, before.id, tag_id)?;
                    (Item::bump_version(conn, before.id)?, Changes::new())
                }
            };
            audited.push((item, tags_before, changes));
        }
        // The tags after, of every changed item, in one statement.
        let changed_ids: Vec<i64> = audited.iter().map(|(item, ..)| item.id).collect();
        let mut tags_after = ItemTag::tags_of(conn, &changed_ids)?;
        let count = audited.len();
        let records = audited
            .into_iter()
            .map(|(item, tags_before, mut changes)| {
                let tags = tags_after.remove(&item.id).unwrap_or_default();
                if matches!(change, BulkChange::AddTag { .. } | BulkChange::RemoveTag { .. }) {
                    changes =
                        changes.field("tag_ids", Some(tag_ids_of(&tags_before)), Some(tag_ids_of(&tags)));
                }
                let store_name = selection.store_name(&item);
                (Subject::item(&ItemDetail { item, store_name, tags }), changes)
            })
            .collect();
        audit::record_all(conn, actor, Action::Update, records)?;
        Ok(count)
    })
}

/// Links `tag_id` to `item` (of the same store) and records that the item changed.
fn link(conn: &mut PgConnection, item: &Item, tag_id: i64) -> Result<Item, Error> {
    ItemTag::link(conn, item.id, item.store_id, &[tag_id])?;
    Ok(Item::bump_version(conn, item.id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    #[test]
    fn percentages_read_as_people_write_them() {
        assert_eq!(Percent::parse("-10"), Ok(Percent(-1000)));
        assert_eq!(Percent::parse(" +12.5 % "), Ok(Percent(1250)));
        assert_eq!(Percent::parse("7,25%"), Ok(Percent(725)));
        assert_eq!(Percent::parse("-100"), Ok(Percent(-10_000)));
        for bad in ["", "ten", "1.234", "-101", "1001", "--5", "5-", "1e3", ".5"] {
            assert!(Percent::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Percent(-1250).to_string(), "-12.50 %");
        assert_eq!(Percent(1000).to_string(), "+10 %");
    }

    #[test]
    fn prices_change_to_the_nearest_cent_halves_up() {
        assert_eq!(Percent(-1000).apply(price("19.99")), Some(price("17.99"))); // 17.991
        assert_eq!(Percent(1000).apply(price("0.05")), Some(price("0.06"))); // 0.055
        assert_eq!(Percent(-1000).apply(price("0.05")), Some(price("0.05"))); // 0.045
        assert_eq!(Percent(-10_000).apply(price("12.00")), Some(price("0.00")));
        assert_eq!(Percent(333).apply(price("3.00")), Some(price("3.10"))); // 3.0999
        assert_eq!(Percent(100_000).apply(Price::from_cents(MAX_CENTS).unwrap()), None);
    }
}
