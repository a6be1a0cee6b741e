//! The curated destinations: what the planner can plan, with
//! their key facts, so the product can offer choices. Filters by region, country,
//! interest and a month with good weather; paged by id.

use std::collections::HashMap;

use axum::Json;
use axum::extract::Query;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorResponse, FieldError};
use crate::knowledge::{
    self, ATTRACTION_CATEGORIES, ClimateMonth, Destination, TierPrices, gazetteer,
};

/// A curated destination's key facts. Prices are estimates in US dollars.
#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationSummary {
    pub id: String,
    pub city: String,
    pub country: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// One of: Southeast Asia, East Asia, South Asia, Central Asia, Middle East,
    /// Europe, North America, Central America, Caribbean, South America, Oceania, Africa.
    pub region: String,
    /// The airport travellers fly into.
    pub airport_iata: String,
    pub lat: f64,
    pub lon: f64,
    pub currency: String,
    pub timezone: String,
    /// Attraction categories it offers well (two or more sights each).
    pub interests: Vec<String>,
    /// Per room per night, by tier.
    pub nightly_usd: TierPrices,
    /// Per person per day, by tier.
    pub daily_food_usd: TierPrices,
    /// Months (1–12) with comfortable weather: 18–32 °C and under 150 mm of rain.
    pub good_months: Vec<u32>,
    /// The climate of the month asked for, when `month` was given.
    pub climate: Option<ClimateMonth>,
    pub attractions: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationList {
    pub destinations: Vec<DestinationSummary>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
    /// How many destinations match the filters, over all pages.
    pub total: usize,
}

/// Curated destinations, by id, filtered.
#[utoipa::path(get, path = "/v1/destinations", tag = "destinations",
    params(
        ("region" = Option<String>, Query, description = "A region (\"Southeast Asia\", \"Europe\") or a continent (\"Asia\"), in any of the languages the planner reads"),
        ("country" = Option<String>, Query, description = "ISO code or name, e.g. `VN`, `Vietnam`, `Nhật Bản`"),
        ("interest" = Option<String>, Query, description = "An attraction category: culture, history, food, nature, adventure, beach, nightlife, shopping, art, relaxation, family, architecture"),
        ("month" = Option<u32>, Query, minimum = 1, maximum = 12, description = "Only destinations with good weather in this month (1–12)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses(
        (status = 200, description = "A page of curated destinations", body = DestinationList),
        (status = 422, description = "A filter is not valid; `details.errors` names each", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn list_destinations(
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<DestinationList>, ApiError> {
    let filter = Filter::parse(&params).map_err(ApiError::Validation)?;
    let mut matching: Vec<&'static Destination> = knowledge::destinations()
        .iter()
        .filter(|d| filter.keeps(d))
        .collect();
    matching.sort_by(|a, b| a.id.cmp(&b.id));
    let total = matching.len();
    let start = match &filter.cursor {
        Some(after) => matching.partition_point(|d| d.id.as_str() <= after.as_str()),
        None => 0,
    };
    let page: Vec<&Destination> = matching
        .iter()
        .skip(start)
        .take(filter.limit)
        .copied()
        .collect();
    let next_cursor = (start + page.len() < total)
        .then(|| page.last().map(|d| d.id.clone()))
        .flatten();
    Ok(Json(DestinationList {
        destinations: page.iter().map(|d| summary(d, filter.month)).collect(),
        next_cursor,
        total,
    }))
}

fn summary(d: &Destination, month: Option<u32>) -> DestinationSummary {
    DestinationSummary {
        id: d.id.clone(),
        city: d.city.clone(),
        country: d.country.clone(),
        country_code: d.country_code.clone(),
        region: d.region.clone(),
        airport_iata: d.airport_iata.clone(),
        lat: d.lat,
        lon: d.lon,
        currency: d.currency.clone(),
        timezone: d.timezone.clone(),
        interests: knowledge::strong_categories(d),
        nightly_usd: d.nightly_usd.clone(),
        daily_food_usd: d.daily_food_usd.clone(),
        good_months: (1..=12)
            .filter(|m| knowledge::good_weather(d, *m))
            .collect(),
        climate: month.and_then(|m| d.climate.get(m as usize - 1).cloned()),
        attractions: d.attractions.len(),
    }
}

struct Filter {
    regions: Option<Vec<&'static str>>,
    country: Option<&'static str>,
    interest: Option<String>,
    month: Option<u32>,
    limit: usize,
    cursor: Option<String>,
}

impl Filter {
    fn parse(params: &HashMap<String, String>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let take = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let regions = take("region").map(|r| {
            gazetteer::regions_named(r)
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
        });
        if regions.as_ref().is_some_and(Vec::is_empty) {
            errors.push(FieldError::query(
                "region",
                "Must be a region such as Southeast Asia, Europe, Caribbean, or a continent such as Asia",
            ));
        }
        let country = take("country").map(|c| {
            gazetteer::country(c)
                .filter(|_| c.len() == 2)
                .or_else(|| gazetteer::country_named(c))
                .map(|c| c.code)
        });
        if matches!(country, Some(None)) {
            errors.push(FieldError::query(
                "country",
                "Must be an ISO country code or a country's name",
            ));
        }
        let interest = take("interest").map(|i| i.to_lowercase());
        if interest
            .as_deref()
            .is_some_and(|i| !ATTRACTION_CATEGORIES.contains(&i))
        {
            errors.push(FieldError::query(
                "interest",
                format!("Must be one of {}", ATTRACTION_CATEGORIES.join(", ")),
            ));
        }
        let month = take("month").map(|m| m.parse::<u32>().ok().filter(|m| (1..=12).contains(m)));
        if matches!(month, Some(None)) {
            errors.push(FieldError::query(
                "month",
                "Must be a month number from 1 to 12",
            ));
        }
        let limit =
            take("limit").map(|l| l.parse::<usize>().ok().filter(|n| (1..=100).contains(n)));
        if matches!(limit, Some(None)) {
            errors.push(FieldError::query(
                "limit",
                "Must be a whole number between 1 and 100",
            ));
        }
        let cursor = take("cursor").map(str::to_string);
        if cursor
            .as_deref()
            .is_some_and(|c| knowledge::destination(c).is_none())
        {
            errors.push(FieldError::query(
                "cursor",
                "Must be a next_cursor value from a previous page",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            regions,
            country: country.flatten(),
            interest,
            month: month.flatten(),
            limit: limit.flatten().unwrap_or(20),
            cursor,
        })
    }

    fn keeps(&self, d: &Destination) -> bool {
        self.regions
            .as_ref()
            .is_none_or(|r| r.contains(&d.region.as_str()))
            && self.country.is_none_or(|c| d.country_code == c)
            && self
                .interest
                .as_ref()
                .is_none_or(|i| knowledge::strong_categories(d).contains(i))
            && self.month.is_none_or(|m| knowledge::good_weather(d, m))
    }
}
