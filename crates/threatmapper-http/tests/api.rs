//! The HTTP service end to end: a real server on a loopback port over a
//! temporary SQLite database (and PostgreSQL when TEST_POSTGRES_URL is set).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Db, Server, Upstream, client, get, post};
use serde_json::json;

const BUNDLE: &str = r#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"report","spec_version":"2.1","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
  "created":"2024-01-02T00:00:00Z","modified":"2024-01-02T00:00:00Z","name":"Loader campaign <script>alert(1)</script>",
  "description":"The loader beacons to 198.51.100.7 and evil-domain.com.","published":"2024-01-02T00:00:00Z",
  "object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]},
 {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","pattern_type":"stix",
  "pattern":"[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'evil-domain.com']","valid_from":"2024-01-01T00:00:00Z"}]}"#;

async fn import(
    c: &reqwest::Client,
    s: &Server,
    kind: &str,
    ct: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let r = c
        .post(s.url(&format!("/api/pipeline/import/{kind}")))
        .header("content-type", ct)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// Run `f` on a fresh server per backend.
async fn each_backend<F, Fut>(env: &'static [(&'static str, &'static str)], f: F)
where
    F: Fn(Server) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for db in Db::all() {
        let store = db.open().await;
        let server = Server::start(store.clone(), env).await;
        let r = tokio::spawn(f(server)).await;
        store.close().await;
        db.drop_schema().await;
        if let Err(e) = r {
            panic!(
                "{}: {e}",
                if db.schema.is_some() {
                    "postgres"
                } else {
                    "sqlite"
                }
            );
        }
    }
}

#[tokio::test]
async fn health_readiness_and_openapi_cover_every_route() {
    each_backend(&[], |s| async move {
        let c = client();
        assert_eq!(get(&c, &s.url("/healthz")).await.1["status"], "ok");
        let (st, ready) = get(&c, &s.url("/readyz")).await;
        assert_eq!((st, ready["status"].as_str()), (200, Some("ready")));
        let (st, doc) = get(&c, &s.url("/api/openapi.json")).await;
        assert_eq!(st, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().unwrap();
        let expected = [
            ("post", "/api/pipeline/import/stix"),
            ("post", "/api/pipeline/import/misp"),
            ("post", "/api/pipeline/import/atlas"),
            ("post", "/api/pipeline/import/feed"),
            ("get", "/api/pipeline/sources"),
            ("post", "/api/pipeline/sources"),
            ("get", "/api/pipeline/sources/{id}"),
            ("patch", "/api/pipeline/sources/{id}"),
            ("delete", "/api/pipeline/sources/{id}"),
            ("post", "/api/pipeline/sources/{id}/run"),
            ("get", "/api/pipeline/sources/{id}/runs"),
            ("get", "/api/pipeline/intake"),
            ("get", "/api/pipeline/reports/{id}"),
            ("post", "/api/pipeline/reports/{id}/review"),
            ("post", "/api/pipeline/reports/{id}/rules"),
            ("get", "/api/pipeline/observables"),
            ("post", "/api/pipeline/observables"),
            ("get", "/api/pipeline/observables/{id}"),
            ("post", "/api/pipeline/observables/{id}/enrich"),
            ("get", "/api/pipeline/rules"),
            ("get", "/api/pipeline/rules/{id}"),
            ("post", "/api/pipeline/rules/{id}/versions"),
            ("post", "/api/pipeline/rules/validate"),
            ("get", "/api/pipeline/audit"),
            ("get", "/api/pipeline/audit/verify"),
            ("get", "/api/pipeline/activity"),
            ("get", "/api/pipeline/me"),
            ("get", "/healthz"),
            ("get", "/readyz"),
        ];
        for (m, p) in expected {
            let op = &paths.get(p).unwrap_or_else(|| panic!("{p} undocumented"))[m];
            assert!(op.is_object(), "{m} {p} undocumented");
            assert!(
                op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.starts_with('2')),
                "{m} {p} has no success response"
            );
        }
        // Every documented operation is served (no 404 "no such route" / 405).
        let mut n = 0;
        for (p, item) in paths {
            for (m, _) in item.as_object().unwrap() {
                let url = s.url(&p.replace("{id}", "999999"));
                let req = c
                    .request(m.to_uppercase().parse().unwrap(), &url)
                    .header("content-type", "application/json")
                    .body("{}");
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                assert_ne!(body["error"]["message"], "no such route", "{m} {p}");
                assert_ne!(status, 405, "{m} {p}");
                assert!(status < 500, "{m} {p}: {status} {body}");
                n += 1;
            }
        }
        assert_eq!(n, expected.len(), "documented operations");
        let (st, e) = get(&c, &s.url("/api/pipeline/nope")).await;
        assert_eq!((st, e["error"]["code"].as_str()), (404, Some("not_found")));
    })
    .await;
}

#[tokio::test]
async fn stix_import_intake_detail_and_suppression() {
    each_backend(&[], |s| async move {
        let c = client();
        let (st, v) = import(&c, &s, "stix", "application/json", BUNDLE).await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(
            (
                v["reports"].as_u64(),
                v["observables_new"].as_u64(),
                v["suppressed"].as_u64()
            ),
            (Some(1), Some(2), Some(0))
        );
        let id = v["report_ids"][0].as_i64().unwrap();
        let (st, again) = import(&c, &s, "stix", "application/json", BUNDLE).await;
        assert_eq!(
            (st, again["reports"].as_u64(), again["suppressed"].as_u64()),
            (201, Some(0), Some(1))
        );
        assert_eq!(again["suppressed_reports"][0]["existing_id"], id);

        let (st, page) = get(&c, &s.url("/api/pipeline/intake?status=pending&limit=50")).await;
        assert_eq!(st, 200);
        assert_eq!(page["total"], 1);
        assert_eq!(page["next_cursor"], serde_json::Value::Null);
        assert_eq!(
            page["items"][0]["title"],
            "Loader campaign <script>alert(1)</script>"
        );
        let (_, d) = get(&c, &s.url(&format!("/api/pipeline/reports/{id}"))).await;
        let content = d["content"].as_str().unwrap();
        let obs = d["observables"].as_array().unwrap();
        assert_eq!(obs.len(), 2);
        for o in obs {
            let span = &o["spans"][0];
            let (a, b) = (
                span[0].as_u64().unwrap() as usize,
                span[1].as_u64().unwrap() as usize,
            );
            assert_eq!(&content[a..b], o["value"].as_str().unwrap());
        }
        for (q, total) in [
            ("?origin=stix", 1),
            ("?origin=misp", 0),
            ("?q=LOADER", 1),
            ("?status=accepted", 0),
            ("?published_from=2024-01-01", 1),
            ("?published_to=2023-12-31", 0),
        ] {
            let (st, p) = get(&c, &s.url(&format!("/api/pipeline/intake{q}"))).await;
            assert_eq!((st, p["total"].as_i64()), (200, Some(total)), "{q}");
        }
        for q in [
            "?status=done",
            "?origin=x",
            "?limit=0",
            "?limit=abc",
            "?cursor=zz",
            "?published_from=yesterday",
        ] {
            let (st, e) = get(&c, &s.url(&format!("/api/pipeline/intake{q}"))).await;
            assert_eq!(st, 400, "{q}: {e}");
            assert!(e["error"]["message"].is_string());
        }
        assert_eq!(get(&c, &s.url("/api/pipeline/reports/424242")).await.0, 404);
        assert_eq!(get(&c, &s.url("/api/pipeline/reports/abc")).await.0, 400);
    })
    .await;
}

#[tokio::test]
async fn bad_imports_are_located_and_store_nothing() {
    each_backend(&[("MAX_BODY_BYTES", "4096")], |s| async move {
        let c = client();
        let (st, e) = import(
            &c,
            &s,
            "stix",
            "application/json",
            "{\"type\": \"bundle\", \"objects\": [",
        )
        .await;
        assert_eq!(st, 400, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("line 1"),
            "{e}"
        );
        let (st, e) = import(&c, &s, "stix", "application/json", "{\"hello\": 1}").await;
        assert_eq!(st, 422, "{e}");
        let (st, _) = import(&c, &s, "stix", "application/json", "").await;
        assert_eq!(st, 400);
        let (st, e) = import(&c, &s, "stix", "text/plain", BUNDLE).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (415, Some("unsupported_media_type"))
        );
        let (st, e) = import(&c, &s, "stix", "application/json", &" ".repeat(5000)).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (413, Some("payload_too_large")),
            "{e}"
        );
        let (st, e) = import(
            &c,
            &s,
            "feed",
            "application/xml",
            "<!doctype html><html></html>",
        )
        .await;
        assert_eq!(st, 422, "{e}");
        let (st, e) = import(&c, &s, "misp", "application/json", "[1,2]").await;
        assert!(st == 400 || st == 422, "{st} {e}");
        let (st, e) = import(&c, &s, "atlas", "application/yaml", "a: [unclosed").await;
        assert!(st == 400 || st == 422, "{st} {e}");
        let (_, p) = get(&c, &s.url("/api/pipeline/intake")).await;
        assert_eq!(p["total"], 0);
        let (_, a) = get(&c, &s.url("/api/pipeline/audit?action=import.")).await;
        assert_eq!(a["items"].as_array().unwrap().len(), 0);
    })
    .await;
}

