//! Prices: exact amounts of money with two decimal places, stored as
//! `NUMERIC(12,2)` and handled as a whole number of cents. They are parsed
//! from their decimal text and never pass through a float.

use std::fmt;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::data_types::PgNumeric;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Numeric;
use serde::ser::Error as _;
use serde::{Serialize, Serializer};

/// The largest price `NUMERIC(12,2)` holds, in cents: 9 999 999 999.99.
pub const MAX_CENTS: i64 = 999_999_999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Numeric)]
pub struct Price {
    cents: i64,
}

/// Why a text is not a price; the message completes "price ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceError(pub &'static str);

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Price {
    pub fn from_cents(cents: i64) -> Option<Price> {
        (0..=MAX_CENTS).contains(&cents).then_some(Price { cents })
    }

    pub fn cents(self) -> i64 {
        self.cents
    }

    /// Parses a decimal such as `12`, `12.5`, `12.50` or `1.25e2`, as written
    /// in JSON or typed in a form. A value that would need rounding, a
    /// negative one, one above [`MAX_CENTS`], `NaN` and infinities are refused.
    pub fn parse(text: &str) -> Result<Price, PriceError> {
        const NOT_A_NUMBER: PriceError = PriceError("must be a decimal number such as 12.50");
        const NEGATIVE: PriceError = PriceError("must not be negative");
        const TOO_PRECISE: PriceError = PriceError("must have at most two decimal places");
        const TOO_LARGE: PriceError = PriceError("must be at most 9999999999.99");

        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (whole, fraction) = match mantissa.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (mantissa, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(NOT_A_NUMBER);
        }
        let exponent: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if !all_digits(digits) {
                    return Err(NOT_A_NUMBER);
                }
                // Anything past a few digits is far out of range either way.
                let magnitude: i64 = digits.parse().unwrap_or(i64::MAX / 2).min(10_000);
                if e.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
        };
        let fraction = fraction.unwrap_or("");
        let digits: String = format!("{whole}{fraction}");
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return Ok(Price { cents: 0 });
        }
        if negative {
            return Err(NEGATIVE);
        }
        // value = significant × 10^shift cents
        let shift = 2 - fraction.len() as i64 + exponent;
        let cents_digits = if shift >= 0 {
            if significant.len() as i64 + shift > 12 {
                return Err(TOO_LARGE);
            }
            format!("{significant}{}", "0".repeat(shift as usize))
        } else {
            let drop = (-shift) as usize;
            if drop >= significant.len()
                || !significant[significant.len() - drop..].bytes().all(|b| b == b'0')
            {
                return Err(TOO_PRECISE);
            }
            significant[..significant.len() - drop].to_owned()
        };
        let cents: i64 = cents_digits.parse().map_err(|_| TOO_LARGE)?;
        Price::from_cents(cents).ok_or(TOO_LARGE)
    }
}

impl fmt::Display for Price {
    /// Always two decimal places: `12.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

/// How pages write amounts of a currency: its symbol or code, then the
/// amount with thousands grouped (`€1,234.50`, `CHF 1,234.50`). The API
/// keeps the exact decimals; `static/live.js` writes live prices the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    code: String,
    prefix: String,
}

