//! The lab's database: one SQLite file in the lab's directory, shared by the
//! scenarios that keep state (nonce stores now; stock, orders and coupons for
//! the race scenarios). WAL and a busy timeout so concurrent writers wait
//! instead of failing, and a pool as large as a burst so that concurrency is
//! real: a mutex around one connection would serialise every request and hide
//! the very races the lab must show. (`sqlite::memory:` is shared-cache, whose
//! writers get SQLITE_LOCKED without retry.)

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::runtime::Handle;

use crate::LabError;

/// Connections: at least the largest burst the benchmarks and tests send.
const POOL_SIZE: u32 = 64;

/// The schema, idempotent.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS seen_nonces (
        scope TEXT NOT NULL,
        nonce TEXT NOT NULL,
        signed_at INTEGER NOT NULL,
        PRIMARY KEY (scope, nonce)
    )",
    "CREATE TABLE IF NOT EXISTS coupons (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        uses_left INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS redemptions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        coupon_id INTEGER NOT NULL,
        scope TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        stock INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS reservations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        item_id INTEGER NOT NULL,
        scope TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS orders (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        status TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS order_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id INTEGER NOT NULL,
        scope TEXT NOT NULL,
        kind TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS accounts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        balance INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS transfers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL,
        scope TEXT NOT NULL,
        destination TEXT NOT NULL,
        amount INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS client_quotas (
        scope TEXT NOT NULL,
        subject TEXT NOT NULL,
        exports_left INTEGER NOT NULL,
        PRIMARY KEY (scope, subject)
    )",
    "CREATE TABLE IF NOT EXISTS parts (
        scope TEXT NOT NULL,
        sku TEXT NOT NULL,
        name TEXT NOT NULL,
        warehouse TEXT NOT NULL,
        price_cents INTEGER NOT NULL,
        PRIMARY KEY (scope, sku)
    )",
    "CREATE TABLE IF NOT EXISTS exports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        subject TEXT NOT NULL
    )",
];

/// Opens (creating) `dir/lab.db` with the schema, on `runtime` (the lab's
/// own), so the pool's background work lives as long as the lab. Callable
/// from any thread, async context or not.
pub(crate) fn open(dir: &Path, runtime: &Handle) -> Result<SqlitePool, LabError> {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("lab.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let runtime = runtime.clone();
    let opened = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                runtime.block_on(async move {
                    let pool = SqlitePoolOptions::new().max_connections(POOL_SIZE).connect_with(options).await?;
                    for statement in SCHEMA {
                        sqlx::query(*statement).execute(&pool).await?;
                    }
                    Ok::<_, sqlx::Error>(pool)
                })
            })
            .join()
    });
    match opened {
        Ok(result) => result.map_err(LabError::Database),
        Err(_) => Err(LabError::Database(sqlx::Error::PoolClosed)),
    }
}
