//! The console commands: `users` (its accounts) and `serve` (the web console).

use crate::cli::{AlertsAt, ReviewArgs, ServeArgs, UsersCommand};
use crate::watch_cmd::load_config;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use trailwatch_console::{ConsoleConfig, ConsoleDb, Role, TlsFiles};
use trailwatch_escape as escape;

fn store_of(at: &AlertsAt) -> Result<PathBuf> {
    let config = load_config(at.config.as_deref(), at.store.store.as_ref())?;
    Ok(trailwatch_watch::store_dir(&config))
}

/// The password on stdin: its first line, without the line ending.
fn password_from_stdin() -> Result<String> {
    let mut raw = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut raw)
        .context("reading the password from stdin")?;
    let line = raw.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        bail!("no password on stdin");
    }
    Ok(line)
}

fn open_db(at: &AlertsAt) -> Result<(ConsoleDb, String)> {
    let dir = store_of(at)?;
    let db =
        ConsoleDb::open(&dir).with_context(|| format!("console database of {}", dir.display()))?;
    Ok((db, who()))
}

fn who() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

pub fn users(cmd: UsersCommand) -> Result<ExitCode> {
    match cmd {
        UsersCommand::Add { name, role, at, .. } => {
            let role: Role = role.parse()?;
            let password = password_from_stdin()?;
            let (mut db, by) = open_db(&at)?;
            db.add_user(&name, role, &password)?;
            db.audit(&by, "user-add", &name, role.as_str(), "")?;
            eprintln!(
                "trailwatch: user {} added ({role})",
                escape::terminal(&name)
            );
        }
        UsersCommand::List { at } => {
            let (db, _) = open_db(&at)?;
            let mut out = String::new();
            for u in db.users()? {
                out.push_str(&format!(
                    "{}\t{}\t{}\n",
                    escape::terminal(&u.name),
                    u.role,
                    u.created_at
                ));
            }
            crate::store_cmd::emit(&out)?;
        }
        UsersCommand::Remove { name, at } => {
            let (mut db, by) = open_db(&at)?;
            db.remove_user(&name)?;
            db.audit(&by, "user-remove", &name, "", "")?;
            eprintln!("trailwatch: user {} removed", escape::terminal(&name));
        }
        UsersCommand::Passwd { name, at, .. } => {
            let password = password_from_stdin()?;
            let (mut db, by) = open_db(&at)?;
            db.set_password(&name, &password)?;
            db.audit(&by, "user-passwd", &name, "", "")?;
            eprintln!(
                "trailwatch: password of {} changed; their sessions ended",
                escape::terminal(&name)
            );
        }
        UsersCommand::Token { name, label, at } => {
            let (mut db, by) = open_db(&at)?;
            let token = db.create_token(&name, &label, std::time::SystemTime::now())?;
            db.audit(&by, "token-create", &name, &label, "")?;
            crate::store_cmd::emit(&format!("{token}\n"))?;
            eprintln!(
                "trailwatch: API token for {} made; it is shown once (send it as Authorization: Bearer)",
                escape::terminal(&name)
            );
        }
        UsersCommand::RevokeTokens { name, at } => {
            let (mut db, by) = open_db(&at)?;
            let n = db.revoke_tokens(&name)?;
            db.audit(&by, "token-revoke", &name, &n.to_string(), "")?;
            eprintln!(
                "trailwatch: {n} API token(s) of {} revoked",
                escape::terminal(&name)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Serves the console from the watch on `[metrics] listen`, on a thread of its own, with
/// the watch's metrics behind `/metrics`: one HTTP stack, one authentication rule.
pub fn serve_for_watch(
    config: &trailwatch_watch::Config,
    store_dir: PathBuf,
    metrics: trailwatch_watch::Metrics,
) -> Result<Option<std::net::SocketAddr>> {
    let Some(listen) = &config.metrics.listen else {
        return Ok(None);
    };
    let mut c = ConsoleConfig::new(store_dir);
    c.listen = listen
        .parse()
        .with_context(|| format!("[metrics] listen {listen:?}"))?;
    c.tls = match (&config.metrics.tls_cert, &config.metrics.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    c.watch = config.clone();
    c.metrics = Some(metrics);
    let console = c.build().context("the console on [metrics] listen")?;
    if console.no_users()? {
        eprintln!("trailwatch: [metrics] listen: the console has no users yet, so /metrics answers 401 to everyone: add one with `trailwatch users add`, then `trailwatch users token NAME`");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("trailwatch-console".into())
        .spawn(move || {
            let sent = tx.clone();
            if let Err(e) = console.run(move |addr| {
                let _ = sent.send(Ok(addr));
            }) {
                let _ = tx.send(Err(e));
            }
        })
        .context("starting the console thread")?;
    match rx.recv() {
        Ok(Ok(addr)) => {
            eprintln!(
                "trailwatch: metrics on http{}://{addr}/metrics (a console API token or session)",
                if config.metrics.tls_cert.is_some() {
                    "s"
                } else {
                    ""
                }
            );
            Ok(Some(addr))
        }
        Ok(Err(e)) => Err(e).context("the console on [metrics] listen"),
        Err(_) => bail!("the console on [metrics] listen stopped before it listened"),
    }
}

pub fn serve(a: ServeArgs) -> Result<ExitCode> {
    let watch = load_config(a.at.config.as_deref(), a.at.store.store.as_ref())?;
    let dir = trailwatch_watch::store_dir(&watch);
    let mut config = ConsoleConfig::new(dir.clone());
    // The rules page shows the rules and suppressions this configuration gives `watch`.
    config.watch = watch;
    config.listen = a.listen;
    config.tls = match (a.tls_cert, a.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let tls = config.tls.is_some();
    if !a.listen.ip().is_loopback() && !tls {
        eprintln!(
            "trailwatch: warning: serving on {} without TLS: passwords and sessions cross the network in clear",
            a.listen
        );
    }
    let console = config.build().context("starting the console")?;
    if console.no_users()? {
        eprintln!("trailwatch: no users yet: add one with `trailwatch users add NAME --role admin --password-stdin`");
    }
    let scheme = if tls { "https" } else { "http" };
    console.run(|addr| {
        eprintln!(
            "trailwatch: console on {scheme}://{addr}/ (store {})",
            dir.display()
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn review(a: ReviewArgs, now_ms: i64) -> Result<ExitCode> {
    let dir = store_of(&a.at)?;
    let day = a
        .day
        .unwrap_or_else(|| trailwatch_console::review::yesterday(now_ms));
    let query =
        trailwatch_query::Query::open(&dir).with_context(|| format!("store {}", dir.display()))?;
    let review = trailwatch_console::review::build(&dir, &query, &day)?;
    let text = if a.format == "json" {
        serde_json::to_string_pretty(&review)? + "\n"
    } else {
        trailwatch_console::review::render_text(&review)
    };
    crate::store_cmd::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
