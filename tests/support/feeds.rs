//! Local stand-ins for the scheduler's outside world: a price feed and an
//! iCalendar feed, each an axum server on 127.0.0.1:0 whose answers the
//! test changes as it goes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::collections::HashMap;

#[derive(Clone, Default)]
struct PriceState {
    price: Arc<Mutex<f64>>,
    /// Never answer (a feed that hangs mid-run).
    hang: Arc<AtomicBool>,
    fail: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    served: Arc<AtomicUsize>,
}

/// `GET /quote?origin&destination&date` → `{"price_usd": <price>}`.
pub struct PriceFeed {
    pub url: String,
    state: PriceState,
}

impl PriceFeed {
    pub async fn start(price: f64) -> Self {
        let state = PriceState::default();
        *state.price.lock().unwrap() = price;
        let app = Router::new()
            .route("/quote", get(quote))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/quote", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state }
    }

    pub fn set_price(&self, price: f64) {
        *self.state.price.lock().unwrap() = price;
    }

    pub fn hang(&self, hang: bool) {
        self.state.hang.store(hang, Ordering::SeqCst);
    }

    pub fn fail(&self, fail: bool) {
        self.state.fail.store(fail, Ordering::SeqCst);
    }

    /// Query strings received, answered or not.
    pub fn requests(&self) -> Vec<HashMap<String, String>> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Requests answered with a price.
    pub fn served(&self) -> usize {
        self.state.served.load(Ordering::SeqCst)
    }
}

async fn quote(
    State(state): State<PriceState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state.requests.lock().unwrap().push(query);
    if state.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    if state.fail.load(Ordering::SeqCst) {
        return (StatusCode::BAD_GATEWAY, "upstream down").into_response();
    }
    state.served.fetch_add(1, Ordering::SeqCst);
    let price = *state.price.lock().unwrap();
    axum::Json(json!({ "price_usd": price, "currency": "USD" })).into_response()
}

/// `GET /calendar.ics` → the current document.
pub struct IcsFeed {
    pub url: String,
    body: Arc<Mutex<String>>,
}

impl IcsFeed {
    pub async fn start(body: String) -> Self {
        let shared = Arc::new(Mutex::new(body));
        let app = Router::new()
            .route(
                "/calendar.ics",
                get(|State(body): State<Arc<Mutex<String>>>| async move {
                    let text = body.lock().unwrap().clone();
                    ([(header::CONTENT_TYPE, "text/calendar")], text)
                }),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/calendar.ics", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, body: shared }
    }

    pub fn set(&self, body: String) {
        *self.body.lock().unwrap() = body;
    }
}

/// An iCalendar document whose events are all-day busy stretches, given
/// as (first day, last day) inclusive.
pub fn all_day_calendar(busy: &[(chrono::NaiveDate, chrono::NaiveDate)]) -> String {
    let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//lotara tests//EN\r\n");
    for (i, (first, last)) in busy.iter().enumerate() {
        let end = *last + chrono::Days::new(1);
        ics.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:busy-{i}\r\nSUMMARY:Busy\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nEND:VEVENT\r\n",
            first.format("%Y%m%d"),
            end.format("%Y%m%d"),
        ));
    }
    ics.push_str("END:VCALENDAR\r\n");
    ics
}
