//! Facet counts of an item listing: for the items a filter lets through,
//! how many each tag, each store and each price band would leave.
//!
//! Counting reads at most [`FACET_SAMPLE`] matching items, so that counts
//! over a word found in half a million items cost what they do over a
//! thousand; beyond, each count is scaled to the estimated total and said
//! to be an estimate, as list totals are.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use super::item::Item;
use super::{ItemFilter, Total, EXACT_FILTERED_COUNT_LIMIT};
use crate::price::Price;
use crate::schema::{items, stores};

/// The most matching items the counts read.
pub const FACET_SAMPLE: i64 = EXACT_FILTERED_COUNT_LIMIT;

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

#[derive(QueryableByName)]
struct TagRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    store_name: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The counts of `kinds` for the items `filter` lets through: three
/// statements (the matches read, the tags counted, the stores named), four
/// when more match than are read.
pub fn count(conn: &mut PgConnection, filter: &ItemFilter, kinds: FacetKinds) -> QueryResult<Facets> {
    let mut sample: Vec<(i64, i64, Price)> = Item::filtered(filter)
        .select((items::id, items::store_id, items::price))
        .limit(FACET_SAMPLE + 1)
        .load(conn)?;
    let read = sample.len() as i64;
    let total = Total::estimated_beyond_limit(conn, read, Item::filtered(filter).select(items::id))?;
    sample.truncate(FACET_SAMPLE as usize);
    let approximate = read > FACET_SAMPLE;
    // Counts over the sample, scaled to the estimated total.
    let scale = |count: i64| {
        if approximate {
            (count as f64 * total.count as f64 / FACET_SAMPLE as f64).round() as i64
        } else {
            count
        }
    };
    let tags = if kinds.tags && !sample.is_empty() {
        let ids: Vec<i64> = sample.iter().map(|&(id, _, _)| id).collect();
        // The most frequent tags with their names, in one statement.
        let rows: Vec<TagRow> = diesel::sql_query(
            "SELECT t.id, t.name, s.name AS store_name, counted.count \
             FROM (SELECT tag_id, count(*) AS count FROM item_tags WHERE item_id = ANY($1) \
                   GROUP BY tag_id ORDER BY count DESC, tag_id LIMIT $2) AS counted \
             JOIN tags t ON t.id = counted.tag_id JOIN stores s ON s.id = t.store_id \
             ORDER BY counted.count DESC, t.id",
        )
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<BigInt, _>(FACET_CHOICES)
        .load(conn)?;
        Some(
            rows.into_iter()
                .map(|row| TagCount {
                    id: row.id,
                    name: row.name,
                    store_name: row.store_name,
                    count: scale(row.count),
                })
                .collect(),
        )
    } else {
        kinds.tags.then(Vec::new)
    };
    let stores = if kinds.stores {
        let mut counts = std::collections::HashMap::<i64, i64>::new();
        for &(_, store_id, _) in &sample {
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
                    .filter(|&&(_, _, price)| {
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
