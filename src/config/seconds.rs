//! A delivery setting counted in seconds (`timeout_secs`, `deadline_secs`,
//! `secondary_wait_secs`): a whole number of seconds in `dispatch.yaml` and in `ORCHESTRATOR_*`
//! variables, as always, and any duration (`200ms`, `30`, `2m`) from a flag.
//!
//! A flag's value reaches the settings through figment, which carries it as serialized data:
//! a whole number of seconds is written as that number, anything finer as a one-key map of
//! milliseconds ([`MILLIS_KEY`]), the way figment's own magic values carry what plain data
//! cannot. Every other form is refused with serde's own words for a `u64`, so a string such as
//! `30s` in the file is the same error it always was.

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// The key of the map a sub-second value travels in between the flags and the settings.
const MILLIS_KEY: &str = "__orchestrator_milliseconds";

/// A duration written in whole seconds in the file; a flag may give it finer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub Duration);

impl Seconds {
    pub const fn from_secs(secs: u64) -> Seconds {
        Seconds(Duration::from_secs(secs))
    }

    /// A flag's value: a bare number is seconds (`30`), as it always was; with a unit it is a
    /// duration (`200ms`, `1m30s`).
    pub fn parse_flag(text: &str) -> Result<Seconds, String> {
        crate::policy::parse_seconds_or_duration(text).map(Seconds)
    }

    /// The value as a user reads it in a message: whole seconds, or seconds with a fraction.
    pub fn shown(self) -> String {
        crate::policy::shown_secs(self.0)
    }

    /// Whether the value lies in `allowed`, a range of whole seconds. A minimum of one second
    /// means "more than nothing": a flag may ask for `200ms`, which the file cannot write.
    pub fn within(self, allowed: &std::ops::RangeInclusive<u64>) -> bool {
        let floor = match *allowed.start() {
            1 => Duration::from_millis(1),
            secs => Duration::from_secs(secs),
        };
        self.0 >= floor && self.0 <= Duration::from_secs(*allowed.end())
    }
}

impl From<Seconds> for Duration {
    fn from(seconds: Seconds) -> Duration {
        seconds.0
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.0.subsec_nanos() == 0 {
            return serializer.serialize_u64(self.0.as_secs());
        }
        let millis = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(MILLIS_KEY, &millis)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_u64(SecondsVisitor)
    }
}

struct SecondsVisitor;

impl<'de> Visitor<'de> for SecondsVisitor {
    type Value = Seconds;

    // serde's own word for an unsigned number: the file's messages stay as they were.
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("u64")
    }

    fn visit_u64<E>(self, secs: u64) -> Result<Seconds, E> {
        Ok(Seconds::from_secs(secs))
    }

    fn visit_i64<E: de::Error>(self, secs: i64) -> Result<Seconds, E> {
        u64::try_from(secs)
            .map(Seconds::from_secs)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(secs), &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seconds, A::Error> {
        let entry: Option<(Cow<'de, str>, u64)> = map.next_entry()?;
        match entry {
            Some((key, millis))
                if key == MILLIS_KEY && map.next_key::<de::IgnoredAny>()?.is_none() =>
            {
                Ok(Seconds(Duration::from_millis(millis)))
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

/// The file's form: a whole number of seconds.
impl JsonSchema for Seconds {
    fn schema_name() -> Cow<'static, str> {
        u64::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        u64::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        u64::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_number_from_a_flag_is_seconds_and_a_unit_is_honoured() {
        assert_eq!(Seconds::parse_flag("30"), Ok(Seconds::from_secs(30)));
        assert_eq!(
            Seconds::parse_flag("200ms"),
            Ok(Seconds(Duration::from_millis(200)))
        );
        assert_eq!(Seconds::parse_flag("2m"), Ok(Seconds::from_secs(120)));
    }

    #[test]
    fn a_sub_second_value_survives_the_trip_through_figment() {
        use figment::{providers::Serialized, Figment};
        #[derive(Debug, Serialize, Deserialize)]
        struct Layer {
            timeout_secs: Seconds,
        }
        for seconds in [Seconds::from_secs(30), Seconds(Duration::from_millis(200))] {
            let flags = Layer {
                timeout_secs: seconds,
            };
            let layered: Layer = Figment::from(Serialized::defaults(&flags))
                .extract()
                .unwrap();
            assert_eq!(layered.timeout_secs, seconds);
        }
    }

    #[test]
    fn text_is_refused_in_the_words_used_for_a_number() {
        let err = serde_json::from_str::<Seconds>("\"30s\"").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid type: string \"30s\", expected u64"),
            "{err}"
        );
    }

    #[test]
    fn a_minimum_of_one_second_lets_a_flag_go_below_it_but_not_to_nothing() {
        let allowed = 1..=600;
        assert!(Seconds(Duration::from_millis(200)).within(&allowed));
        assert!(!Seconds::from_secs(0).within(&allowed));
        assert!(!Seconds::from_secs(601).within(&allowed));
        assert_eq!(Seconds(Duration::from_millis(600_500)).shown(), "600.5");
    }
}