#[tokio::test]
async fn feed_misp_and_atlas_imports() {
    each_backend(&[], |s| async move {
        let c = client();
        let feed = common::feed_xml(&[("Stealer", "https://x.example.org/p?utm_medium=rss", "C2 203.0.113[.]5")]);
        let (st, v) = import(&c, &s, "feed", "application/rss+xml", &feed).await;
        assert_eq!((st, v["reports"].as_u64()), (201, Some(1)), "{v}");
        let misp = r#"{"Event":{"info":"Phishing wave","uuid":"5e1b7f0a-1111-4222-8333-444455556666","Attribute":[{"type":"ip-dst","value":"203.0.113.5","to_ids":true,"category":"Network activity"},{"type":"mutex","value":"m"}]}}"#;
        let (st, v) = import(&c, &s, "misp", "application/json", misp).await;
        assert_eq!((st, v["reports"].as_u64(), v["observables_existing"].as_u64(), v["unsupported"].as_u64()), (201, Some(1), Some(1), Some(1)), "{v}");
        let atlas = "id: ATLAS\nname: Adversarial Threat Landscape\nversion: 4.0.0\nmatrices:\n- id: ATLAS\n  name: ATLAS Matrix\n  tactics: []\n  techniques: []\ncase-studies:\n- id: AML.CS0000\n  name: Evasion of Deep Learning Detector\n  summary: A case study mentioning 198.51.100.77.\n  incident-date: 2020-01-01\n  procedure: []\n";
        let (st, v) = import(&c, &s, "atlas", "application/yaml", atlas).await;
        assert_eq!(st, 201, "{v}");
        let (_, p) = get(&c, &s.url("/api/pipeline/intake")).await;
        assert!(p["total"].as_i64().unwrap() >= 2);
    })
    .await;
}