impl Money {
    /// For an ISO 4217 code of three capital letters (`EUR`).
    pub fn new(code: &str) -> Option<Money> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let prefix = match code {
            "EUR" => "€".to_owned(),
            "USD" => "$".to_owned(),
            "GBP" => "£".to_owned(),
            other => format!("{other}\u{a0}"),
        };
        Some(Money { code: code.to_owned(), prefix })
    }

    /// What a person typed as an amount of this currency, as the plain
    /// decimal the rules take (`€ 9,90` → `9.90`, `1.234,50 EUR` →
    /// `1234.50`, `$1,234.50` in dollars → `1234.50`): its symbol or code
    /// before or after, spaces, and a decimal comma are understood; thousands separators only before a decimal part. Text
    /// that is not such an amount comes back as it was, for validation to
    /// refuse with its usual message (another currency's sign included).
    pub fn read_typed(&self, typed: &str) -> String {
        let symbol = self.prefix.trim_end_matches('\u{a0}');
        let mut text = typed.trim();
        for mark in [symbol, self.code.as_str()] {
            text = text.strip_prefix(mark).or_else(|| text.strip_suffix(mark)).unwrap_or(text).trim();
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() || !compact.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.') {
            return typed.trim().to_owned();
        }
        // The last separator is the decimal one if one or two digits follow
        // it; every other separator groups thousands, by threes.
        let last = compact.rfind([',', '.']);
        let (whole, fraction) = match last {
            Some(at) if (1..=2).contains(&(compact.len() - at - 1)) => {
                (&compact[..at], Some(&compact[at + 1..]))
            }
            _ => (compact.as_str(), None),
        };
        let groups: Vec<&str> = whole.split([',', '.']).collect();
        let grouped = groups.len() == 1
            || (!groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
        let one_kind = !(whole.contains(',') && whole.contains('.'));
        // `9,999` or `1.234` alone could be thousands or a slip of the
        // finger: not guessed, so refused.
        let unambiguous = groups.len() == 1 || fraction.is_some();
        if !grouped || !one_kind || !unambiguous {
            return typed.trim().to_owned();
        }
        let digits: String = groups.concat();
        match fraction {
            Some(fraction) => format!("{digits}.{fraction}"),
            None => digits,
        }
    }

    /// What goes before the amount: a symbol, or the code and a space.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn format(&self, price: Price) -> String {
        let text = price.to_string();
        let (units, cents) = text.split_once('.').unwrap_or((&text, "00"));
        let mut grouped = String::new();
        for (n, digit) in units.chars().enumerate() {
            if n > 0 && (units.len() - n) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        format!("{}{grouped}.{cents}", self.prefix)
    }
}

impl Serialize for Price {
    /// A JSON number written from the exact decimal text, e.g. `12.50`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.to_string()).map_err(S::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl Price {
    /// NUMERIC's wire form: base-10000 digit groups, `weight` being the power
    /// of 10000 of the first group.
    fn to_pg_numeric(self) -> PgNumeric {
        let mut digits = Vec::new();
        let mut whole = self.cents / 100;
        while whole > 0 {
            digits.push((whole % 10_000) as i16);
            whole /= 10_000;
        }
        digits.reverse();
        let weight = digits.len() as i16 - 1;
        let fraction = (self.cents % 100) as i16;
        if fraction != 0 {
            digits.push(fraction * 100);
        }
        PgNumeric::Positive { weight, scale: 2, digits }
    }

    fn from_pg_numeric(numeric: PgNumeric) -> Result<Price, &'static str> {
        let (weight, digits) = match numeric {
            PgNumeric::Positive { weight, digits, .. } => (weight, digits),
            PgNumeric::Negative { .. } => return Err("negative price in the database"),
            PgNumeric::NaN => return Err("NaN price in the database"),
        };
        let mut cents: i64 = 0;
        for (index, digit) in digits.iter().enumerate() {
            let power = weight as i64 - index as i64;
            let digit = *digit as i64;
            let contribution = match power {
                p if p >= 0 => 10_000_i64
                    .checked_pow(p as u32)
                    .and_then(|scale| digit.checked_mul(scale))
                    .and_then(|v| v.checked_mul(100)),
                -1 if digit % 100 == 0 => Some(digit / 100),
                _ if digit == 0 => Some(0),
                _ => None,
            };
            cents = contribution
                .and_then(|c| cents.checked_add(c))
                .ok_or("price out of range or with more than two decimals")?;
        }
        Ok(Price { cents })
    }
}

impl ToSql<Numeric, Pg> for Price {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        let numeric = self.to_pg_numeric();
        <PgNumeric as ToSql<Numeric, Pg>>::to_sql(&numeric, &mut out.reborrow())
    }
}

