//! Local stand-ins for the scheduler's outside world: a price feed, an
//! iCalendar feed and a redirector, each an axum server on 127.0.0.1:0 (or
//! another loopback address) whose answers the test changes as it goes.
//! The service fetches only public addresses unless OUTBOUND_ALLOW_PRIVATE
//! lists these; the price feed's own host is trusted.

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
    /// Answer with a redirect there instead of a price.
    redirect: Arc<Mutex<Option<String>>>,
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
        Self::start_on("127.0.0.1", price).await
    }

    /// On another loopback address (`127.0.0.2`): an address an
    /// allow-list of `127.0.0.1` does not cover.
    pub async fn start_on(ip: &str, price: f64) -> Self {
        let state = PriceState::default();
        *state.price.lock().unwrap() = price;
        let app = Router::new()
            .route("/quote", get(quote))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
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

    /// Answers `302 Found` to `location` from now on.
    pub fn redirect_to(&self, location: &str) {
        *self.state.redirect.lock().unwrap() = Some(location.to_string());
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
    let redirect = state.redirect.lock().unwrap().clone();
    if let Some(location) = redirect {
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    state.served.fetch_add(1, Ordering::SeqCst);
    let price = *state.price.lock().unwrap();
    axum::Json(json!({ "price_usd": price, "currency": "USD" })).into_response()
}

#[derive(Clone, Default)]
struct IcsState {
    body: Arc<Mutex<String>>,
    /// Requests received, whatever their path.
    requests: Arc<AtomicUsize>,
}

/// `GET /calendar.ics` → the current document.
pub struct IcsFeed {
    pub url: String,
    /// `http://127.0.0.1:<port>`: for URLs to other paths or host names.
    pub port: u16,
    state: IcsState,
}

impl IcsFeed {
    pub async fn start(body: String) -> Self {
        Self::start_on("127.0.0.1", body).await
    }

    /// On another loopback address (`127.0.0.2`): an address an
    /// allow-list of `127.0.0.1` does not cover.
    pub async fn start_on(ip: &str, body: String) -> Self {
        let state = IcsState::default();
        *state.body.lock().unwrap() = body;
        let app = Router::new()
            .route(
                "/calendar.ics",
                get(|State(state): State<IcsState>| async move {
                    let text = state.body.lock().unwrap().clone();
                    ([(header::CONTENT_TYPE, "text/calendar")], text)
                }),
            )
            .with_state(state.clone())
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                |State(state): State<IcsState>,
                 req: axum::extract::Request,
                 next: axum::middleware::Next| async move {
                    state.requests.fetch_add(1, Ordering::SeqCst);
                    next.run(req).await
                },
            ));
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let url = format!("http://{address}/calendar.ics");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            port: address.port(),
            state,
        }
    }

    pub fn set(&self, body: String) {
        *self.state.body.lock().unwrap() = body;
    }

    /// Requests this feed has received.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

/// `GET /to?url=<location>` → `302 Found` to that location: a feed that
/// sends its client on, wherever the test says.
pub struct Redirector {
    pub base: String,
    requests: Arc<AtomicUsize>,
}

impl Redirector {
    pub async fn start_on(ip: &str) -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let app = Router::new()
            .route(
                "/to",
                get(
                    |State(requests): State<Arc<AtomicUsize>>,
                     Query(query): Query<HashMap<String, String>>| async move {
                        requests.fetch_add(1, Ordering::SeqCst);
                        let location = query.get("url").cloned().unwrap_or_default();
                        (StatusCode::FOUND, [(header::LOCATION, location)])
                    },
                ),
            )
            .with_state(requests.clone());
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, requests }
    }

    /// The URL that redirects to `location`.
    pub fn to(&self, location: &str) -> String {
        let mut url = reqwest::Url::parse(&format!("{}/to", self.base)).unwrap();
        url.query_pairs_mut().append_pair("url", location);
        url.to_string()
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
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
