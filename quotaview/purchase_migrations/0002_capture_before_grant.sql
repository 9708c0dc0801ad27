-- Purchases capture their payment before the tokens are granted (a token is never spendable
-- before it is paid for): PAYMENT_CAPTURED is "paid, the tokens are being granted", and
-- TOKENS_GRANTED only remains for purchases granted before captures came first.
ALTER TABLE purchases DROP CONSTRAINT purchases_status_check;
ALTER TABLE purchases ADD CONSTRAINT purchases_status_check CHECK (status IN ('REQUESTED',
    'PAYMENT_RESERVED', 'PAYMENT_CAPTURED', 'TOKENS_GRANTED', 'COMPLETED', 'COMPENSATING',
    'FAILED'));

-- The step the saga performs next (as `Purchase::awaiting`); NULL once done.
ALTER TABLE purchases DROP COLUMN awaiting;
ALTER TABLE purchases ADD COLUMN awaiting TEXT GENERATED ALWAYS AS (CASE
    WHEN status = 'REQUESTED' THEN 'reserve_payment'
    WHEN status IN ('PAYMENT_RESERVED', 'TOKENS_GRANTED') THEN 'capture_payment'
    WHEN status = 'PAYMENT_CAPTURED' THEN 'grant_tokens'
    WHEN status = 'COMPENSATING' AND revoke_grant_pending THEN 'revoke_grant'
    WHEN status = 'COMPENSATING' AND release_payment_pending THEN 'release_payment'
END) STORED;