impl FromSql<Numeric, Pg> for Price {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(Price::from_pg_numeric(PgNumeric::from_sql(value)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_as_people_type_them_in_the_shop_currency() {
        let euro = Money::new("EUR").unwrap();
        for (typed, read) in [
            ("9.90", "9.90"),
            ("9,90", "9.90"),
            ("€9.90", "9.90"),
            ("€ 9,90", "9.90"),
            ("9,90 €", "9.90"),
            ("9,90\u{a0}€", "9.90"),
            ("EUR 9.90", "9.90"),
            ("1.234,50", "1234.50"),
            ("1,234.50", "1234.50"),
            ("1 234,5", "1234.5"),
            ("12", "12"),
            ("1.234.567,00", "1234567.00"),
        ] {
            assert_eq!(euro.read_typed(typed), read, "{typed:?}");
        }
        // Whatever is not an amount in euros is left for validation to refuse.
        for typed in ["$9.90", "9,999", "1.234", "1,2,3", "9.9.9,1,2", "abc", "-1", "9,90 USD", "1,23,456.00"]
        {
            assert_eq!(euro.read_typed(typed), typed, "{typed:?}");
        }
        assert_eq!(Money::new("USD").unwrap().read_typed("$1,234.50"), "1234.50");
        assert_eq!(Money::new("CHF").unwrap().read_typed("CHF 12.50"), "12.50");
    }

    #[test]
    fn money_groups_thousands_after_its_symbol_or_code() {
        let euro = Money::new("EUR").unwrap();
        let price = |text| Price::parse(text).unwrap();
        assert_eq!(euro.format(price("0")), "€0.00");
        assert_eq!(euro.format(price("12.5")), "€12.50");
        assert_eq!(euro.format(price("1234.5")), "€1,234.50");
        assert_eq!(euro.format(price("9999999999.99")), "€9,999,999,999.99");
        assert_eq!(Money::new("USD").unwrap().format(price("100000")), "$100,000.00");
        assert_eq!(Money::new("CHF").unwrap().format(price("5")), "CHF\u{a0}5.00");
        for bad in ["", "eur", "EURO", "E1R", "€"] {
            assert_eq!(Money::new(bad), None, "{bad}");
        }
    }

    fn cents(text: &str) -> Result<i64, &'static str> {
        Price::parse(text).map(Price::cents).map_err(|e| e.0)
    }

    #[test]
    fn parses_plain_decimals_exactly() {
        assert_eq!(cents("0"), Ok(0));
        assert_eq!(cents("12"), Ok(1200));
        assert_eq!(cents("12.5"), Ok(1250));
        assert_eq!(cents("12.05"), Ok(1205));
        assert_eq!(cents("0.10"), Ok(10));
        assert_eq!(cents("1.500"), Ok(150));
        assert_eq!(cents("9999999999.99"), Ok(MAX_CENTS));
        assert_eq!(cents("-0"), Ok(0));
    }

    #[test]
    fn understands_exponents_without_floats() {
        assert_eq!(cents("1.25e2"), Ok(12_500));
        assert_eq!(cents("125E-2"), Ok(125));
        assert_eq!(cents("1e400"), Err("must be at most 9999999999.99"));
        assert_eq!(cents("1e-400"), Err("must have at most two decimal places"));
        assert_eq!(cents("0e999999999999999999999"), Ok(0));
    }

    #[test]
    fn refuses_rounding_negatives_and_non_numbers() {
        assert_eq!(cents("1.005"), Err("must have at most two decimal places"));
        assert_eq!(cents("-1"), Err("must not be negative"));
        assert_eq!(cents("10000000000"), Err("must be at most 9999999999.99"));
        for text in ["NaN", "Infinity", "-Infinity", "", ".5", "5.", "1,5", " 1", "0x10", "1e", "+1"] {
            assert_eq!(cents(text), Err("must be a decimal number such as 12.50"), "{text:?}");
        }
    }

    #[test]
    fn displays_and_serializes_two_decimals() {
        let price = Price::parse("7.5").unwrap();
        assert_eq!(price.to_string(), "7.50");
        assert_eq!(serde_json::to_string(&price).unwrap(), "7.50");
    }

    #[test]
    fn round_trips_the_numeric_wire_format() {
        for text in ["0", "0.01", "0.5", "1", "12.34", "10000", "123456789.01", "9999999999.99"] {
            let price = Price::parse(text).unwrap();
            assert_eq!(Price::from_pg_numeric(price.to_pg_numeric()), Ok(price), "{text}");
        }
        let digits = vec![12, 3456, 7800];
        let numeric = PgNumeric::Positive { weight: 1, scale: 2, digits };
        assert_eq!(Price::from_pg_numeric(numeric).map(Price::cents), Ok(12_345_678));
        let third_decimal = PgNumeric::Positive { weight: -1, scale: 3, digits: vec![10] };
        assert!(Price::from_pg_numeric(third_decimal).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_parsed_or_refused_without_a_panic(text in "\\PC{0,24}") {
            let _ = Price::parse(&text);
        }

        #[test]
        fn every_price_reads_back_from_its_own_text(cents in 0i64..=MAX_CENTS) {
            let price = Price::from_cents(cents).unwrap();
            proptest::prop_assert_eq!(Price::parse(&price.to_string()), Ok(price));
        }

        #[test]
        fn decimal_looking_text_never_panics(whole in "[0-9]{0,14}", fraction in "[0-9]{0,4}", sign in "[-+]?") {
            let _ = Price::parse(&format!("{sign}{whole}.{fraction}"));
        }
    }
}
