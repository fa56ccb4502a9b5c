//! Test harness: a real server on an ephemeral loopback port over a fresh
//! SQLite file (and a fresh PostgreSQL schema when TEST_POSTGRES_URL is set),
//! plus a local HTTP server standing in for feeds and RDAP.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use threatmapper_http::config::Config;
use threatmapper_http::server::{AppState, app};
use threatmapper_store::{Store, StoreOptions};

pub fn pg_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

/// One test database.
pub struct Db {
    pub url: String,
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db {
            url: format!("sqlite://{}", dir.path().join("t.db").display()),
            schema: None,
            _dir: Some(dir),
        }
    }

    pub fn postgres(url: &str) -> Db {
        Db {
            url: url.to_owned(),
            schema: Some(format!("tm_http_{}", uuid::Uuid::new_v4().simple())),
            _dir: None,
        }
    }

    /// Every backend to test: SQLite always, PostgreSQL when configured.
    pub fn all() -> Vec<Db> {
        let mut v = vec![Db::sqlite()];
        match pg_url() {
            Some(u) => v.push(Db::postgres(&u)),
            None => eprintln!("note: PostgreSQL part skipped (TEST_POSTGRES_URL not set)"),
        }
        v
    }

    pub async fn open(&self) -> Store {
        let mut o = StoreOptions::new(&self.url);
        o.postgres_schema = self.schema.clone();
        Store::open_with(o).await.unwrap()
    }

    pub async fn drop_schema(&self) {
        if let Some(schema) = &self.schema {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE"
            )))
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
    }
}

/// A running server.
pub struct Server {
    pub base: String,
    pub store: Store,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Start on 127.0.0.1:0 with settings from `env` (unset = default).
    pub async fn start(store: Store, env: &[(&str, &str)]) -> Server {
        let map: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let config = Config::from_lookup(|k| map.get(k).cloned()).unwrap();
        let state = AppState::new(store.clone(), config).unwrap();
        let (router, _) = app(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            base: format!("http://{addr}"),
            store,
            state,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A JSON POST.
pub async fn post(
    c: &reqwest::Client,
    url: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = c.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let v = r.json().await.unwrap_or(serde_json::Value::Null);
    (status, v)
}

pub async fn get(c: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// A local web server standing in for feed hosts and RDAP servers.
pub struct Upstream {
    pub base: String,
    pub hits: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

pub fn feed_xml(items: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Vendor</title><link>https://vendor.example.com/</link>",
    );
    for (title, link, desc) in items {
        s.push_str(&format!("<item><title>{title}</title><link>{link}</link><description>{desc}</description></item>"));
    }
    s.push_str("</channel></rss>");
    s
}

impl Upstream {
    pub async fn start() -> Upstream {
        use axum::http::{HeaderMap, StatusCode, header};
        use axum::response::IntoResponse;
        use axum::routing::get;
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let feed = feed_xml(&[
            (
                "Loader drops beacon",
                "https://vendor.example.com/a?utm_source=rss",
                "C2 198.51.100[.]7 and evil-domain[.]com, CVE-2024-3094",
            ),
            (
                "Second post",
                "https://vendor.example.com/b",
                "hash d41d8cd98f00b204e9800998ecf8427e",
            ),
        ]);
        let app = axum::Router::new()
            .route(
                "/feed.xml",
                get(move |headers: HeaderMap| {
                    let feed = feed.clone();
                    let h = h.clone();
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some("\"v1\"") {
                            return StatusCode::NOT_MODIFIED.into_response();
                        }
                        ([(header::ETAG, "\"v1\""), (header::CONTENT_TYPE, "application/rss+xml")], feed).into_response()
                    }
                }),
            )
            .route("/feed/{n}", get(|axum::extract::Path(n): axum::extract::Path<u32>| async move {
                feed_xml(&[(&format!("Feed {n} story"), &format!("https://vendor.example.com/feed{n}"), "198.51.100.9")])
            }))
            .route("/html", get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<!doctype html><html><body>hi</body></html>") }))
            .route("/atom.xml", get(|| async {
                ([(header::CONTENT_TYPE, "application/atom+xml")],
                 "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title><id>urn:a</id><updated>2026-01-01T00:00:00Z</updated>\
                  <entry><title>Atom post</title><id>urn:a:1</id><updated>2026-01-01T00:00:00Z</updated><link href=\"https://atom.example.org/1\"/>\
                  <summary>Seen 203.0.113.44</summary></entry></feed>")
            }))
            .route("/broken.xml", get(|| async { "<rss version=\"2.0\"><channel><title>x</title><item><title>unclosed" }))
            .route("/500", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
            .route("/big", get(|| async { vec![b'a'; 20 << 20] }))
            .route("/hang", get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                "late"
            }))
            .route("/redirect", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/feed.xml")]) }))
            .route("/redirect-metadata", get(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "http://169.254.169.254/latest/meta-data/")])
            }))
            .route("/loop", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }))
            .route("/echo-headers", get(|headers: HeaderMap| async move {
                let names: Vec<String> = headers.keys().map(|k| k.to_string()).collect();
                feed_xml(&[(&names.join(" "), "https://vendor.example.com/echo", "")])
            }))
            .route("/rdap/ip/{ip}", get(|axum::extract::Path(ip): axum::extract::Path<String>| async move {
                if ip == "203.0.113.99" {
                    return (StatusCode::NOT_FOUND, "{}").into_response();
                }
                if ip == "203.0.113.98" {
                    return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "60")], "{}").into_response();
                }
                axum::Json(serde_json::json!({
                    "objectClassName": "ip network", "handle": "NET-198-51-100-0-1",
                    "startAddress": "198.51.100.0", "endAddress": "198.51.100.255", "country": "ZZ", "name": "EXAMPLE-NET",
                    "events": [{"eventAction": "registration", "eventDate": "2019-05-01T00:00:00Z"}],
                    "entities": [{"handle": "ORG-1", "roles": ["registrant"], "vcardArray": ["vcard", [["fn", {}, "text", "Example Hosting"]]]}]
                })).into_response()
            }))
            .route("/slow-rdap/ip/{ip}", get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                "{}"
            }))
            .route("/rdap/domain/{d}", get(|axum::extract::Path(d): axum::extract::Path<String>| async move {
                axum::Json(serde_json::json!({"objectClassName": "domain", "ldhName": d, "nameservers": [{"ldhName": "ns1.example.net"}]}))
            }))
            .route("/bootstrap/dns.json", get(|| async {
                axum::Json(serde_json::json!({"version": "1.0", "services": [[["com"], ["http://127.0.0.1:1/never/"]], [["example.com"], ["__SELF__/rdap/"]]]}))
            }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        // The bootstrap file names this server: patch it in through a layer.
        let self_base = base.clone();
        let counter = hits.clone();
        let app = app.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counter = counter.clone();
                async move {
                    if req.uri().path().starts_with("/rdap/") {
                        counter.fetch_add(1000, Ordering::SeqCst);
                    }
                    next.run(req).await
                }
            },
        ));
        let app = app.layer(axum::middleware::map_response(
            move |resp: axum::response::Response| {
                let self_base = self_base.clone();
                async move {
                    let (parts, body) = resp.into_parts();
                    let bytes = axum::body::to_bytes(body, 64 << 20)
                        .await
                        .unwrap_or_default();
                    let text = String::from_utf8_lossy(&bytes).replace("__SELF__", &self_base);
                    let mut parts = parts;
                    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
                    axum::response::Response::from_parts(parts, axum::body::Body::from(text))
                }
            },
        ));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Upstream {
            base,
            hits,
            _task: task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}
