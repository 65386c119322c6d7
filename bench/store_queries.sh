# The SQL queries the store benchmarks time (sourced by bench/store.sh and bench/batch_queries.sh).
queries=(
    "SELECT count(*) AS n FROM events"
    "SELECT action, count(*) AS n FROM events GROUP BY action ORDER BY n DESC LIMIT 10"
    "SELECT principal, count(*) AS n FROM events WHERE outcome = 'failure' GROUP BY principal ORDER BY n DESC LIMIT 10"
    "SELECT action, count(*) AS n FROM events WHERE principal = 'arn:aws:iam::823483092897:user/svc-etl' GROUP BY 1 ORDER BY n DESC"
    "SELECT time, principal, action, source_ip FROM events WHERE action = 'StopLogging' ORDER BY time"
    "SELECT count(*) AS n FROM events WHERE time >= TIMESTAMP '2026-10-03 00:00:00' AND time < TIMESTAMP '2026-10-04 00:00:00' AND access_key LIKE 'AKIA%'"
)
