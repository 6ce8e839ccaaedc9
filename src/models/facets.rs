//! Facet counts of an item listing: for the items a filter lets through,
//! how many each tag, each store and each price band would leave.
//!
//! Counting reads at most [`FACET_SAMPLE`] matching items (fewer when the
//! database expects ten times as many), so that counts over a word found in
//! half a million items cost what they do over a thousand; beyond, each
//! count is scaled to the estimated total and said to be an estimate, as
//! list totals are.

use diesel::prelude::*;

use super::item::Item;
use super::{ItemFilter, Total, EXACT_FILTERED_COUNT_LIMIT};
use crate::price::Price;
use crate::schema::{items, stores, tags};

/// The most matching items the counts read.
pub const FACET_SAMPLE: i64 = EXACT_FILTERED_COUNT_LIMIT;

/// Past this many matches expected, the counts read [`CROWDED_SAMPLE`]
/// items: scaled to a total the database estimates either way, a third of
/// the sample costs a third, and its counts are about as good.
const CROWDED: i64 = 10 * FACET_SAMPLE;
const CROWDED_SAMPLE: i64 = 300;

/// At most this many tags and stores are counted, the most frequent first.
pub const FACET_CHOICES: i64 = 20;

/// The price bands, by their lowest price in cents (0, 10, 25, 50, 100 and
/// 250); each ends a cent below the next, the last has no end.
pub const PRICE_BANDS: [i64; 6] = [0, 1_000, 2_500, 5_000, 10_000, 25_000];

/// Which counts to make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FacetKinds {
    pub tags: bool,
    pub stores: bool,
    pub price: bool,
}

impl FacetKinds {
    pub const ALL: FacetKinds = FacetKinds { tags: true, stores: true, price: true };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub id: i64,
    pub name: String,
    pub store_name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCount {
    pub id: i64,
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceBand {
    pub min: Price,
    /// `None` for the last band.
    pub max: Option<Price>,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facets {
    /// How many items match.
    pub total: Total,
    /// The counts are estimates: more items match than were read.
    pub approximate: bool,
    /// Tags with at least one item, most first (then by id).
    pub tags: Option<Vec<TagCount>>,
    /// Stores with at least one item, most first (then by name).
    pub stores: Option<Vec<StoreCount>>,
    /// Every band, empty ones too, cheapest first.
    pub price: Option<Vec<PriceBand>>,
}

/// The counts of `kinds` for the items `filter` lets through: four
/// statements (the planner's estimate; the matches read with their stores,
/// prices and tags; the tags named; the stores named).
pub fn count(conn: &mut PgConnection, filter: &ItemFilter, kinds: FacetKinds) -> QueryResult<Facets> {
    // How many the database expects: when far more than a sample, a smaller
    // one estimates the counts as well, for less.
    let expected = Total::planned(conn, Item::filtered(filter).select(items::id))?;
    let cap = if expected > CROWDED { CROWDED_SAMPLE } else { FACET_SAMPLE };
    // The matching items' stores, prices and tags, read together.
    let mut sample: Vec<(i64, Price, Vec<i64>)> = Item::filtered(filter)
        .select((items::store_id, items::price, items::tag_ids))
        .limit(cap + 1)
        .load(conn)?;
    let read = sample.len() as i64;
    let approximate = read > cap;
    sample.truncate(cap as usize);
    let total = if approximate {
        Total { count: expected.max(read), approximate: true }
    } else {
        Total { count: read, approximate: false }
    };
    // Counts over the sample, scaled to the estimated total.
    let scale = |count: i64| {
        if approximate {
            (count as f64 * total.count as f64 / cap as f64).round() as i64
        } else {
            count
        }
    };
    let tags = if kinds.tags {
        let mut counts = std::collections::HashMap::<i64, i64>::new();
        for tag_id in sample.iter().flat_map(|(_, _, tag_ids)| tag_ids) {
            *counts.entry(*tag_id).or_default() += 1;
        }
        let mut counted: Vec<(i64, i64)> = counts.into_iter().collect();
        counted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        counted.truncate(FACET_CHOICES as usize);
        let names: std::collections::HashMap<i64, (String, String)> = tags::table
            .inner_join(stores::table)
            .filter(tags::id.eq_any(counted.iter().map(|&(id, _)| id).collect::<Vec<_>>()))
            .select((tags::id, (tags::name, stores::name)))
            .load(conn)?
            .into_iter()
            .collect();
        Some(
            counted
                .into_iter()
                .filter_map(|(id, count)| {
                    let (name, store_name) = names.get(&id)?.clone();
                    Some(TagCount { id, name, store_name, count: scale(count) })
                })
                .collect(),
        )
    } else {
        None
    };
    let stores = if kinds.stores {
        let mut counts = std::collections::HashMap::<i64, i64>::new();
        for &(store_id, _, _) in &sample {
            *counts.entry(store_id).or_default() += 1;
        }
        let names: std::collections::HashMap<i64, String> = stores::table
            .filter(stores::id.eq_any(counts.keys().copied().collect::<Vec<_>>()))
            .select((stores::id, stores::name))
            .load(conn)?
            .into_iter()
            .collect();
        let mut counted: Vec<StoreCount> = counts
            .into_iter()
            .filter_map(|(id, count)| {
                names.get(&id).map(|name| StoreCount { id, name: name.clone(), count: scale(count) })
            })
            .collect();
        counted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        counted.truncate(FACET_CHOICES as usize);
        Some(counted)
    } else {
        None
    };
    let price = kinds.price.then(|| {
        PRICE_BANDS
            .iter()
            .enumerate()
            .filter_map(|(i, &low)| {
                let high = PRICE_BANDS.get(i + 1).map(|&next| next - 1);
                let count = sample
                    .iter()
                    .filter(|(_, price, _)| {
                        price.cents() >= low && high.is_none_or(|high| price.cents() <= high)
                    })
                    .count() as i64;
                Some(PriceBand {
                    min: Price::from_cents(low)?,
                    max: high.and_then(Price::from_cents),
                    count: scale(count),
                })
            })
            .collect()
    });
    Ok(Facets { total, approximate, tags, stores, price })
}