#[tokio::test]
async fn concurrent_duplicate_imports_give_one_report() {
    each_backend(&[], |s| async move {
        let c = client();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let c = c.clone();
            let url = s.url("/api/pipeline/import/stix");
            tasks.spawn(async move {
                let r = c
                    .post(url)
                    .header("content-type", "application/json")
                    .body(BUNDLE)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201);
                r.json::<serde_json::Value>().await.unwrap()["reports"]
                    .as_u64()
                    .unwrap()
            });
        }
        let mut stored = 0;
        while let Some(n) = tasks.join_next().await {
            stored += n.unwrap();
        }
        assert_eq!(stored, 1);
        let (_, p) = get(&c, &s.url("/api/pipeline/intake")).await;
        assert_eq!(p["total"], 1);
        let (_, o) = get(&c, &s.url("/api/pipeline/observables")).await;
        assert_eq!(o["items"].as_array().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn review_transitions_over_http() {
    each_backend(&[], |s| async move {
        let c = client();
        let id = import(&c, &s, "stix", "application/json", BUNDLE).await.1["report_ids"][0]
            .as_i64()
            .unwrap();
        let review = |b: serde_json::Value| {
            let c = c.clone();
            let url = s.url(&format!("/api/pipeline/reports/{id}/review"));
            async move { post(&c, &url, b).await }
        };
        let (st, e) = review(json!({"status": "rejected"})).await;
        assert_eq!(
            (st, e["error"]["details"]["field"].as_str()),
            (422, Some("reason"))
        );
        assert_eq!(review(json!({"status": "maybe"})).await.0, 422);
        assert_eq!(review(json!({"status": "pending"})).await.0, 409);
        assert_eq!(
            review(json!({"state": "accepted"})).await.0,
            422,
            "unknown field"
        );
        let (st, r) = review(json!({"status": "accepted"})).await;
        assert_eq!(
            (
                st,
                r["status"].as_str(),
                r["review"]["reviewed_by"].as_str()
            ),
            (200, Some("accepted"), Some("local"))
        );
        let (st, e) = review(json!({"status": "rejected", "reason": "dup"})).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (409, Some("invalid_transition"))
        );
        let (st, _) = post(
            &c,
            &s.url("/api/pipeline/reports/777777/review"),
            json!({"status": "accepted"}),
        )
        .await;
        assert_eq!(st, 404);
        let r = c
            .post(s.url(&format!("/api/pipeline/reports/{id}/review")))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let (_, act) = get(&c, &s.url("/api/pipeline/activity?days=7")).await;
        assert_eq!(act["per_status"][0]["status"], "accepted");
    })
    .await;
}

#[tokio::test]
async fn observables_rules_and_audit() {
    each_backend(&[], |s| async move {
        let c = client();
        let id = import(&c, &s, "stix", "application/json", BUNDLE).await.1["report_ids"][0]
            .as_i64()
            .unwrap();
        let (st, v) = post(
            &c,
            &s.url("/api/pipeline/observables"),
            json!({"kind": "domain", "value": "Bad[.]Example[.]ORG", "note": "from IR"}),
        )
        .await;
        assert_eq!(
            (
                st,
                v["created"].as_bool(),
                v["observable"]["value"].as_str()
            ),
            (201, Some(true), Some("bad.example.org")),
            "{v}"
        );
        let (st, e) = post(
            &c,
            &s.url("/api/pipeline/observables"),
            json!({"kind": "ipv4", "value": "300.1.1.1"}),
        )
        .await;
        assert_eq!((st, e["error"]["code"].as_str()), (422, Some("invalid")));
        assert_eq!(
            post(
                &c,
                &s.url("/api/pipeline/observables"),
                json!({"kind": "hash", "value": "x"})
            )
            .await
            .0,
            422
        );
        let (_, list) = get(&c, &s.url("/api/pipeline/observables?kind=domain&q=BAD.")).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let oid = list["items"][0]["id"].as_i64().unwrap();
        let (st, d) = get(&c, &s.url(&format!("/api/pipeline/observables/{oid}"))).await;
        assert_eq!((st, d["manual"].as_bool()), (200, Some(true)));

        let (st, g) = post(
            &c,
            &s.url(&format!("/api/pipeline/reports/{id}/rules")),
            json!({"language": "all"}),
        )
        .await;
        assert_eq!(st, 201, "{g}");
        let rules = g["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 4);
        for r in rules {
            assert_eq!(r["versions"][0]["status"], "needs_analyst", "{r}");
            assert!(
                r["versions"][0]["content"]
                    .as_str()
                    .unwrap()
                    .contains("REPLACE_WITH_BEHAVIOR")
            );
        }
        let kql = rules.iter().find(|r| r["language"] == "kql").unwrap();
        let rid = kql["id"].as_i64().unwrap();
        let edited = kql["versions"][0]["content"]
            .as_str()
            .unwrap()
            .replace("REPLACE_WITH_BEHAVIOR", "-enc");
        let (st, v2) = post(
            &c,
            &s.url(&format!("/api/pipeline/rules/{rid}/versions")),
            json!({"content": edited}),
        )
        .await;
        assert_eq!(
            (
                st,
                v2["version"].as_i64(),
                v2["parent_version"].as_i64(),
                v2["status"].as_str()
            ),
            (201, Some(2), Some(1), Some("ready")),
            "{v2}"
        );
        let (_, h) = get(&c, &s.url(&format!("/api/pipeline/rules/{rid}"))).await;
        assert_eq!(h["versions"].as_array().unwrap().len(), 2);
        let (_, listed) = get(&c, &s.url(&format!("/api/pipeline/rules?report_id={id}"))).await;
        assert_eq!(listed.as_array().unwrap().len(), 4);
        let (st, val) = post(
            &c,
            &s.url("/api/pipeline/rules/validate"),
            json!({"language": "sigma", "content": "title: x\n"}),
        )
        .await;
        assert_eq!((st, val["status"].as_str()), (200, Some("invalid")));
        assert!(val["diagnostics"][0]["line"].as_u64().is_some());
        assert_eq!(
            post(
                &c,
                &s.url("/api/pipeline/rules/validate"),
                json!({"language": "yara", "content": ""})
            )
            .await
            .0,
            422
        );
        assert_eq!(
            post(
                &c,
                &s.url("/api/pipeline/reports/999/rules"),
                json!({"language": "sigma"})
            )
            .await
            .0,
            404
        );

        let (_, audit) = get(&c, &s.url("/api/pipeline/audit?limit=100")).await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for a in [
            "import.stix",
            "observable.add",
            "rule.generate",
            "rule.edit",
        ] {
            assert!(actions.contains(&a), "{a} not audited: {actions:?}");
        }
        let (st, v) = get(&c, &s.url("/api/pipeline/audit/verify")).await;
        assert_eq!((st, v["ok"].as_bool()), (200, Some(true)));
        assert_eq!(
            get(&c, &s.url("/api/pipeline/audit?from=notatime")).await.0,
            400
        );
    })
    .await;
}

/// Identity headers for a request through the (trusted, loopback) proxy.
fn as_user(rb: reqwest::RequestBuilder, user: &str, roles: &str) -> reqwest::RequestBuilder {
    rb.header("X-Auth-User", user).header("X-Auth-Roles", roles)
}

#[tokio::test]
async fn team_mode_role_matrix() {
    each_backend(&[("AUTH_ENABLED", "true")], |s| async move {
        let c = client();
        let read = s.url("/api/pipeline/intake");
        let write = s.url("/api/pipeline/observables");
        let body = json!({"kind": "ipv4", "value": "198.51.100.1"});
        for (user, roles, read_status, write_status) in [
            ("ana", "analyst", 200, 201),
            ("adm", "admin", 200, 201),
            ("vic", "viewer", 200, 403),
            ("ghost", "", 403, 403),
            ("odd", "auditor, guest", 403, 403),
        ] {
            let r = as_user(c.get(&read), user, roles).send().await.unwrap();
            assert_eq!(r.status().as_u16(), read_status, "{user} read");
            let r = as_user(c.post(&write), user, roles)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), write_status, "{user} write");
        }
        // No identity at all.
        let r = c.get(&read).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "unauthorized");
        // A viewer may validate (a POST that changes nothing) but not import.
        let r = as_user(
            c.post(s.url("/api/pipeline/rules/validate")),
            "vic",
            "viewer",
        )
        .json(&json!({"language": "kql", "content": "T | take 1"}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        // CSRF: a cross-site Origin or a form content type is refused.
        let r = as_user(c.post(&write), "ana", "analyst")
            .header("Origin", "https://evil.example")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let r = as_user(c.post(&write), "ana", "analyst")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("kind=ipv4")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 415);
        let origin = s.base.clone();
        let r = as_user(c.post(&write), "ana", "analyst")
            .header("Origin", origin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "same origin is fine");
        let r = as_user(c.get(s.url("/api/pipeline/me")), "ana", "Analyst,viewer")
            .send()
            .await
            .unwrap();
        let me: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (me["user"].as_str(), me["can_mutate"].as_bool()),
            (Some("ana"), Some(true))
        );

        // Denials are audited (read as an admin).
        let r = as_user(
            c.get(s.url("/api/pipeline/audit?action=auth.denied&limit=100")),
            "adm",
            "admin",
        )
        .send()
        .await
        .unwrap();
        let a: serde_json::Value = r.json().await.unwrap();
        let denied = a["items"].as_array().unwrap();
        assert!(denied.len() >= 6, "{a}");
        assert!(denied.iter().all(|e| e["outcome"] == "denied"));
        assert!(denied.iter().any(|e| e["actor"] == "vic"));
        // Health stays open.
        assert_eq!(
            c.get(s.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            200
        );
    })
    .await;
}

