//! The console: one job, serving the store to analysts in a browser (server-rendered pages,
//! and the same data as JSON under `/api/v1/`) behind real authentication: the overview, the
//! alerts queue and its triage, an alert with its evidence, search, read-only SQL and the
//! daily review ([`review`], also printed by `trailwatch review`).
//!
//! - Users, roles ([`Role`]: viewer reads, responder triages, admin manages users and reads the
//!   audit log), sessions, failed logins and the analysts' audit log live in the store's
//!   console database ([`console_db_path`]), beside the watch state. Passwords are Argon2id
//!   hashes; session tokens are stored only as their SHA-256.
//! - Every route is declared once, in [`routes`]; the router is built from that table and
//!   each route passes the one guard: no session gives 401 on `/api/` and a redirect to
//!   `/login` elsewhere; a state-changing request without the session's CSRF token (a form
//!   field whose name starts with `csrf`, or the `X-CSRF-Token` header) gives 403; a role
//!   below the route's gives 403.
//! - Logins are rate-limited per user name and per client address; session cookies are
//!   `HttpOnly`, `SameSite=Strict`, and `Secure` (with the `__Host-` prefix) under TLS;
//!   sessions end after a fixed lifetime, after an idle time, and at logout, server-side.
//! - Every value shown comes from logs and is escaped with `trailwatch_escape::html`; links
//!   carry values only as percent-encoded query parameters. Every answer carries a
//!   Content-Security-Policy without inline script, `X-Content-Type-Options: nosniff` and
//!   `frame-ancestors 'none'`; the stylesheet is built into the binary.
//! - Alerts are read and triaged through the watch's outbox (`trailwatch_sink::Outbox`): the
//!   same states and notes as `trailwatch alerts`. Events are read through `trailwatch-query`
//!   (read-only SQL, a row and a time limit per query); posture results through the watch
//!   state. An alert's page carries the `investigate` report and the `recover` plan with its
//!   script, built by trailwatch-recover's one path from the store's days around the alert.
//! - The rules page shows the rules `watch` runs (its one resolution of the pack,
//!   [`trailwatch_watch::rule_pack`], done when the console starts), each with its level and
//!   its alerts and events of the last 7 days in the outbox (and its alerts per day, drawn as
//!   a small bar chart), the configuration's suppressions
//!   with their expiry (read-only: they change in the configuration file), and the
//!   suppressions admins add and remove here (`trailwatch_watch::managed`: the watch applies
//!   them from its next poll; each change is in the audit log).

mod alerts;
mod auth;
mod coverage;
mod db;
mod error;
mod html;
mod incident;
mod metrics;
mod overview;
mod pages;
mod query;
pub mod review;
mod routes;
mod rules;
mod suppressions;
mod tls;

pub use auth::{Role, FAILURE_WINDOW, MAX_FAILURES_PER_IP, MAX_FAILURES_PER_USER};
pub use db::{console_db_path, AuditEntry, ConsoleDb, Session, SessionPolicy, User};
pub use error::ConsoleError;
pub use routes::{router, routes, session_cookie_name, Access, Peer, RouteInfo};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// The default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9480";

/// A certificate chain and its private key, PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What `trailwatch serve` runs: the store, the address, TLS, session lifetimes.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub store_dir: PathBuf,
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    pub session: SessionPolicy,
    /// The watch configuration whose rules and suppressions the rules page shows (resolved as
    /// `watch` resolves them).
    pub watch: trailwatch_watch::Config,
    /// The registry `/metrics` serves: the watch's when the watch serves the console.
    pub metrics: Option<trailwatch_watch::Metrics>,
}

impl ConsoleConfig {
    /// The defaults for a store: loopback, no TLS, sessions of 8 hours, 30 minutes idle.
    pub fn new(store_dir: PathBuf) -> ConsoleConfig {
        ConsoleConfig {
            store_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 9480)),
            tls: None,
            session: SessionPolicy {
                ttl: Duration::from_secs(8 * 3600),
                idle: Duration::from_secs(30 * 60),
            },
            watch: trailwatch_watch::Config::default(),
            metrics: None,
        }
    }

    /// Opens the console database, reads the TLS files and loads the rules: everything that
    /// can fail before the first request.
    pub fn build(self) -> Result<Console, ConsoleError> {
        let tls = self.tls.as_ref().map(tls::server_config).transpose()?;
        let pack = trailwatch_watch::rule_pack(&self.watch)?;
        let rules = rules::Rules::new(&pack, trailwatch_watch::suppressions(&self.watch)?);
        let db = ConsoleDb::open(&self.store_dir)?;
        let state = AppState(Arc::new(Inner {
            store_dir: self.store_dir,
            db: Mutex::new(db),
            policy: self.session,
            secure: tls.is_some(),
            query: Mutex::new(None),
            rules,
            metrics: self.metrics.unwrap_or_default(),
            incidents: incident::InvestigationCache::default(),
            reviews: Mutex::new(None),
            overviews: overview::OverviewCache::default(),
        }));
        Ok(Console {
            state,
            listen: self.listen,
            tls,
        })
    }
}

