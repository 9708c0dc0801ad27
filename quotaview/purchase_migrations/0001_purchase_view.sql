-- The purchases view: one row per purchase, projected from purchase.events, in a schema of
-- its own (`purchases`) so it is rebuilt and swapped independently of the quota view.
-- Everything here is derived from the log and can be dropped and rebuilt.

-- Where the projection stands per partition of purchase.events: the next offset to apply,
-- updated in the same transaction as the rows it accounts for.
CREATE TABLE projection_positions (
    projection  TEXT        NOT NULL,
    partition   INTEGER     NOT NULL CHECK (partition >= 0),
    next_offset BIGINT      NOT NULL CHECK (next_offset >= 0),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, partition)
);

-- Whether this copy has been replaced by a rebuilt one (see quotaview::rebuild).
CREATE TABLE view_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    retired BOOLEAN NOT NULL DEFAULT false
);
INSERT INTO view_meta (id) VALUES (1);

-- One row per purchase, mirroring the domain's Purchase exactly. Times are epoch ms.
CREATE TABLE purchases (
    purchase_id             UUID    PRIMARY KEY,
    owner_kind              TEXT    NOT NULL CHECK (owner_kind IN ('user', 'org')),
    owner_id                TEXT    NOT NULL,
    pool_id                 TEXT    NOT NULL,
    provider                TEXT    NOT NULL,
    tokens                  BIGINT  NOT NULL CHECK (tokens > 0),
    price_cents             BIGINT  NOT NULL CHECK (price_cents > 0),
    payment_method          TEXT    NOT NULL,
    status                  TEXT    NOT NULL CHECK (status IN ('REQUESTED', 'PAYMENT_RESERVED',
                                'TOKENS_GRANTED', 'COMPLETED', 'COMPENSATING', 'FAILED')),
    payment_reserved        BOOLEAN NOT NULL DEFAULT false,
    grant_id                UUID,
    payment_captured        BOOLEAN NOT NULL DEFAULT false,
    -- The failure that started the compensation: its code and its explanation.
    failure_code            TEXT,
    failure_detail          TEXT,
    -- Compensation progress: the undo steps still to run, and those done.
    revoke_grant_pending    BOOLEAN NOT NULL DEFAULT false,
    release_payment_pending BOOLEAN NOT NULL DEFAULT false,
    grant_revoked           BOOLEAN NOT NULL DEFAULT false,
    payment_released        BOOLEAN NOT NULL DEFAULT false,
    -- The step the saga performs next (as `Purchase::awaiting`); NULL once done.
    awaiting                TEXT    GENERATED ALWAYS AS (CASE
                                WHEN status = 'REQUESTED' THEN 'reserve_payment'
                                WHEN status = 'PAYMENT_RESERVED' THEN 'grant_tokens'
                                WHEN status = 'TOKENS_GRANTED' THEN 'capture_payment'
                                WHEN status = 'COMPENSATING' AND revoke_grant_pending
                                    THEN 'revoke_grant'
                                WHEN status = 'COMPENSATING' AND release_payment_pending
                                    THEN 'release_payment'
                            END) STORED,
    requested_at_ms         BIGINT  NOT NULL,
    updated_at_ms           BIGINT  NOT NULL,
    -- The last event applied to this row and where it was, so a reader can tell how fresh
    -- the row is.
    last_event              TEXT    NOT NULL,
    last_partition          INTEGER NOT NULL,
    last_offset             BIGINT  NOT NULL
);
-- An owner's purchases, newest first, optionally of one status.
CREATE INDEX purchases_by_owner ON purchases (owner_kind, owner_id, requested_at_ms DESC, purchase_id);
