//! The destinations one trip is planned over: the curated dataset, plus the cities of
//! the gazetteer the model researched for this trip (ids `place:N`). A researched city
//! lives only in its job (checkpointed there, so a resumed run plans with the same
//! facts); the planners look every destination up here and never tell the two apart,
//! except to mark what came from the model alone.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dataset::{Destination, destination, normalize_name};
use super::intake::TripRequest;

/// Where a part of a plan came from, when not from the curated dataset. Parts with no
/// `source` are built from curated facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The model alone: a researched city, or a name the dataset does not have.
    Model,
}

impl Source {
    /// Reads any `source` as none: the plan sets it from the catalog, and a model
    /// refining a draft may echo, drop or invent one (which must not fail its answer).
    pub(crate) fn set_by_the_plan<'de, D: serde::Deserializer<'de>>(
        reader: D,
    ) -> Result<Option<Source>, D::Error> {
        serde::de::IgnoredAny::deserialize(reader).map(|_| None)
    }
}

/// The curated dataset and this trip's researched destinations.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    researched: Vec<Destination>,
}

impl Catalog {
    /// The curated dataset alone: what the embedded backend plans with.
    pub fn curated() -> Self {
        Self::default()
    }

    /// The curated dataset plus destinations the model researched.
    pub fn with_researched(researched: Vec<Destination>) -> Self {
        Self { researched }
    }

    /// A curated destination by slug, else a researched one by its `place:N` id.
    pub fn get(&self, id: &str) -> Option<&Destination> {
        destination(id).or_else(|| self.researched.iter().find(|d| d.id == id))
    }

    /// Whether `id` is a destination the model researched.
    pub fn is_researched(&self, id: &str) -> bool {
        destination(id).is_none() && self.researched.iter().any(|d| d.id == id)
    }

    /// The trip's known destinations, in visiting order.
    pub fn trip_destinations<'a>(
        &'a self,
        trip: &'a TripRequest,
    ) -> impl Iterator<Item = &'a Destination> + 'a {
        trip.destinations.iter().filter_map(|id| self.get(id))
    }

    /// The trip's destination a day spent in `city` is in.
    pub fn trip_destination_named<'a>(
        &'a self,
        trip: &'a TripRequest,
        city: &str,
    ) -> Option<&'a Destination> {
        self.trip_destinations(trip).find(|d| d.city == city)
    }

    /// `Some(Model)` for a researched destination.
    pub fn source_of(&self, id: &str) -> Option<Source> {
        self.is_researched(id).then_some(Source::Model)
    }

    /// `Some(Model)` unless `name` is a fact of the curated destination `id`: one of
    /// its attractions or neighbourhoods, or free time in one of them (or the city).
    /// The model may add names of its own to a curated city's plan; those are its alone.
    pub fn source_of_name(&self, id: &str, name: &str) -> Option<Source> {
        let Some(d) = destination(id) else {
            return Some(Source::Model);
        };
        let key = normalize_name(name);
        let explored = |place: &str| key == normalize_name(&format!("Explore {place}"));
        let curated = d.attractions.iter().any(|a| normalize_name(&a.name) == key)
            || d.neighbourhoods
                .iter()
                .any(|n| normalize_name(&n.name) == key || explored(&n.name))
            || explored(&d.city)
            || key == normalize_name(&d.city);
        (!curated).then_some(Source::Model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn researched(id: &str, city: &str) -> Destination {
        let mut d = destination("hanoi").cloned().expect("hanoi is curated");
        d.id = id.into();
        d.city = city.into();
        d
    }

    #[test]
    fn curated_ids_win_and_researched_ones_are_found_by_id() {
        let catalog = Catalog::with_researched(vec![researched("place:1", "Somewhere")]);
        assert_eq!(catalog.get("hanoi").map(|d| d.city.as_str()), Some("Hanoi"));
        assert_eq!(
            catalog.get("place:1").map(|d| d.city.as_str()),
            Some("Somewhere")
        );
        assert!(catalog.is_researched("place:1") && !catalog.is_researched("hanoi"));
        assert!(Catalog::curated().get("place:1").is_none());
    }

    #[test]
    fn only_names_the_dataset_lacks_are_the_models() {
        let catalog = Catalog::with_researched(vec![researched("place:1", "Somewhere")]);
        let hanoi = destination("hanoi").expect("hanoi");
        let sight = &hanoi.attractions[0].name;
        let area = &hanoi.neighbourhoods[0].name;
        assert_eq!(catalog.source_of_name("hanoi", sight), None);
        assert_eq!(catalog.source_of_name("hanoi", area), None);
        assert_eq!(
            catalog.source_of_name("hanoi", &format!("Explore {area}")),
            None
        );
        assert_eq!(
            catalog.source_of_name("hanoi", "A night at the imaginary opera"),
            Some(Source::Model)
        );
        // A researched city's facts are all the model's, even a name a curated city shares.
        assert_eq!(
            catalog.source_of_name("place:1", sight),
            Some(Source::Model)
        );
        assert_eq!(catalog.source_of("place:1"), Some(Source::Model));
        assert_eq!(catalog.source_of("hanoi"), None);
    }
}