/// A console ready to serve.
pub struct Console {
    state: AppState,
    listen: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Console {
    /// The router, for serving or for sending requests to directly (tests).
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Whether the console has no user yet (nobody can log in).
    pub fn no_users(&self) -> Result<bool, ConsoleError> {
        Ok(self.state.db().users()?.is_empty())
    }

    /// Serves on a runtime of its own until SIGTERM or ctrl-c.
    pub fn run(self, ready: impl FnOnce(SocketAddr)) -> Result<(), ConsoleError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|source| ConsoleError::Io {
                what: "starting the runtime".into(),
                source,
            })?;
        runtime.block_on(self.serve(ready, shutdown_signal()))
    }

    /// Binds and serves until `shutdown` completes. `ready` gets the bound address (the port
    /// is chosen by the system when the configuration says 0).
    pub async fn serve(
        self,
        ready: impl FnOnce(SocketAddr),
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ConsoleError> {
        let io = |source| ConsoleError::Io {
            what: format!("listening on {}", self.listen),
            source,
        };
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(io)?;
        ready(listener.local_addr().map_err(io)?);
        let app = self.router();
        match self.tls {
            None => axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(io),
            Some(config) => axum::serve(
                tls::TlsListener::new(listener, config),
                app.into_make_service_with_connect_info::<Peer>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(io),
        }
    }
}

/// The state every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store_dir: PathBuf,
    db: Mutex<ConsoleDb>,
    policy: SessionPolicy,
    secure: bool,
    /// The store's SQL session, opened at the first query.
    query: Mutex<Option<Arc<trailwatch_query::Query>>>,
    /// The rules and suppressions, read at start.
    rules: rules::Rules,
    /// What `/metrics` serves; every answer is counted in it.
    metrics: trailwatch_watch::Metrics,
    /// Alerts' investigations made lately.
    incidents: incident::InvestigationCache,
    /// The store sections of the last review shown, by day and the store's ledger head (a
    /// day's review reads every earlier day to tell what is new).
    reviews: Mutex<Option<(ReviewKey, Vec<review::Section>)>>,
    /// Overviews made within the last minute.
    overviews: overview::OverviewCache,
}

/// A review's day and the ledger head (seq, hash) it was read at.
type ReviewKey = (String, u64, String);

impl AppState {
    fn db(&self) -> MutexGuard<'_, ConsoleDb> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.0.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn session(&self, token: &str) -> Result<Option<Session>, ConsoleError> {
        self.db().session(token, self.0.policy, SystemTime::now())
    }

    fn audit(&self, who: &str, action: &str, target: &str, detail: &str, ip: &str) {
        if let Err(e) = self.db().audit(who, action, target, detail, ip) {
            tracing::error!(error = %e, "audit log write failed");
        }
    }

    /// The store's SQL session (blocking: call it off the async threads).
    fn query(&self) -> Result<Arc<trailwatch_query::Query>, ConsoleError> {
        let mut slot = self.0.query.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = slot.as_ref() {
            return Ok(q.clone());
        }
        let q = Arc::new(trailwatch_query::Query::open(&self.0.store_dir)?);
        *slot = Some(q.clone());
        Ok(q)
    }

    /// The store's ledger head now (seq, line hash): what the console's caches are keyed by
    /// (blocking).
    fn store_head(&self) -> Result<(u64, String), ConsoleError> {
        let head = trailwatch_store::Store::open_read(&self.0.store_dir)?
            .ledger()
            .head();
        Ok((head.seq, head.hash))
    }

    fn rules(&self) -> &rules::Rules {
        &self.0.rules
    }

    fn store_dir(&self) -> &std::path::Path {
        &self.0.store_dir
    }

    fn outbox(&self) -> Result<trailwatch_sink::Outbox, ConsoleError> {
        Ok(trailwatch_watch::open_outbox(&self.0.store_dir)?)
    }
}

/// Completes at ctrl-c or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
