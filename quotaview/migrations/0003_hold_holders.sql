-- Who holds each open reservation (from TokensReserved's holder): the actor, and the service
-- that made it for them (`gateway`). Holds recorded before holders were have neither; a
-- tenant reading its pool sees which holds are the gateway's, in use for its calls.
ALTER TABLE open_reservations ADD COLUMN held_by TEXT;
ALTER TABLE open_reservations ADD COLUMN held_via TEXT;
