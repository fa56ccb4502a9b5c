-- ThreatMapper schema, SQLite flavour. Kept in step with ../postgres/0001_init.sql:
-- same tables, columns and constraints. Times are BIGINT microseconds since the
-- Unix epoch (UTC) on both backends, so ordering and comparison are identical.
-- JSON documents are TEXT holding serde_json output.

CREATE TABLE sources (
    id               INTEGER PRIMARY KEY,
    url              TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL CHECK (kind IN ('rss', 'atom', 'json')),
    name             TEXT,
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    interval_minutes BIGINT  NOT NULL CHECK (interval_minutes >= 1),
    etag             TEXT,
    last_modified    TEXT,
    last_run_at      BIGINT,
    last_status      TEXT,
    failure_count    BIGINT  NOT NULL DEFAULT 0,
    next_due_at      BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    created_by       TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX sources_due ON sources (enabled, next_due_at);

CREATE TABLE collection_runs (
    id          INTEGER PRIMARY KEY,
    source_id   BIGINT  NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT  NOT NULL,
    status      TEXT    NOT NULL,
    fetched     BIGINT  NOT NULL,
    new         BIGINT  NOT NULL,
    suppressed  BIGINT  NOT NULL,
    error       TEXT,
    actor       TEXT    NOT NULL
);
CREATE INDEX collection_runs_source ON collection_runs (source_id, id);

CREATE TABLE reports (
    id               INTEGER PRIMARY KEY,
    origin           TEXT    NOT NULL CHECK (origin IN ('feed', 'stix', 'misp', 'atlas', 'manual')),
    source_id        BIGINT  REFERENCES sources (id) ON DELETE SET NULL,
    title            TEXT    NOT NULL,
    url              TEXT,
    url_key          TEXT    UNIQUE,
    title_key        TEXT    NOT NULL UNIQUE,
    published_at     BIGINT,
    author           TEXT,
    content          TEXT    NOT NULL,
    external_ids     TEXT    NOT NULL,
    labels           TEXT    NOT NULL,
    tlp              TEXT,
    observable_count BIGINT  NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    reviewed_by      TEXT,
    reviewed_at      BIGINT,
    review_reason    TEXT,
    collected_at     BIGINT  NOT NULL,
    ingested_by      TEXT    NOT NULL
);
CREATE INDEX reports_status ON reports (status, id);
CREATE INDEX reports_origin ON reports (origin, id);
CREATE INDEX reports_source ON reports (source_id, id);
CREATE INDEX reports_published ON reports (published_at);

CREATE TABLE observables (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    first_seen_at BIGINT  NOT NULL,
    manual        BOOLEAN NOT NULL DEFAULT FALSE,
    created_by    TEXT,
    note          TEXT,
    UNIQUE (kind, value)
);

CREATE TABLE report_observables (
    report_id     BIGINT  NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    observable_id BIGINT  NOT NULL REFERENCES observables (id),
    source        TEXT    NOT NULL,
    spans         TEXT    NOT NULL,
    to_ids        BOOLEAN,
    category      TEXT,
    PRIMARY KEY (report_id, observable_id)
);
CREATE INDEX report_observables_observable ON report_observables (observable_id);

CREATE TABLE enrichments (
    id            INTEGER PRIMARY KEY,
    observable_id BIGINT  NOT NULL REFERENCES observables (id),
    provider      TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('ok', 'not_found', 'error', 'rate_limited')),
    confidence    BIGINT  NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    summary       TEXT    NOT NULL,
    raw_sha256    TEXT,
    raw_excerpt   TEXT,
    fetched_at    BIGINT  NOT NULL,
    requested_by  TEXT    NOT NULL
);
CREATE INDEX enrichments_observable ON enrichments (observable_id, id);

CREATE TABLE rules (
    id             INTEGER PRIMARY KEY,
    rule_uuid      TEXT    NOT NULL UNIQUE,
    report_id      BIGINT  REFERENCES reports (id) ON DELETE SET NULL,
    language       TEXT    NOT NULL CHECK (language IN ('sigma', 'kql', 'spl', 'eql')),
    title          TEXT    NOT NULL,
    latest_version BIGINT  NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL
);
CREATE INDEX rules_report ON rules (report_id, id);

CREATE TABLE rule_versions (
    rule_id        BIGINT  NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    version        BIGINT  NOT NULL,
    parent_version BIGINT,
    content        TEXT    NOT NULL,
    content_hash   TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    diagnostics    TEXT    NOT NULL,
    author         TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    PRIMARY KEY (rule_id, version)
);

CREATE TABLE audit_events (
    seq       BIGINT  PRIMARY KEY,
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL,
    roles     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    outcome   TEXT    NOT NULL,
    details   TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_action ON audit_events (action, seq);

-- The chain head: the last sequence number and hash, moved in the same
-- transaction as each append, so a deleted tail is detected too.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT   NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
