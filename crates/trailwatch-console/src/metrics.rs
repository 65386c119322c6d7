//! `/metrics`: Prometheus text, behind the same guard as every other route (a viewer's session
//! or API token). The registry is the watch's when `watch` serves the console (its `[metrics]
//! listen`), so the watch's counters and the console's requests come from one HTTP stack
//! under one authentication rule; `serve` on its own shows the console's requests.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use trailwatch_watch::metrics::names::CONSOLE_REQUESTS;

pub async fn page(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.0.metrics.render(),
    )
        .into_response()
}

/// Counts every answer by route (the table's path, never the request's) and status.
pub async fn count(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let res = next.run(req).await;
    app.0.metrics.add(
        CONSOLE_REQUESTS,
        &[("route", &route), ("status", res.status().as_str())],
        1.0,
    );
    res
}
