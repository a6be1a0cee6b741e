//! Where the price monitor gets today's fare for a route: the knowledge
//! dataset's estimator (the embedded default), or an HTTP price feed
//! (`PRICE_FEED_URL`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Deserialize;

use super::watchlist::Route;
use crate::knowledge;
use crate::outbound::{self, OutboundPolicy};

#[derive(Debug, Clone, thiserror::Error)]
pub enum FareError {
    #[error("no fare for {0}: unknown airport")]
    UnknownAirport(String),
    #[error("price feed: {0}")]
    Feed(String),
}

#[async_trait]
pub trait FareSource: Send + Sync + 'static {
    /// One-way economy fare per person in USD for `route` departing `date`,
    /// as quoted on `today`.
    async fn fare_usd(
        &self,
        route: &Route,
        date: NaiveDate,
        today: NaiveDate,
    ) -> Result<f64, FareError>;

    /// `knowledge` or `feed`, recorded in a suggestion's context.
    fn name(&self) -> &'static str;
}

/// The dataset's estimate: it varies with season and days to departure and
/// is the same all day for the same inputs.
pub struct KnowledgeFares;

#[async_trait]
impl FareSource for KnowledgeFares {
    async fn fare_usd(
        &self,
        route: &Route,
        date: NaiveDate,
        today: NaiveDate,
    ) -> Result<f64, FareError> {
        let find = |code: &str| {
            knowledge::find_airport(code).ok_or_else(|| FareError::UnknownAirport(code.into()))
        };
        Ok(knowledge::estimate_fare_usd(
            find(&route.origin)?,
            find(&route.destination)?,
            date,
            today,
        ))
    }

    fn name(&self) -> &'static str {
        "knowledge"
    }
}

/// `GET {url}?origin=LAX&destination=NRT&date=2027-03-01` answering
/// `{"price_usd": 612.5}`.
///
/// The feed's own host is trusted (the operator named it, and a user's
/// route fills only the query string), but the fetch goes through the
/// outbound policy: a redirect to any other non-public address is refused,
/// as for calendar feeds.
pub struct HttpFares {
    client: reqwest::Client,
    url: reqwest::Url,
}

#[derive(Deserialize)]
struct FeedQuote {
    price_usd: f64,
}

impl HttpFares {
    pub fn new(url: &str, timeout: Duration, outbound: &OutboundPolicy) -> Result<Self, FareError> {
        let url = reqwest::Url::parse(url).map_err(|e| FareError::Feed(e.to_string()))?;
        let client = outbound
            .trusting_host_of(&url)
            .client()
            .timeout(timeout)
            .build()
            .map_err(|e| FareError::Feed(e.to_string()))?;
        Ok(Self { client, url })
    }
}

#[async_trait]
impl FareSource for HttpFares {
    async fn fare_usd(
        &self,
        route: &Route,
        date: NaiveDate,
        _today: NaiveDate,
    ) -> Result<f64, FareError> {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("origin", &route.origin)
            .append_pair("destination", &route.destination)
            .append_pair("date", &date.to_string());
        let feed = |e: reqwest::Error| FareError::Feed(outbound::describe(e));
        let quote: FeedQuote = self
            .client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(feed)?
            .json()
            .await
            .map_err(feed)?;
        if !(quote.price_usd.is_finite() && quote.price_usd > 0.0) {
            return Err(FareError::Feed(format!(
                "price_usd {} is not a positive number",
                quote.price_usd
            )));
        }
        Ok(quote.price_usd)
    }

    fn name(&self) -> &'static str {
        "feed"
    }
}
