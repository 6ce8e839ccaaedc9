//! Searching items by what a shopper typed: full text over each item's
//! search document, ranked; when that finds nothing, the typed words
//! corrected to the catalogue's own (typos).
//!
//! The document is `items.search`, kept by triggers (see the migration
//! `ranked_item_search`): the item's name, its tags' names, its description
//! and its store's name, weighted in that order, as English words without
//! accents, so that "cafe" finds "Café" and "books" finds "Book".

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Float, Nullable, Text};
use diesel::{QueryResult, QueryableByName};

use crate::schema::items;

/// Whether the row's item has the typed words (web search syntax):
/// `items.search @@ storefront_query($1)`, served by its index.
#[derive(Debug, Clone)]
pub struct Finds(pub String);

/// How well the typed words find the row's item, higher first:
/// `ts_rank(items.search, storefront_query($1))`, where a word counts 1 in
/// the name, 0.4 in a tag, 0.2 in the description, 0.1 in the store's name.
#[derive(Debug, Clone)]
pub struct Score(pub String);

impl diesel::Expression for Finds {
    type SqlType = Bool;
}

impl diesel::Expression for Score {
    type SqlType = Float;
}

impl QueryFragment<Pg> for Finds {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("items.search @@ storefront_query(");
        out.push_bind_param::<Text, _>(&self.0)?;
        out.push_sql(")");
        Ok(())
    }
}

impl QueryFragment<Pg> for Score {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("ts_rank(items.search, storefront_query(");
        out.push_bind_param::<Text, _>(&self.0)?;
        out.push_sql("))");
        Ok(())
    }
}

macro_rules! item_expression {
    ($name:ident) => {
        impl QueryId for $name {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }

        impl<QS> diesel::AppearsOnTable<QS> for $name where items::name_folded: diesel::AppearsOnTable<QS> {}
        impl<QS> diesel::SelectableExpression<QS> for $name where
            items::name_folded: diesel::SelectableExpression<QS>
        {
        }
        impl diesel::expression::ValidGrouping<()> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
    };
}

item_expression!(Finds);
item_expression!(Score);

#[derive(QueryableByName)]
struct Closest {
    #[diesel(sql_type = Nullable<Text>)]
    word: Option<String>,
}

/// The typed words with each one the catalogue never uses replaced by the
/// closest word it does (trigram similarity, at least 0.3), if any was
/// replaced: "cofee bens" gives "coffee beans". The search syntax stays:
/// quotes, `-` and `or`.
pub fn correction(conn: &mut diesel::PgConnection, typed: &str) -> QueryResult<Option<String>> {
    use diesel::RunQueryDsl;
    let tokens: Vec<&str> = typed.split_whitespace().collect();
    // Each token's word: what is left without quotes and a leading `-`.
    let cores: Vec<String> =
        tokens.iter().map(|token| token.trim_start_matches('-').trim_matches('"').to_owned()).collect();
    let closest: Vec<Closest> = diesel::sql_query(
        "SELECT (SELECT w.word FROM search_words w \
                 WHERE length(t.folded) >= 3 AND t.folded !~ '[^[:alpha:]]' AND t.folded <> 'or' \
                   AND NOT EXISTS (SELECT 1 FROM search_words k WHERE k.word = t.folded) \
                   AND w.word % t.folded \
                 ORDER BY w.word <-> t.folded, w.word LIMIT 1) AS word \
         FROM unnest($1::text[]) WITH ORDINALITY AS typed (word, n), \
              LATERAL (SELECT lower(unaccent(typed.word)) AS folded) AS t \
         ORDER BY typed.n",
    )
    .bind::<Array<Text>, _>(&cores)
    .load(conn)?;
    let mut changed = false;
    let corrected: Vec<String> = tokens
        .iter()
        .zip(&cores)
        .zip(closest)
        .map(|((token, core), closest)| match closest.word {
            Some(word) if !core.is_empty() => {
                changed = true;
                token.replacen(core.as_str(), &word, 1)
            }
            _ => (*token).to_owned(),
        })
        .collect();
    Ok(changed.then(|| corrected.join(" ")))
}

/// Text cut where typed words were found: `(text, found)` pieces in order.
pub type Pieces = Vec<(String, bool)>;

/// Where the words were found in an item's name and, if there, its
/// description (a fragment of about twenty words around them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    pub name: Pieces,
    pub snippet: Option<Pieces>,
}

#[derive(QueryableByName)]
struct Headline {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    snippet: Option<String>,
}

/// The highlights of the items of `ids` for full-text words `typed`, in one
/// statement (PostgreSQL's `ts_headline`, marking with control characters,
/// which names and descriptions never hold).
pub fn highlights(
    conn: &mut diesel::PgConnection,
    ids: &[i64],
    typed: &str,
) -> QueryResult<std::collections::HashMap<i64, Highlight>> {
    use diesel::RunQueryDsl;
    let rows: Vec<Headline> = diesel::sql_query(
        "SELECT id, \
         ts_headline('storefront', name, storefront_query($1), E'HighlightAll=true, StartSel=\\x02, StopSel=\\x03') AS name, \
         ts_headline('storefront', description, storefront_query($1), \
                     E'MaxWords=24, MinWords=10, MaxFragments=1, StartSel=\\x02, StopSel=\\x03') AS snippet \
         FROM items WHERE id = ANY($2)",
    )
    .bind::<Text, _>(typed)
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let snippet = row.snippet.map(|s| pieces(&s)).filter(|p| p.iter().any(|&(_, found)| found));
            (row.id, Highlight { name: pieces(&row.name), snippet })
        })
        .collect())
}

/// Text marked with `\x02` before and `\x03` after each find, as pieces.
fn pieces(marked: &str) -> Pieces {
    let mut pieces = Vec::new();
    for (i, part) in marked.split('\u{2}').enumerate() {
        let (found, rest) = match part.split_once('\u{3}') {
            Some((found, rest)) if i > 0 => (Some(found), rest),
            _ => (None, part),
        };
        if let Some(found) = found.filter(|f| !f.is_empty()) {
            pieces.push((found.to_owned(), true));
        }
        if !rest.is_empty() {
            pieces.push((rest.to_owned(), false));
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_text_becomes_pieces() {
        let piece = |text: &str, found| (text.to_owned(), found);
        assert_eq!(
            pieces("\u{2}Crème\u{3} brûlée and \u{2}creme\u{3}"),
            vec![piece("Crème", true), piece(" brûlée and ", false), piece("creme", true)]
        );
        assert_eq!(pieces("plain"), vec![piece("plain", false)]);
        assert_eq!(pieces(""), vec![]);
    }
}
