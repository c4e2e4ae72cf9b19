-- api-fn's rate limiter: one row per bucket ("key:<api key id>", "ping-ip:<address>") holding the
-- hits of the current fixed window and of the one before it; the limiter weighs the two into a
-- sliding-window estimate. Shared by every api-fn instance (Lambda runs many), so a limit holds
-- across instances.
-- UNLOGGED: the counters are worthless after a crash, and writing them then costs no WAL and no
-- commit flush. fillfactor leaves room on each page so the per-request update stays HOT.
CREATE UNLOGGED TABLE rate_limit_counters (
    bucket         text PRIMARY KEY CHECK (length(bucket) <= 200),
    window_start   timestamptz NOT NULL,
    hits           integer NOT NULL,
    previous_hits  integer NOT NULL DEFAULT 0
) WITH (fillfactor = 50);