#[tokio::test]
async fn untrusted_peers_and_proxy_secret() {
    let db = Db::sqlite();
    let store = db.open().await;
    // Loopback is not a trusted proxy here: every request comes from an untrusted peer.
    let s = Server::start(
        store.clone(),
        &[
            ("AUTH_ENABLED", "true"),
            ("AUTH_TRUSTED_PROXIES", "10.9.9.9/32"),
        ],
    )
    .await;
    let c = client();
    let r = as_user(c.get(s.url("/api/pipeline/intake")), "adm", "admin")
        .header("X-Forwarded-For", "10.9.9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let e: serde_json::Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("untrusted peer")
    );
    let r = c
        .get(s.url("/api/pipeline/intake"))
        .header("X-Auth-Anything", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let page = store
        .audit(&threatmapper_store::AuditQuery {
            action_prefix: Some("auth.denied".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].details["peer"], "127.0.0.1");

    let s2 = Server::start(
        store.clone(),
        &[
            ("AUTH_ENABLED", "true"),
            ("AUTH_PROXY_SECRET", "0123456789abcdef-secret"),
        ],
    )
    .await;
    let r = as_user(c.get(s2.url("/api/pipeline/intake")), "adm", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "secret missing");
    let r = as_user(c.get(s2.url("/api/pipeline/intake")), "adm", "admin")
        .header("X-Auth-Proxy-Secret", "0123456789abcdef-wrong!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "secret wrong");
    let r = as_user(c.get(s2.url("/api/pipeline/intake")), "adm", "admin")
        .header("X-Auth-Proxy-Secret", "0123456789abcdef-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    store.close().await;
}

#[tokio::test]
async fn local_mode_refuses_a_public_bind() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let config = threatmapper_http::config::Config::from_lookup(|k| match k {
        "BIND" => Some("0.0.0.0:0".to_owned()),
        "DATABASE_URL" => Some(db.clone()),
        _ => None,
    })
    .unwrap();
    let err = threatmapper_http::server::serve(config, Default::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("--allow-unauthenticated-remote"),
        "{err}"
    );
}

#[tokio::test]
async fn sources_runs_conditional_get_and_errors() {
    let up = Upstream::start().await;
    each_backend(&[("FETCH_ALLOW_PRIVATE_NETWORKS", "true"), ("FETCH_TIMEOUT", "2"), ("SCHEDULER_ENABLED", "false")], move |s| {
        let feed = up.url("/feed.xml");
        let base = up.base.clone();
        async move {
            let c = client();
            let (st, src) = post(&c, &s.url("/api/pipeline/sources"), json!({"url": feed, "kind": "rss", "interval_minutes": 30, "enabled": true})).await;
            assert_eq!(st, 201, "{src}");
            let id = src["id"].as_i64().unwrap();
            assert_eq!(post(&c, &s.url("/api/pipeline/sources"), json!({"url": feed, "kind": "rss", "interval_minutes": 30, "enabled": true})).await.0, 409);
            assert_eq!(post(&c, &s.url("/api/pipeline/sources"), json!({"url": "ftp://x/", "kind": "rss", "interval_minutes": 30, "enabled": true})).await.0, 422);
            assert_eq!(post(&c, &s.url("/api/pipeline/sources"), json!({"url": format!("{base}/x"), "kind": "rss", "interval_minutes": 0, "enabled": true})).await.0, 422);
            assert_eq!(post(&c, &s.url("/api/pipeline/sources"), json!({"url": format!("{base}/x"), "kind": "gopher", "interval_minutes": 5, "enabled": true})).await.0, 422);

            let (st, run) = post(&c, &s.url(&format!("/api/pipeline/sources/{id}/run")), json!({})).await;
            assert_eq!(st, 200, "{run}");
            assert_eq!((run["status"].as_str(), run["fetched"].as_i64(), run["new"].as_i64(), run["suppressed"].as_i64()), (Some("ok"), Some(2), Some(2), Some(0)), "{run}");
            assert!(run["id"].as_i64().is_some() && run.get("error").is_some());
            // The ETag is remembered: the next run is a 304 with nothing new.
            let (_, run2) = post(&c, &s.url(&format!("/api/pipeline/sources/{id}/run")), json!({})).await;
            assert_eq!((run2["status"].as_str(), run2["new"].as_i64()), (Some("not_modified"), Some(0)), "{run2}");
            let (_, runs) = get(&c, &s.url(&format!("/api/pipeline/sources/{id}/runs"))).await;
            assert_eq!(runs.as_array().unwrap().len(), 2);
            let (_, p) = get(&c, &s.url(&format!("/api/pipeline/intake?source_id={id}"))).await;
            assert_eq!(p["total"], 2);
            assert_eq!(p["items"][1]["origin"], "feed");

            for (path, status) in [("/500", "http_status"), ("/html", "not_a_feed"), ("/big", "too_large"), ("/hang", "timeout"), ("/loop", "redirect"), ("/redirect-metadata", "blocked"), ("/broken.xml", "not_a_feed")] {
                let (st, src) = post(&c, &s.url("/api/pipeline/sources"), json!({"url": format!("{base}{path}"), "kind": "rss", "interval_minutes": 5, "enabled": false})).await;
                assert_eq!(st, 201, "{src}");
                let (st, run) = post(&c, &s.url(&format!("/api/pipeline/sources/{}/run", src["id"])), json!({})).await;
                assert_eq!((st, run["status"].as_str()), (200, Some(status)), "{path}: {run}");
                assert!(run["error"].is_string(), "{path}");
                let (_, after) = get(&c, &s.url(&format!("/api/pipeline/sources/{}", src["id"]))).await;
                assert_eq!(after["failure_count"], 1, "{path}");
            }
            // Atom, and a feed behind a redirect.
            for (path, kind, fetched) in [("/atom.xml", "atom", 1), ("/redirect", "rss", 2)] {
                let (_, src) = post(&c, &s.url("/api/pipeline/sources"), json!({"url": format!("{base}{path}"), "kind": kind, "interval_minutes": 5, "enabled": false})).await;
                let (_, run) = post(&c, &s.url(&format!("/api/pipeline/sources/{}/run", src["id"])), json!({})).await;
                assert_eq!((run["status"].as_str(), run["fetched"].as_i64()), (Some("ok"), Some(fetched)), "{path}: {run}");
            }
            // Outbound requests never carry identity headers.
            let (_, src) = post(&c, &s.url("/api/pipeline/sources"), json!({"url": format!("{base}/echo-headers"), "kind": "rss", "interval_minutes": 5, "enabled": false})).await;
            let r = c.post(s.url(&format!("/api/pipeline/sources/{}/run", src["id"]))).header("content-type", "application/json").header("X-Auth-User", "ana").body("{}").send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            let (_, p) = get(&c, &s.url("/api/pipeline/intake?q=user-agent")).await;
            let title = p["items"][0]["title"].as_str().unwrap().to_owned();
            assert!(!title.contains("x-auth") && title.contains("user-agent"), "{title}");

            let (st, upd) = c.patch(s.url(&format!("/api/pipeline/sources/{id}"))).json(&json!({"enabled": false, "interval_minutes": 60})).send().await.map(|r| (r.status().as_u16(), r)).unwrap();
            assert_eq!(st, 200);
            let upd: serde_json::Value = upd.json().await.unwrap();
            assert_eq!((upd["enabled"].as_bool(), upd["interval_minutes"].as_i64()), (Some(false), Some(60)));
            let r = c.delete(s.url(&format!("/api/pipeline/sources/{id}"))).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 204);
            assert_eq!(get(&c, &s.url(&format!("/api/pipeline/sources/{id}"))).await.0, 404);
            let (_, p) = get(&c, &s.url("/api/pipeline/intake?origin=feed")).await;
            assert!(p["total"].as_i64().unwrap() >= 2, "reports stay after the source goes");
        }
    })
    .await;
}

#[tokio::test]
async fn private_destinations_are_refused_by_default() {
    let up = Upstream::start().await;
    let db = Db::sqlite();
    let store = db.open().await;
    let s = Server::start(store.clone(), &[("SCHEDULER_ENABLED", "false")]).await;
    let c = client();
    for url in [
        up.url("/feed.xml"),
        "http://169.254.169.254/latest/".into(),
        "http://[::ffff:10.0.0.1]/".into(),
        "http://2130706433/".into(),
        "http://localhost:1/".into(),
    ] {
        let (st, e) = post(
            &c,
            &s.url("/api/pipeline/sources"),
            json!({"url": url, "kind": "rss", "interval_minutes": 5, "enabled": true}),
        )
        .await;
        assert_eq!(st, 422, "{url}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("blocked"),
            "{e}"
        );
    }
    // A source stored while allowed, then run under the default policy, fails as blocked and stores nothing.
    let src = store
        .create_source(
            &threatmapper_store::NewSource {
                url: up.url("/feed.xml"),
                kind: threatmapper_store::SourceKind::Rss,
                name: None,
                interval_minutes: 5,
                enabled: true,
            },
            &threatmapper_store::Actor::new("t", &["admin"]),
        )
        .await
        .unwrap();
    let (_, run) = post(
        &c,
        &s.url(&format!("/api/pipeline/sources/{}/run", src.id)),
        json!({}),
    )
    .await;
    assert_eq!(run["status"], "blocked", "{run}");
    assert_eq!(
        up.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no request reached the private host"
    );
    assert_eq!(get(&c, &s.url("/api/pipeline/intake")).await.1["total"], 0);
    store.close().await;
}

#[tokio::test]
async fn scheduler_and_two_replicas_run_each_source_once() {
    let up = Upstream::start().await;
    for db in Db::all() {
        let store = db.open().await;
        let actor = threatmapper_store::Actor::new("t", &["admin"]);
        for n in 0..12 {
            store
                .create_source(
                    &threatmapper_store::NewSource {
                        url: up.url(&format!("/feed/{n}")),
                        kind: threatmapper_store::SourceKind::Rss,
                        name: None,
                        interval_minutes: 60,
                        enabled: true,
                    },
                    &actor,
                )
                .await
                .unwrap();
        }
        let env: &[(&str, &str)] = &[
            ("FETCH_ALLOW_PRIVATE_NETWORKS", "true"),
            ("SCHEDULER_ENABLED", "false"),
        ];
        let a = Server::start(db.open().await, env).await;
        let b = Server::start(db.open().await, env).await;
        let sched = threatmapper_store::Actor::system("scheduler");
        let (ca, cb) = (a.state.collector(), b.state.collector());
        assert_ne!(ca.owner, cb.owner);
        let (ra, rb) = tokio::join!(
            threatmapper_http::collect::run_due(&ca, &sched, 3, |_| {}),
            threatmapper_http::collect::run_due(&cb, &sched, 3, |_| {})
        );
        let mut ids: Vec<i64> = ra
            .unwrap()
            .into_iter()
            .chain(rb.unwrap())
            .map(|r| r.source_id)
            .collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(
            (n, ids.len()),
            (12, 12),
            "every due source ran exactly once"
        );
        // Nothing is due any more.
        assert!(
            threatmapper_http::collect::run_due(&ca, &sched, 3, |_| {})
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.intake(&Default::default()).await.unwrap().total, 12);
        drop((a, b));

        // The background scheduler wakes on its tick and runs a due source.
        let src = store
            .create_source(
                &threatmapper_store::NewSource {
                    url: up.url("/feed.xml"),
                    kind: threatmapper_store::SourceKind::Rss,
                    name: None,
                    interval_minutes: 60,
                    enabled: true,
                },
                &actor,
            )
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let st = threatmapper_http::server::AppState::new(
            store.clone(),
            threatmapper_http::config::Config::from_lookup(|k| {
                (k == "FETCH_ALLOW_PRIVATE_NETWORKS").then(|| "true".to_owned())
            })
            .unwrap(),
        )
        .unwrap();
        let handle = threatmapper_http::collect::spawn_scheduler(
            st.collector(),
            std::time::Duration::from_millis(200),
            2,
            rx,
        );
        let mut ran = false;
        for _ in 0..100 {
            if !store.runs(src.id, 5).await.unwrap().is_empty() {
                ran = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tx.send(true).unwrap();
        handle.await.unwrap();
        assert!(ran, "the scheduler ran the due source");
        let audit = store
            .audit(&threatmapper_store::AuditQuery {
                action_prefix: Some("source.run".into()),
                actor: Some("scheduler".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(audit.items.len() >= 13);
        store.close().await;
        db.drop_schema().await;
    }
}

/// Leak settings for a server started in a test.
fn env(pairs: Vec<(&'static str, String)>) -> &'static [(&'static str, &'static str)] {
    let v: Vec<(&'static str, &'static str)> = pairs
        .into_iter()
        .map(|(k, v)| (k, &*Box::leak(v.into_boxed_str())))
        .collect();
    Box::leak(v.into_boxed_slice())
}

#[tokio::test]
async fn rdap_enrichment_is_stored_as_evidence() {
    use std::sync::atomic::Ordering::SeqCst;
    let up = Upstream::start().await;
    let db = Db::sqlite();
    let store = db.open().await;
    let s = Server::start(
        store.clone(),
        env(vec![
            ("FETCH_ALLOW_PRIVATE_NETWORKS", "true".into()),
            ("RDAP_MIN_INTERVAL_MS", "0".into()),
            ("RDAP_BASE_URL", up.url("/rdap/")),
        ]),
    )
    .await;
    let c = client();
    let add = |kind: &'static str, value: &'static str| {
        let c = c.clone();
        let url = s.url("/api/pipeline/observables");
        async move {
            post(&c, &url, json!({"kind": kind, "value": value}))
                .await
                .1["observable"]["id"]
                .as_i64()
                .unwrap()
        }
    };
    let enrich = |server: &Server, id: i64| {
        let c = c.clone();
        let url = server.url(&format!("/api/pipeline/observables/{id}/enrich"));
        async move { post(&c, &url, json!({})).await }
    };
    let ip = add("ipv4", "198.51.100.20").await;
    let (st, e) = enrich(&s, ip).await;
    assert_eq!(
        (st, e["status"].as_str(), e["provider"].as_str()),
        (201, Some("ok"), Some("rdap")),
        "{e}"
    );
    assert_eq!(e["summary"]["entities"][0]["name"], "Example Hosting");
    assert_eq!(
        (
            e["summary"]["http_status"].as_u64(),
            e["summary"]["cidrs"][0].as_str()
        ),
        (Some(200), Some("198.51.100.0/24"))
    );
    assert!(
        e["summary"]["query"]
            .as_str()
            .unwrap()
            .ends_with("/rdap/ip/198.51.100.20")
    );
    assert_eq!(e["raw_sha256"].as_str().unwrap().len(), 64);
    let missing = add("ipv4", "203.0.113.99").await;
    assert_eq!(enrich(&s, missing).await.1["status"], "not_found");
    let cve = add("cve", "CVE-2024-3094").await;
    assert_eq!(enrich(&s, cve).await.0, 422);
    assert_eq!(enrich(&s, 987_654).await.0, 404);

    // A fresh answer is reused (marked cached) rather than asked again;
    // history grows, nothing is overwritten.
    let before = up.hits.load(SeqCst);
    let (_, again) = enrich(&s, ip).await;
    assert_eq!(again["status"], "ok");
    assert!(
        again["summary"]["cached"]["age_seconds"].is_u64(),
        "{again}"
    );
    assert_eq!(up.hits.load(SeqCst), before, "not sent again");
    let (_, d) = get(&c, &s.url(&format!("/api/pipeline/observables/{ip}"))).await;
    assert_eq!(d["enrichments"].as_array().unwrap().len(), 2);

    // A 429 is stored as rate_limited, and the server is left alone until
    // its Retry-After passes.
    let limited = add("ipv4", "203.0.113.98").await;
    let (_, e) = enrich(&s, limited).await;
    assert_eq!(
        (e["status"].as_str(), e["summary"]["retry_after"].as_str()),
        (Some("rate_limited"), Some("60")),
        "{e}"
    );
    let after_429 = up.hits.load(SeqCst);
    let other = add("ipv4", "198.51.100.21").await;
    let (_, e) = enrich(&s, other).await;
    assert_eq!(e["status"], "rate_limited");
    assert!(
        e["summary"]["error"].as_str().unwrap().contains("pause"),
        "{e}"
    );
    assert_eq!(up.hits.load(SeqCst), after_429, "not sent during the pause");
    let audited = store
        .audit(&threatmapper_store::AuditQuery {
            action_prefix: Some("observable.enrich".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audited.items.len(), 5, "every stored enrichment is audited");

    // Through the IANA bootstrap registry (served locally): the longest
    // matching entry (example.com) wins over com.
    let s2 = Server::start(
        store.clone(),
        env(vec![
            ("FETCH_ALLOW_PRIVATE_NETWORKS", "true".into()),
            ("RDAP_MIN_INTERVAL_MS", "0".into()),
            ("RDAP_BOOTSTRAP_URL", up.url("/bootstrap/")),
        ]),
    )
    .await;
    let dom = add("domain", "mail.example.com").await;
    let (st, e) = enrich(&s2, dom).await;
    assert_eq!(
        (st, e["status"].as_str(), e["summary"]["ldh_name"].as_str()),
        (201, Some("ok"), Some("mail.example.com")),
        "{e}"
    );
    let unlisted = add("domain", "unlisted.org").await;
    let (_, e) = enrich(&s2, unlisted).await;
    assert_eq!(e["status"], "error");
    assert!(
        e["summary"]["error"]
            .as_str()
            .unwrap()
            .contains("no RDAP service"),
        "{e}"
    );

    // The registry is unreachable: the shipped snapshot chooses the server.
    let s3 = Server::start(
        store.clone(),
        &[
            ("RDAP_BOOTSTRAP_URL", "http://127.0.0.1:1/"),
            ("RDAP_TIMEOUT", "2"),
        ],
    )
    .await;
    let com = add("domain", "example-shop.com").await;
    let (st, e) = enrich(&s3, com).await;
    assert_eq!(st, 201);
    assert_eq!(
        e["summary"]["server"], "https://rdap.verisign.com/com/v1/",
        "{e}"
    );
    assert!(
        e["summary"]["chosen_by"]
            .as_str()
            .unwrap()
            .starts_with("IANA dns.json 2026"),
        "{e}"
    );
    assert_eq!(e["status"], "error", "this machine has no route out: {e}");

    // A slow server: an `error` outcome within RDAP_TIMEOUT, answered promptly.
    let s4 = Server::start(
        store.clone(),
        env(vec![
            ("FETCH_ALLOW_PRIVATE_NETWORKS", "true".into()),
            ("RDAP_TIMEOUT", "1".into()),
            ("RDAP_BASE_URL", up.url("/slow-rdap/")),
        ]),
    )
    .await;
    let slow_ip = add("ipv4", "198.51.100.30").await;
    let t = std::time::Instant::now();
    let (st, e) = enrich(&s4, slow_ip).await;
    assert_eq!(
        (st, e["status"].as_str(), e["summary"]["class"].as_str()),
        (201, Some("error"), Some("timeout")),
        "{e}"
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    store.close().await;
}

#[tokio::test]
async fn rdap_queries_to_one_server_are_spaced() {
    let up = Upstream::start().await;
    let db = Db::sqlite();
    let store = db.open().await;
    let s = Server::start(
        store.clone(),
        env(vec![
            ("FETCH_ALLOW_PRIVATE_NETWORKS", "true".into()),
            ("RDAP_MIN_INTERVAL_MS", "400".into()),
            ("RDAP_BASE_URL", up.url("/rdap/")),
        ]),
    )
    .await;
    let c = client();
    let mut ids = Vec::new();
    for v in ["198.51.100.40", "198.51.100.41", "198.51.100.42"] {
        ids.push(
            post(
                &c,
                &s.url("/api/pipeline/observables"),
                json!({"kind": "ipv4", "value": v}),
            )
            .await
            .1["observable"]["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let t = std::time::Instant::now();
    for id in ids {
        let (_, e) = post(
            &c,
            &s.url(&format!("/api/pipeline/observables/{id}/enrich")),
            json!({}),
        )
        .await;
        assert_eq!(e["status"], "ok");
    }
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
    store.close().await;
}
