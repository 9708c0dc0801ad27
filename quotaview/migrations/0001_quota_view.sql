-- The quota view: one row per pool, its open holds, and where in the event log each
-- partition's projection stands. Everything here is derived from token-pool.events and can
-- be dropped and rebuilt.

-- Where each projection stands per partition of its topic: the next offset to apply.
-- Updated in the same transaction as the rows it accounts for, so a crash never applies an
-- event twice nor loses one.
CREATE TABLE projection_positions (
    projection  TEXT        NOT NULL,
    partition   INTEGER     NOT NULL CHECK (partition >= 0),
    next_offset BIGINT      NOT NULL CHECK (next_offset >= 0),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, partition)
);

-- One row per provisioned pool. Times are epoch milliseconds, as in the events, so a row
-- compares exactly with a replay.
CREATE TABLE pools (
    pool_id          TEXT    PRIMARY KEY,
    owner_kind       TEXT    NOT NULL CHECK (owner_kind IN ('user', 'org')),
    owner_id         TEXT    NOT NULL,
    provider         TEXT    NOT NULL,
    tier             TEXT    NOT NULL,
    policy           JSONB   NOT NULL,
    granted          BIGINT  NOT NULL DEFAULT 0 CHECK (granted >= 0),
    consumed         BIGINT  NOT NULL DEFAULT 0 CHECK (consumed >= 0),
    reserved         BIGINT  NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    overdraft        BIGINT  NOT NULL DEFAULT 0 CHECK (overdraft >= 0),
    -- What a new hold could take, as recorded (lapsed holds count until their expiry event).
    remaining        BIGINT  GENERATED ALWAYS AS
                         (GREATEST(granted - consumed - reserved - overdraft, 0)) STORED,
    provisioned_at_ms BIGINT NOT NULL,
    updated_at_ms    BIGINT  NOT NULL,
    -- The last event applied to this row, so a reader can tell how fresh it is.
    last_partition   INTEGER NOT NULL,
    last_offset      BIGINT  NOT NULL,
    UNIQUE (owner_kind, owner_id, provider)
);

-- Holds that are neither settled, released nor expired.
CREATE TABLE open_reservations (
    pool_id        TEXT   NOT NULL REFERENCES pools (pool_id),
    reservation_id UUID   NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    reserved_at_ms BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (pool_id, reservation_id)
);
CREATE INDEX open_reservations_by_expiry ON open_reservations (expires_at_ms);

-- Totals per owner (user or organisation) across providers. A plain view over `pools`,
-- so it can never disagree with the rows it sums.
CREATE VIEW owner_quotas AS
SELECT owner_kind,
       owner_id,
       count(*)::BIGINT       AS pools,
       sum(granted)::BIGINT   AS granted,
       sum(consumed)::BIGINT  AS consumed,
       sum(reserved)::BIGINT  AS reserved,
       sum(overdraft)::BIGINT AS overdraft,
       sum(remaining)::BIGINT AS remaining
FROM pools
GROUP BY owner_kind, owner_id;
